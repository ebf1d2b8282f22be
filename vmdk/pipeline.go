package vmdk

import (
	"bytes"
	"context"
	"sync"
)

// batch is a run of consecutive grains travelling through the pipeline.
type batch struct {
	first int64 // first grain index
	n     int   // grains in the batch
	in    []byte
	out   []byte   // compressed grain records, in order
	rec   []int32  // per grain: record length in sectors, 0 = all-zero grain
	sum   []uint64 // per grain: fingerprint (hashing pass only)
	done  chan struct{}
	err   error
}

var zeroGrain [GrainSize]byte

func isZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), GrainSize)
		if !bytes.Equal(b[:n], zeroGrain[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

// pipeline reads batches on one goroutine, processes them on c.workers
// goroutines and hands them back in order to consume, which runs on the
// caller's goroutine. At most c.inFlight batches exist at any time.
//
// Batches come from and go back to *keep, so that a second pass reuses the
// buffers of the first.
func pipeline(ctx context.Context, c *config, src source, keep *[]*batch, newWorker func() func(*batch), consume func(*batch) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	free := make(chan *batch, c.inFlight)
	for i := 0; i < c.inFlight; i++ {
		var b *batch // nil: allocated on first use
		if n := len(*keep); n > 0 {
			b, *keep = (*keep)[n-1], (*keep)[:n-1]
		}
		free <- b
	}
	defer func() {
		for len(free) > 0 {
			if b := <-free; b != nil {
				*keep = append(*keep, b)
			}
		}
	}()
	ordered := make(chan *batch, c.inFlight)
	work := make(chan *batch, c.inFlight)

	var wg sync.WaitGroup
	for i := 0; i < c.workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn := newWorker()
			for b := range work {
				fn(b)
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
		prodErr = produce(ctx, c, src, free, ordered, work)
	}()

	var err error
	for b := range ordered {
		<-b.done
		if err == nil {
			if b.err != nil {
				err = b.err
			} else if err = ctx.Err(); err == nil {
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

func produce(ctx context.Context, c *config, src source, free chan *batch, ordered, work chan *batch) error {
	for {
		g0, g1, ok, err := src.run()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		for g := g0; g < g1; {
			// Batches end at multiples of batchLen so that runs of a sparse
			// file and of a dense one cut the disk alike.
			n := int(min(g1-g, int64(c.batchLen)-g%int64(c.batchLen)))
			var b *batch
			select {
			case b = <-free:
			case <-ctx.Done():
				return ctx.Err()
			}
			if b == nil {
				b = &batch{
					in:  make([]byte, c.batchLen*GrainSize),
					rec: make([]int32, c.batchLen),
				}
			}
			b.first, b.n, b.err, b.done = g, n, nil, make(chan struct{})
			if err := src.read(b.in, g, n); err != nil {
				free <- b
				return err
			}
			ordered <- b
			work <- b
			g += int64(n)
		}
	}
}
