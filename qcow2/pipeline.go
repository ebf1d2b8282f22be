package qcow2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zstd"
)

// Cluster kinds in a batch.
const (
	kindZero = iota
	kindRaw
	kindCompressed
)

// batch is a run of consecutive clusters travelling through the pipeline.
type batch struct {
	first int64 // first cluster index
	n     int
	in    []byte
	out   []byte // compressed clusters, in order
	kind  []uint8
	clen  []int32 // compressed length per cluster
	done  chan struct{}
	err   error
}

// source fills batches with consecutive clusters, zero-padding the tail.
type source interface {
	read(buf []byte, off int64, n int) error
}

type readerAtSource struct {
	r    io.ReaderAt
	size int64 // bytes of input
}

func (s *readerAtSource) read(buf []byte, off int64, n int) error {
	want := max(0, min(int64(n), s.size-off))
	got, err := s.r.ReadAt(buf[:want], off)
	if int64(got) < want {
		if err == nil || errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: read %d bytes at offset %d, want %d", ErrShortInput, got, off, want)
		}
		return fmt.Errorf("qcow2: reading input at offset %d: %w", off, err)
	}
	clear(buf[want:n])
	return nil
}

type streamSource struct {
	r    io.Reader
	size int64
	pos  int64
}

func (s *streamSource) read(buf []byte, off int64, n int) error {
	want := max(0, min(int64(n), s.size-off))
	got, err := io.ReadFull(s.r, buf[:want])
	s.pos += int64(got)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: input ended after %d bytes, size is %d", ErrShortInput, s.pos, s.size)
		}
		return fmt.Errorf("qcow2: reading input at offset %d: %w", s.pos, err)
	}
	clear(buf[want:n])
	return nil
}

func isZero(b []byte) bool {
	var z [4096]byte
	for len(b) > 0 {
		n := min(len(b), len(z))
		if !bytes.Equal(b[:n], z[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

// compressor compresses one cluster into dst; it returns nil when the
// result would not be smaller than the cluster (stored raw then, as qemu
// does).
type compressor func(dst, cluster []byte) []byte

func newCompressor(c *config) compressor {
	cs := 1 << c.clusterBits
	switch c.compression {
	case CompressionZlib:
		var buf bytes.Buffer
		// qemu inflates compressed clusters with a 4 KiB window
		// (inflateInit2 with -12): larger distances would not decode.
		fw, _ := flate.NewWriterWindow(&buf, 4096) // constant, valid size
		return func(dst, cl []byte) []byte {
			buf.Reset()
			fw.Reset(&buf)
			fw.Write(cl)
			fw.Close()
			if buf.Len() >= cs {
				return nil
			}
			return append(dst, buf.Bytes()...)
		}
	case CompressionZstd:
		enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.EncoderLevel(c.level)),
			zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(max(zstd.MinWindowSize, cs)),
			zstd.WithZeroFrames(true))
		return func(dst, cl []byte) []byte {
			n := len(dst)
			dst = enc.EncodeAll(cl, dst)
			if len(dst)-n >= cs {
				return nil
			}
			return dst
		}
	}
	return nil
}

// run is a range of clusters [c0, c1).
type run struct{ c0, c1 int64 }

// pipeline reads the clusters of runs (nil: all of [0, clusters)) in batches on one goroutine,
// classifies (and compresses) them on c.workers goroutines and hands them
// back in order to consume on the caller's goroutine. At most c.inFlight
// batches exist at any time.
func pipeline(ctx context.Context, c *config, src source, clusters int64, runs []run, compress bool, consume func(*batch) error) error {
	if runs == nil {
		runs = []run{{0, clusters}}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs := 1 << c.clusterBits
	free := make(chan *batch, c.inFlight)
	for range c.inFlight {
		free <- nil
	}
	ordered := make(chan *batch, c.inFlight)
	work := make(chan *batch, c.inFlight)
	var wg sync.WaitGroup
	for range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var comp compressor
			if compress {
				comp = newCompressor(c)
			}
			for b := range work {
				b.out = b.out[:0]
				for i := range b.n {
					cl := b.in[i*cs : (i+1)*cs]
					switch {
					case isZero(cl):
						b.kind[i] = kindZero
					case comp != nil:
						n := len(b.out)
						if out := comp(b.out, cl); out != nil {
							b.out = out
							b.kind[i], b.clen[i] = kindCompressed, int32(len(out)-n)
						} else {
							b.kind[i] = kindRaw
						}
					default:
						b.kind[i] = kindRaw
					}
				}
				close(b.done)
			}
		}()
	}
	var prodErr error
	prodDone := make(chan struct{})
	go func() {
		defer close(prodDone)
		defer close(work)
		defer close(ordered)
		for _, r := range runs {
			for g := r.c0; g < min(r.c1, clusters); {
				n := int(min(min(r.c1, clusters)-g, int64(c.batchLen)))
				var b *batch
				select {
				case b = <-free:
				case <-ctx.Done():
					prodErr = ctx.Err()
					return
				}
				if b == nil {
					b = &batch{in: make([]byte, c.batchLen*cs), kind: make([]uint8, c.batchLen), clen: make([]int32, c.batchLen)}
				}
				b.first, b.n, b.err, b.done = g, n, nil, make(chan struct{})
				if err := src.read(b.in, g*int64(cs), n*cs); err != nil {
					prodErr = err
					return
				}
				ordered <- b
				work <- b
				g += int64(n)
			}
		}
	}()
	var err error
	for b := range ordered {
		<-b.done
		if err == nil {
			if err = ctx.Err(); err == nil {
				err = consume(b)
			}
			if err != nil {
				cancel()
			}
		}
		free <- b
	}
	<-prodDone
	wg.Wait()
	if err == nil {
		err = prodErr
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}
