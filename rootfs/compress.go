package rootfs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zstd"
)

// Compression names an initramfs compression the Linux kernel accepts.
type Compression string

// Compressions. The empty string means CompressNone.
const (
	CompressNone Compression = "none"
	CompressGzip Compression = "gzip"
	CompressZstd Compression = "zstd"
)

// ParseCompression accepts "none", "gzip" (or "gz") and "zstd" (or "zst").
func ParseCompression(s string) (Compression, error) {
	switch s {
	case "", "none":
		return CompressNone, nil
	case "gzip", "gz":
		return CompressGzip, nil
	case "zstd", "zst":
		return CompressZstd, nil
	}
	return "", fmt.Errorf("%w: unknown compression %q", ErrCompression, s)
}

type compressor interface {
	io.Writer
	// Close finishes the stream (it does not close the underlying writer).
	Close() error
	// Abort stops background work after a failed write.
	Abort()
}

func newCompressor(w io.Writer, o *Options) (compressor, error) {
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	switch o.Compression {
	case "", CompressNone:
		return nopCompressor{w}, nil
	case CompressGzip:
		level := o.Level
		if level == 0 {
			level = 6
		}
		if level < 1 || level > 9 {
			return nil, fmt.Errorf("%w: gzip level %d (want 1-9)", ErrCompression, level)
		}
		return newParallelGzip(w, level, workers)
	case CompressZstd:
		level := o.Level
		if level == 0 {
			level = 3
		}
		if level < 1 || level > 22 {
			return nil, fmt.Errorf("%w: zstd level %d (want 1-22)", ErrCompression, level)
		}
		return newZstd(w, level, workers)
	}
	return nil, fmt.Errorf("%w: unknown compression %q", ErrCompression, o.Compression)
}

type nopCompressor struct{ io.Writer }

func (nopCompressor) Close() error { return nil }
func (nopCompressor) Abort()       {}

// zstdWindow is fixed so that the frame header, and the kernel's memory
// need when unpacking, do not depend on the level.
const zstdWindow = 8 << 20

type zstdCompressor struct{ *zstd.Encoder }

func (z zstdCompressor) Abort() {
	z.Encoder.Reset(io.Discard) // stop without finishing the frame
	_ = z.Encoder.Close()
}

func newZstd(w io.Writer, level, workers int) (compressor, error) {
	// klauspost/compress's stream encoder overlaps block compression with
	// block encoding (at most two goroutines) and its bytes do not depend
	// on the concurrency setting. Its "concurrent blocks" mode would use
	// more cores, but its output differs between one worker and several and
	// it needs 4 × window of buffer per worker.
	enc, err := zstd.NewWriter(w,
		zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
		zstd.WithWindowSize(zstdWindow),
		zstd.WithEncoderConcurrency(workers),
		zstd.WithEncoderCRC(true))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCompression, err)
	}
	return zstdCompressor{enc}, nil
}

// Parallel gzip, as pigz does it: the input is cut into fixed blocks; each
// block is deflated on its own with the previous 32 KiB as a preset
// dictionary and ends with a sync flush (the last one with a final block),
// so the blocks join into one ordinary deflate stream. Block boundaries
// depend only on the input, so the bytes do not depend on the number of
// workers.
const (
	gzBlockSize = 128 << 10
	gzDictSize  = 32 << 10
)

type gzJob struct {
	in, dict []byte
	last     bool
	out      *bytes.Buffer
	err      error
	ready    chan struct{}
}

type parallelGzip struct {
	w       io.Writer
	level   int
	buf     []byte
	dict    []byte
	crc     uint32
	size    uint32
	queue   chan *gzJob
	sem     chan struct{}
	done    chan error
	abort   chan struct{}
	once    sync.Once
	fwPool  sync.Pool
	bufPool sync.Pool
	outPool sync.Pool
	err     error
	failed  atomic.Pointer[error] // first error of collect, seen by Write
}

func newParallelGzip(w io.Writer, level, workers int) (*parallelGzip, error) {
	// Fixed header: no name, mtime 0, XFL 0, OS 255 (unknown).
	hdr := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}
	if _, err := w.Write(hdr); err != nil {
		return nil, err
	}
	z := &parallelGzip{
		w: w, level: level,
		queue: make(chan *gzJob, 2*workers),
		sem:   make(chan struct{}, workers),
		done:  make(chan error, 1),
		abort: make(chan struct{}),
	}
	z.bufPool.New = func() any { return make([]byte, 0, gzBlockSize) }
	z.outPool.New = func() any {
		// Deflate never grows a block by more than about 0.1% plus headers.
		return bytes.NewBuffer(make([]byte, 0, gzBlockSize+gzBlockSize/64+1024))
	}
	z.buf = z.bufPool.Get().([]byte)[:0]
	go z.collect()
	return z, nil
}

// collect writes finished blocks in order.
func (z *parallelGzip) collect() {
	var err error
	for j := range z.queue {
		select {
		case <-j.ready:
		case <-z.abort:
			// The worker may still be running: leave its job alone.
			if err == nil {
				err = io.ErrClosedPipe
			}
			continue
		}
		if err == nil && j.err != nil {
			err = j.err
		}
		if err == nil {
			if _, err = z.w.Write(j.out.Bytes()); err != nil {
				z.failed.Store(&err)
			}
		}
		if j.out != nil {
			z.outPool.Put(j.out)
		}
	}
	z.done <- err
}

func (z *parallelGzip) Write(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	if e := z.failed.Load(); e != nil {
		return 0, *e
	}
	z.crc = crc32.Update(z.crc, crc32.IEEETable, p)
	z.size += uint32(len(p))
	n := 0
	for len(p) > 0 {
		k := copy(z.buf[len(z.buf):cap(z.buf)], p)
		z.buf = z.buf[:len(z.buf)+k]
		p = p[k:]
		n += k
		if len(z.buf) == gzBlockSize {
			z.submit(false)
		}
	}
	return n, nil
}

func (z *parallelGzip) submit(last bool) {
	j := &gzJob{in: z.buf, dict: z.dict, last: last, ready: make(chan struct{})}
	if !last {
		d := make([]byte, gzDictSize)
		copy(d, z.buf[len(z.buf)-gzDictSize:])
		z.dict = d
		z.buf = z.bufPool.Get().([]byte)[:0]
	}
	z.queue <- j // blocks when too many blocks are in flight: bounded memory
	z.sem <- struct{}{}
	go func() {
		defer func() { <-z.sem }()
		fw, _ := z.fwPool.Get().(*flate.Writer)
		if fw == nil {
			var err error
			fw, err = flate.NewWriter(nil, z.level)
			if err != nil {
				j.err = err
				close(j.ready)
				return
			}
		}
		j.out = z.outPool.Get().(*bytes.Buffer)
		j.out.Reset()
		fw.ResetDict(j.out, j.dict)
		_, err := fw.Write(j.in)
		if err == nil {
			if j.last {
				err = fw.Close()
			} else {
				err = fw.Flush()
			}
		}
		j.err = err
		z.fwPool.Put(fw)
		z.bufPool.Put(j.in[:0])
		close(j.ready)
	}()
}

func (z *parallelGzip) Close() error {
	if z.err != nil {
		return z.err
	}
	z.submit(true)
	close(z.queue)
	if err := <-z.done; err != nil {
		z.err = err
		return err
	}
	var tr [8]byte
	binary.LittleEndian.PutUint32(tr[:4], z.crc)
	binary.LittleEndian.PutUint32(tr[4:], z.size)
	_, err := z.w.Write(tr[:])
	z.err = fmt.Errorf("rootfs: gzip writer closed")
	return err
}

func (z *parallelGzip) Abort() {
	z.once.Do(func() {
		close(z.abort)
		close(z.queue)
		<-z.done
		z.err = io.ErrClosedPipe
	})
}
