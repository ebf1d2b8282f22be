package vmdk

import (
	"errors"
	"fmt"
	"io"
)

// extentIter yields the byte ranges [off, end) of the disk that may hold
// data, in ascending order; everything else reads as zeros.
type extentIter interface {
	next() (off, end int64, ok bool, err error)
	close()
}

type wholeExtent struct {
	size int64
	done bool
}

func (w *wholeExtent) next() (int64, int64, bool, error) {
	if w.done || w.size == 0 {
		return 0, 0, false, nil
	}
	w.done = true
	return 0, w.size, true, nil
}

func (w *wholeExtent) close() {}

// source hands out runs of grains and fills batch buffers.
type source interface {
	// run returns the next run of grains [g0, g1) that may hold data.
	run() (g0, g1 int64, ok bool, err error)
	// read fills buf with n grains starting at grain g (zero-padding past
	// the end of the disk).
	read(buf []byte, g int64, n int) error
	close()
}

type readerAtSource struct {
	r     io.ReaderAt
	size  int64
	ext   extentIter
	nextG int64
}

func newReaderAtSource(r io.ReaderAt, size int64) *readerAtSource {
	return &readerAtSource{r: r, size: size, ext: newExtents(r, size)}
}

func (s *readerAtSource) run() (int64, int64, bool, error) {
	for {
		off, end, ok, err := s.ext.next()
		if err != nil || !ok {
			return 0, 0, false, err
		}
		g0 := max(off/GrainSize, s.nextG)
		g1 := (end + GrainSize - 1) / GrainSize
		if g0 >= g1 {
			continue
		}
		s.nextG = g1
		return g0, g1, true, nil
	}
}

func (s *readerAtSource) read(buf []byte, g int64, n int) error {
	off := g * GrainSize
	want := min(int64(n)*GrainSize, s.size-off)
	got, err := s.r.ReadAt(buf[:want], off)
	if int64(got) < want {
		if err == nil || errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: read %d bytes at offset %d, want %d", ErrShortInput, got, off, want)
		}
		return fmt.Errorf("vmdk: reading input at offset %d: %w", off, err)
	}
	clear(buf[want : int64(n)*GrainSize])
	return nil
}

func (s *readerAtSource) close() { s.ext.close() }

type streamSource struct {
	r    io.Reader
	size int64
	done bool
	pos  int64
}

func (s *streamSource) run() (int64, int64, bool, error) {
	if s.done || s.size == 0 {
		return 0, 0, false, nil
	}
	s.done = true
	return 0, (s.size + GrainSize - 1) / GrainSize, true, nil
}

func (s *streamSource) read(buf []byte, g int64, n int) error {
	off := g * GrainSize
	want := min(int64(n)*GrainSize, s.size-off)
	got, err := io.ReadFull(s.r, buf[:want])
	s.pos += int64(got)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: input ended after %d bytes, size is %d", ErrShortInput, s.pos, s.size)
		}
		return fmt.Errorf("vmdk: reading input at offset %d: %w", s.pos, err)
	}
	clear(buf[want : int64(n)*GrainSize])
	return nil
}

func (s *streamSource) close() {}

type emptySource struct{}

func (emptySource) run() (int64, int64, bool, error) { return 0, 0, false, nil }
func (emptySource) read([]byte, int64, int) error    { return nil }
func (emptySource) close()                           {}
