package backup

import (
	"io"
	"runtime"

	"github.com/klauspost/compress/zstd"
)

// parZstd compresses its input as a sequence of independent zstd frames of
// frameSize bytes each, on up to GOMAXPROCS goroutines, and writes them in
// order. Concatenated frames are one valid zstd stream (zstd -d and every
// decoder read them as one), the frame boundaries depend only on the
// input, so the output is as deterministic as a single frame, and each
// frame's window covers most of the gain on real data. A single streaming
// encoder compresses one block at a time and would leave the other cores
// idle.
type parZstd struct {
	dst     io.Writer
	buf     []byte
	queue   chan *zjob  // in input order, to the writer loop
	work    chan *zjob  // to the workers
	free    chan []byte // input buffers to reuse
	outs    chan []byte // output buffers to reuse
	done    chan struct{}
	err     error // the writer loop's first error, valid after done
	encs    []*zstd.Encoder
	started bool
	closed  bool
}

const zstdFrameSize = 4 << 20

type zjob struct {
	in, out []byte
	ready   chan struct{}
}

func newParZstd(dst io.Writer) (*parZstd, error) {
	n := max(1, min(runtime.GOMAXPROCS(0), 8))
	z := &parZstd{
		dst:   dst,
		queue: make(chan *zjob, n),
		work:  make(chan *zjob, n),
		free:  make(chan []byte, 2*n),
		outs:  make(chan []byte, 2*n),
		done:  make(chan struct{}),
	}
	for range n {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true))
		if err != nil {
			return nil, err
		}
		z.encs = append(z.encs, enc)
	}
	for _, enc := range z.encs {
		go func() {
			for j := range z.work {
				j.out = enc.EncodeAll(j.in, j.out[:0])
				close(j.ready)
			}
		}()
	}
	go z.writeLoop()
	return z, nil
}

func (z *parZstd) writeLoop() {
	defer close(z.done)
	for j := range z.queue {
		<-j.ready
		if z.err == nil {
			if _, err := z.dst.Write(j.out); err != nil {
				z.err = err
			}
		}
		select {
		case z.free <- j.in[:0]:
		default:
		}
		select {
		case z.outs <- j.out[:0]:
		default:
		}
	}
}

func (z *parZstd) submit() error {
	j := &zjob{in: z.buf, ready: make(chan struct{})}
	select {
	case j.out = <-z.outs:
	default:
	}
	select {
	case <-z.done:
		return z.err
	default:
	}
	z.queue <- j
	z.work <- j
	select {
	case z.buf = <-z.free:
	default:
		z.buf = make([]byte, 0, zstdFrameSize)
	}
	return nil
}

func (z *parZstd) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if z.buf == nil {
			z.buf = make([]byte, 0, zstdFrameSize)
		}
		m := min(len(p), zstdFrameSize-len(z.buf))
		z.buf = append(z.buf, p[:m]...)
		p, n = p[m:], n+m
		if len(z.buf) == zstdFrameSize {
			if err := z.submit(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// Close compresses the rest and waits for every frame to be written.
func (z *parZstd) Close() error {
	if z.closed {
		return z.err
	}
	z.closed = true
	if len(z.buf) > 0 {
		if err := z.submit(); err != nil {
			z.stop()
			return err
		}
	}
	z.stop()
	return z.err
}

// stop ends the goroutines once the queued frames are done.
func (z *parZstd) stop() {
	close(z.queue)
	close(z.work)
	<-z.done
}
