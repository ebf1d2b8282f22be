package gce

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// holes answers "is this range of the input a hole?" with SEEK_DATA when
// the input is a regular *os.File, so Write's scan never reads the holes
// of a sparse disk image. It restores the file offset in close.
type holes struct {
	f          *os.File
	fd         uintptr
	saved      int64
	from, data int64 // last query: no data in [from, data)
}

func newHoles(src io.ReaderAt) *holes {
	h := &holes{from: -1}
	if f, ok := src.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			if pos, err := f.Seek(0, io.SeekCurrent); err == nil {
				h.f, h.fd, h.saved = f, f.Fd(), pos
			}
		}
	}
	return h
}

func (h *holes) close() {
	if h.f != nil {
		_, _ = h.f.Seek(h.saved, io.SeekStart)
	}
}

func (h *holes) hole(off, n int64) bool {
	if h.f == nil {
		return false
	}
	if h.from < 0 || off < h.from || h.data < off {
		d, err := seekDataAt(h.fd, off)
		switch {
		case errors.Is(err, syscall.ENXIO):
			d = 1 << 62
		case err != nil:
			h.f = nil
			return false
		}
		h.from, h.data = off, d
	}
	return h.data >= off+n
}
