package bsdiff

import (
	"fmt"
	"io"
)

// prefetcher decompresses a stream in its own goroutine, a bounded number
// of chunks ahead of the reader, so the diff and extra streams of a patch
// decompress in parallel with each other and with the patching loop.
type prefetcher struct {
	ch   chan chunk
	done chan struct{}
	cur  []byte
	err  error
}

type chunk struct {
	b   []byte
	err error
}

const (
	prefetchMin   = 1 << 20 // smaller outputs are not worth a goroutine
	prefetchChunk = 256 << 10
	prefetchDepth = 4
)

func newPrefetcher(r io.Reader) *prefetcher {
	p := &prefetcher{ch: make(chan chunk, prefetchDepth), done: make(chan struct{})}
	go func() {
		defer close(p.ch)
		defer func() {
			if v := recover(); v != nil {
				select {
				case p.ch <- chunk{err: fmt.Errorf("decoder failure: %v", v)}:
				case <-p.done:
				}
			}
		}()
		for {
			b := make([]byte, prefetchChunk)
			n := 0
			var err error
			for n < len(b) && err == nil {
				var k int
				k, err = r.Read(b[n:])
				n += k
			}
			select {
			case p.ch <- chunk{b: b[:n], err: err}:
			case <-p.done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return p
}

func (p *prefetcher) Read(b []byte) (int, error) {
	for len(p.cur) == 0 {
		if p.err != nil {
			return 0, p.err
		}
		c, ok := <-p.ch
		if !ok {
			p.err = io.EOF
			continue
		}
		p.cur, p.err = c.b, c.err
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// close stops the goroutine; the prefetcher must not be read afterwards.
func (p *prefetcher) close() { close(p.done) }
