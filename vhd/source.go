package vhd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// source reads the input block by block, sequentially. When the input is
// a regular *os.File read with ReadAt, blocks that lie in a hole
// (SEEK_DATA finds no data in them) are not read at all.
type source struct {
	c    *config
	r    io.Reader   // sequential input (WriteStream)
	ra   io.ReaderAt // random-access input (Write)
	f    *os.File    // ra as a file, for SEEK_DATA; nil if not
	from int64       // the offset of the last SEEK_DATA query, -1 none
	data int64       // its answer: no data in [from, data)
	fd   uintptr
	pos  int64 // saved file offset, restored by close
}

func newSource(c *config, r io.Reader, ra io.ReaderAt) *source {
	s := &source{c: c, r: r, ra: ra, from: -1}
	if f, ok := ra.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			if pos, err := f.Seek(0, io.SeekCurrent); err == nil {
				s.f, s.fd, s.pos = f, f.Fd(), pos
			}
		}
	}
	return s
}

func (s *source) close() {
	if s.f != nil {
		_, _ = s.f.Seek(s.pos, io.SeekStart)
	}
}

// hole reports whether [off, off+n) of the input holds no data.
func (s *source) hole(off, n int64) bool {
	if s.f == nil {
		return false
	}
	if s.from < 0 || off < s.from || s.data < off {
		d, err := seekDataAt(s.fd, off)
		switch {
		case errors.Is(err, syscall.ENXIO): // no data after off
			d = 1 << 62
		case err != nil: // no SEEK_DATA here: read everything
			s.f = nil
			return false
		}
		s.from, s.data = off, d
	}
	return s.data >= off+n
}

// read fills buf with block idx (zeros past the input's end) and reports
// whether it is all zeros.
func (s *source) read(buf []byte, idx int64) (bool, error) {
	off := idx * BlockSize
	n := min(int64(len(buf)), max(0, s.c.size-off))
	if n > 0 && s.hole(off, n) {
		clear(buf)
		return true, nil
	}
	if n > 0 {
		var err error
		if s.ra != nil {
			var k int
			k, err = s.ra.ReadAt(buf[:n], off)
			if k == int(n) {
				err = nil
			} else if err == nil {
				err = io.ErrUnexpectedEOF
			}
		} else {
			_, err = io.ReadFull(s.r, buf[:n])
		}
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return false, fmt.Errorf("%w: input ended in block %d (size %d)", ErrShortInput, idx, s.c.size)
			}
			return false, fmt.Errorf("vhd: read input: %w", err)
		}
	}
	clear(buf[n:])
	return isZero(buf), nil
}
