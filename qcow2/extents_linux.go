//go:build linux

package qcow2

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

const (
	seekData = 3 // SEEK_DATA
	seekHole = 4 // SEEK_HOLE
)

// maxRuns caps the run list of a badly fragmented file (16 bytes a run);
// past it the whole file is read.
const maxRuns = 1 << 20

// dataRuns returns the cluster ranges of a regular file that may hold data,
// found with SEEK_DATA/SEEK_HOLE, so holes are never read; nil means "read
// everything". It restores the file offset.
func dataRuns(src io.ReaderAt, size, cs int64) []run {
	f, ok := src.(*os.File)
	if !ok {
		return nil
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil
	}
	saved, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil
	}
	defer f.Seek(saved, io.SeekStart)
	runs := []run{}
	for pos := int64(0); pos < size; {
		d, err := f.Seek(pos, seekData)
		if err != nil || d >= size {
			break // ENXIO: no data after pos
		}
		h, err := f.Seek(d, seekHole)
		if err != nil {
			return nil
		}
		h = min(h, size)
		c0, c1 := d/cs, (h+cs-1)/cs
		if n := len(runs); n > 0 && runs[n-1].c1 >= c0 {
			runs[n-1].c1 = max(runs[n-1].c1, c1)
		} else {
			if len(runs) >= maxRuns {
				return nil
			}
			runs = append(runs, run{c0, c1})
		}
		if h <= pos {
			return nil
		}
		pos = h
	}
	return runs
}

// cachedReader reads from a file only what is already in the page cache
// (preadv2 with RWF_NOWAIT), so that the scan can probe the head of each
// cluster without turning a sequential read of a cold file into many small
// random ones.
type cachedReader struct {
	f   *os.File
	off bool // RWF_NOWAIT unsupported here: never cached
}

func newCachedReader(src io.ReaderAt) *cachedReader {
	f, ok := src.(*os.File)
	if !ok {
		return nil
	}
	return &cachedReader{f: f}
}

// readCached fills buf from offset off and reports true if all of it was
// in the page cache; false means nothing is known about buf.
func (r *cachedReader) readCached(buf []byte, off int64) bool {
	if r == nil || r.off {
		return false
	}
	rc, err := r.f.SyscallConn()
	if err != nil {
		r.off = true
		return false
	}
	var n int
	if cerr := rc.Control(func(fd uintptr) {
		n, err = unix.Preadv2(int(fd), [][]byte{buf}, off, unix.RWF_NOWAIT)
	}); cerr != nil {
		r.off = true
		return false
	}
	if err != nil {
		if !errors.Is(err, unix.EAGAIN) {
			r.off = true // EOPNOTSUPP, ENOSYS, ...: read normally from now on
		}
		return false
	}
	return n == len(buf)
}
