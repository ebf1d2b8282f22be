//go:build linux

package vhdx

import (
	"io"
	"os"
	"syscall"
)

// holeFile lets the writer leave runs of zeros as holes when the output is
// a regular file: it seeks over them instead of writing them, as the file
// system reads holes as zeros. It applies only past the file's end at the
// start of the write (where no old content can show through) and not to a
// file opened for appending (whose writes ignore the offset).
type holeFile struct {
	f        *os.File
	base     int64 // file offset where the output starts
	origSize int64
}

func newHoleFile(w io.Writer) *holeFile {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil
	}
	var flags uintptr
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		flags, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
	}); err != nil || errno != 0 || flags&syscall.O_APPEND != 0 {
		return nil
	}
	base, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil
	}
	return &holeFile{f: f, base: base, origSize: st.Size()}
}

// skip moves the offset n bytes on instead of writing n zeros at output
// offset at; false means the zeros must be written.
func (h *holeFile) skip(at, n int64) (bool, error) {
	if h == nil || h.base+at < h.origSize {
		return false, nil
	}
	if _, err := h.f.Seek(n, io.SeekCurrent); err != nil {
		return false, err
	}
	return true, nil
}

// finish extends the file to the end of the output when it ends in a hole.
func (h *holeFile) finish(n int64) error {
	if h == nil {
		return nil
	}
	st, err := h.f.Stat()
	if err != nil {
		return err
	}
	if st.Size() < h.base+n {
		return h.f.Truncate(h.base + n)
	}
	return nil
}
