package ext4

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
)

// Verify checks that r holds exactly what Format(ctx, w, size, o) writes:
// every metadata block byte for byte, and zeros wherever Format relies
// on them (the journal's log, and group 0's inode table when the tables
// are marked zeroed). It does not read the inode tables of the other
// groups, nor free blocks: their content is never read by the kernel or
// e2fsck before it is written, and reading them would make Verify as
// slow as the disk is large. The first difference is a *MismatchError.
func Verify(ctx context.Context, r io.ReaderAt, size int64, o *Options) (*Info, error) {
	opts, err := o.resolve()
	if err != nil {
		return nil, err
	}
	opts.Progress = nil
	l, err := newLayout(size)
	if err != nil {
		return nil, err
	}
	f := newFS(l, opts)
	if err := f.emit(ctx, &verifySink{ctx: ctx, r: r}); err != nil {
		return nil, err
	}
	return f.info(), nil
}

var zeros = make([]byte, 1<<20)

// verifySink compares what Format would write with r.
type verifySink struct {
	ctx context.Context
	r   io.ReaderAt
	buf []byte
}

func (s *verifySink) read(off int64, n int) ([]byte, error) {
	if cap(s.buf) < n {
		s.buf = make([]byte, n)
	}
	b := s.buf[:n]
	k, err := s.r.ReadAt(b, off)
	if k == n {
		return b, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return nil, fmt.Errorf("%w: reading %d bytes at %d: %w", ErrMismatch, n, off, err)
}

func (s *verifySink) data(region string, off int64, p []byte) error {
	// Compare in 1 MiB pieces so a large GDT needs no second copy.
	for len(p) > 0 {
		n := min(len(p), 1<<20)
		got, err := s.read(off, n)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, p[:n]) {
			for i := range got {
				if got[i] != p[i] {
					return &MismatchError{Region: region, Offset: off + int64(i)}
				}
			}
		}
		off, p = off+int64(n), p[n:]
	}
	return nil
}

func (s *verifySink) zero(region string, off, n int64, _ bool) error {
	for n > 0 {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		k := min(n, 1<<20)
		got, err := s.read(off, int(k))
		if err != nil {
			return err
		}
		if !bytes.Equal(got, zeros[:k]) {
			for i, c := range got {
				if c != 0 {
					return &MismatchError{Region: region, Offset: off + int64(i)}
				}
			}
		}
		off, n = off+k, n-k
	}
	return nil
}
