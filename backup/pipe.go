package backup

import (
	"io"
	"sync"
)

// bufPipe is io.Pipe with a few chunks of buffer between the two ends, so
// that the stages on either side (tar, hashing and compression; the
// OpenPGP encryption) run at the same time instead of handing over one
// write at a time. Memory is bounded: at most pipeChunks chunks of
// pipeChunk bytes are in flight.
type bufPipe struct {
	ch   chan []byte
	free chan []byte
	done chan struct{}

	mu     sync.Mutex
	rerr   error // what Read returns after the data (io.EOF or the writer's error)
	werr   error // what Write returns once the reader closed
	closed bool
	once   sync.Once

	chunk []byte // the chunk being read
	off   int
}

const (
	pipeChunk  = 256 << 10
	pipeChunks = 8
)

func newBufPipe() *bufPipe {
	p := &bufPipe{ch: make(chan []byte, pipeChunks), free: make(chan []byte, pipeChunks+1), done: make(chan struct{})}
	return p
}

// Write copies b into chunks; it blocks while the buffer is full.
func (p *bufPipe) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		var c []byte
		select {
		case c = <-p.free:
		default:
			c = make([]byte, 0, pipeChunk)
		}
		m := min(len(b), pipeChunk)
		c = append(c[:0], b[:m]...)
		select {
		case p.ch <- c:
		case <-p.done:
			return n, p.writeErr()
		}
		n += m
		b = b[m:]
	}
	return n, nil
}

func (p *bufPipe) writeErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.werr == nil {
		return io.ErrClosedPipe
	}
	return p.werr
}

// CloseWithError ends the data; Read returns err (io.EOF for nil) after
// the buffered chunks. Only the first close counts.
func (p *bufPipe) CloseWithError(err error) {
	if err == nil {
		err = io.EOF
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.rerr = err
	p.mu.Unlock()
	close(p.ch)
}

// Read returns buffered data, then the writer's close error.
func (p *bufPipe) Read(b []byte) (int, error) {
	for p.off >= len(p.chunk) {
		if p.chunk != nil {
			select {
			case p.free <- p.chunk[:0]:
			default:
			}
			p.chunk, p.off = nil, 0
		}
		select {
		case c, ok := <-p.ch:
			if !ok {
				p.mu.Lock()
				defer p.mu.Unlock()
				return 0, p.rerr
			}
			p.chunk = c
		case <-p.done:
			return 0, io.ErrClosedPipe
		}
	}
	n := copy(b, p.chunk[p.off:])
	p.off += n
	return n, nil
}

// CloseRead stops the reader's side: pending and later Writes fail with
// err.
func (p *bufPipe) CloseRead(err error) {
	p.once.Do(func() {
		p.mu.Lock()
		p.werr = err
		p.mu.Unlock()
		close(p.done)
	})
}
