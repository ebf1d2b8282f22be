package delta

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
	"sync"

	dbzip2 "github.com/dsnet/compress/bzip2"
	"github.com/klauspost/compress/zstd"
)

// Level is the zstd effort for the patch streams.
type Level int

// Levels; the zero value is LevelDefault.
const (
	LevelDefault Level = iota // LevelBest
	LevelFast                 // zstd "default" level: fastest diff, larger patch
	LevelBetter               // zstd "better"
	LevelBest                 // zstd "best": smallest patch
)

func (l Level) zstd() zstd.EncoderLevel {
	switch l {
	case LevelFast:
		return zstd.SpeedDefault
	case LevelBetter:
		return zstd.SpeedBetterCompression
	default:
		return zstd.SpeedBestCompression
	}
}

// Event reports progress: stage "index" (Done/Total bytes of the old file
// read), "diff" (bytes of the new file encoded).
type Event struct {
	Stage string `json:"stage"`
	File  string `json:"file,omitempty"`
	Done  int64  `json:"done"`
	Total int64  `json:"total"`
}

// Options configure Diff. nil means the defaults.
type Options struct {
	// Workers diffing segments in parallel (default GOMAXPROCS). The
	// patch is the same for any value.
	Workers int `json:"workers,omitempty"`
	// Level of the zstd compression (default LevelBest).
	Level Level `json:"level,omitempty"`
	// Progress, when set, is called from the calling goroutine.
	Progress func(Event) `json:"-"`
}

// Diff writes to w a patch that turns old (oldSize bytes) into new
// (newSize bytes). It reads old into memory once and indexes it (an index
// of a quarter to once oldSize, see the package doc), reads new segment
// by segment, and encodes segments in parallel, Workers+2 in flight; the
// patch is identical for any Options.Workers. Both sizes must be at most
// MaxInputSize.
func Diff(ctx context.Context, w io.Writer, old io.ReaderAt, oldSize int64, new io.ReaderAt, newSize int64, o *Options) error {
	var opt Options
	if o != nil {
		opt = *o
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if oldSize < 0 || oldSize > MaxInputSize || newSize < 0 || newSize > MaxInputSize {
		return perr(ErrTooLarge, -1, "input sizes old %d new %d (max %d)", oldSize, newSize, int64(MaxInputSize))
	}
	progress := func(e Event) {
		if opt.Progress != nil {
			opt.Progress(e)
		}
	}

	// Hash the new file while the old one is read and indexed.
	newSum := make(chan error, 1)
	var nh [32]byte
	go func() {
		h := sha256.New()
		_, err := io.Copy(h, bufio.NewReaderSize(&ctxReader{ctx: ctx, r: io.NewSectionReader(new, 0, newSize)}, 1<<20))
		copy(nh[:], h.Sum(nil))
		newSum <- err
	}()
	ob, releaseOld := bigAlloc(int(oldSize))
	defer releaseOld()
	oh := sha256.New()
	for off := int64(0); off < oldSize; {
		if err := ctx.Err(); err != nil {
			<-newSum
			return err
		}
		k := min(oldSize-off, 16<<20)
		if _, err := old.ReadAt(ob[off:off+k], off); err != nil && !(err == io.EOF && off+k == oldSize) {
			<-newSum
			return fmt.Errorf("delta: reading old file: %w", err)
		}
		oh.Write(ob[off : off+k])
		off += k
		progress(Event{Stage: "index", Done: off, Total: oldSize})
	}
	ix, releaseIndex := newIndex(ob, opt.Workers)
	defer releaseIndex()
	if err := <-newSum; err != nil {
		return fmt.Errorf("delta: reading new file: %w", err)
	}
	hdr := Header{OldSize: oldSize, NewSize: newSize, Segment: SegmentSize, NewSHA256: nh}
	copy(hdr.OldSHA256[:], oh.Sum(nil))
	if _, err := w.Write(hdr.marshal()); err != nil {
		return err
	}

	nseg := int((newSize + SegmentSize - 1) / SegmentSize)
	ctx, cancel := context.WithCancel(ctx)
	type result struct {
		b   []byte
		err error
	}
	results := make([]chan result, nseg)
	for k := range results {
		results[k] = make(chan result, 1)
	}
	// At most Workers+2 segments are in flight (read, encoded or waiting
	// to be written), which bounds memory whatever the file size.
	tokens := make(chan struct{}, opt.Workers+2)
	var mu sync.Mutex
	nextSeg := 0
	var wg sync.WaitGroup
	for range min(opt.Workers, max(nseg, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(opt.Level.zstd()), zstd.WithEncoderConcurrency(1),
				zstd.WithWindowSize(SegmentSize), zstd.WithEncoderCRC(false), zstd.WithZeroFrames(false))
			if err != nil {
				// Options are constant: this cannot happen, but report it.
				mu.Lock()
				k := nextSeg
				nextSeg = nseg
				mu.Unlock()
				if k < nseg {
					results[k] <- result{err: err}
				}
				return
			}
			defer enc.Close()
			se := &segEncoder{enc: enc}
			var st streams
			nbuf := make([]byte, SegmentSize)
			for {
				select {
				case tokens <- struct{}{}:
				case <-ctx.Done():
					return
				}
				mu.Lock()
				k := nextSeg
				nextSeg++
				mu.Unlock()
				if k >= nseg {
					return
				}
				if err := ctx.Err(); err != nil {
					results[k] <- result{err: err}
					return
				}
				off := int64(k) * SegmentSize
				nw := nbuf[:min(SegmentSize, newSize-off)]
				if _, err := new.ReadAt(nw, off); err != nil && !(err == io.EOF && off+int64(len(nw)) == newSize) {
					results[k] <- result{err: fmt.Errorf("delta: reading new file: %w", err)}
					return
				}
				diffSegment(ob, ix, nw, &st)
				results[k] <- result{b: se.encode(len(nw), &st)}
			}
		}()
	}
	// Stop the workers before returning, whatever the outcome.
	defer func() { cancel(); wg.Wait() }()
	for k := range nseg {
		var r result
		select {
		case r = <-results[k]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.err != nil {
			return r.err
		}
		if _, err := w.Write(r.b); err != nil {
			return err
		}
		<-tokens
		progress(Event{Stage: "diff", Done: min(int64(k+1)*SegmentSize, newSize), Total: newSize})
	}
	return nil
}

// Stream storage methods.
const (
	methodRaw   = 0
	methodZstd  = 1
	methodBzip2 = 2
)

// encodeSegment frames one segment: uvarint new length; for the control,
// diff and literal streams uvarint raw length, uvarint stored length and
// a method byte (raw, one zstd frame, or bzip2); then the three stored
// streams. zstd is the default; a sparse diff stream (mostly zeros, the
// scattered changed bytes of relocated code; at least 1 KiB after zstd)
// is also tried with bzip2,
// whose block sorting models those bytes much better than LZ matching,
// and the smaller is kept.
func (se *segEncoder) encode(newLen int, st *streams) []byte {
	var z [3][]byte
	var method [3]byte
	for i, raw := range [][]byte{st.ctrl, st.diff, st.lit} {
		if len(raw) == 0 {
			continue
		}
		z[i], method[i] = raw, methodRaw
		se.z[i] = se.enc.EncodeAll(raw, se.z[i][:0])
		if c := se.z[i]; len(c) < len(z[i]) {
			z[i], method[i] = c, methodZstd
		}
		// Only where it can pay: a diff stream that is mostly zeros
		// but not so sparse that zstd leaves nothing to gain.
		if i == 1 && len(z[i]) <= len(raw)/8 && len(z[i]) >= 1<<10 {
			if c := se.bzip2(raw); c != nil && len(c) < len(z[i]) {
				z[i], method[i] = c, methodBzip2
			}
		}
	}
	n := binary.MaxVarintLen64*7 + 3 + len(z[0]) + len(z[1]) + len(z[2])
	out := binary.AppendUvarint(make([]byte, 0, n), uint64(newLen))
	for i, raw := range [][]byte{st.ctrl, st.diff, st.lit} {
		out = binary.AppendUvarint(out, uint64(len(raw)))
		out = binary.AppendUvarint(out, uint64(len(z[i])))
		out = append(out, method[i])
	}
	for i := range z {
		out = append(out, z[i]...)
	}
	return out
}

// segEncoder is a worker's compressors and scratch buffers, reused from
// segment to segment so the differ makes little garbage.
type segEncoder struct {
	enc   *zstd.Encoder
	bz    *dbzip2.Writer
	bzbuf bytes.Buffer
	z     [3][]byte
}

func (se *segEncoder) bzip2(raw []byte) []byte {
	se.bzbuf.Reset()
	if se.bz == nil {
		w, err := dbzip2.NewWriter(&se.bzbuf, &dbzip2.WriterConfig{Level: dbzip2.BestCompression})
		if err != nil {
			return nil
		}
		se.bz = w
	} else if err := se.bz.Reset(&se.bzbuf); err != nil {
		return nil
	}
	if _, err := se.bz.Write(raw); err != nil {
		return nil
	}
	if err := se.bz.Close(); err != nil {
		return nil
	}
	return se.bzbuf.Bytes()
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
