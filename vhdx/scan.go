package vhdx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
)

// chunkSize is the unit of reading and zero detection.
const chunkSize = MiB

var zeroChunk [chunkSize]byte

func isZero(b []byte) bool { return bytes.Equal(b, zeroChunk[:len(b)]) }

// scanResult is what the first pass learns: which payload blocks hold
// data, and a fingerprint of the content.
type scanResult struct {
	chunks         []uint64 // bit set of chunks holding data
	chunksPerBlock int64
	content        []byte // SHA-256 over (chunk index, fingerprint) of the non-zero chunks; nil when not fingerprinted
}

// chunk says whether chunk i holds data.
func (s *scanResult) chunk(i int64) bool { return s.chunks[i/64]&(1<<(i%64)) != 0 }

// has says whether payload block b holds data.
func (s *scanResult) has(b int64) bool {
	for i := b * s.chunksPerBlock; i < (b+1)*s.chunksPerBlock; i++ {
		if i%64 == 0 && i+64 <= (b+1)*s.chunksPerBlock {
			if s.chunks[i/64] != 0 {
				return true
			}
			i += 63
			continue
		}
		if s.chunk(i) {
			return true
		}
	}
	return false
}

// job is one chunk travelling through the scan.
type job struct {
	idx     int64
	nonZero bool
	fp      uint64
	err     error
	done    chan struct{}
}

// readChunk reads chunk idx of src into buf (zero-padded past size) and
// returns the used part.
func readChunk(src io.ReaderAt, size int64, idx int64, buf []byte) ([]byte, error) {
	off := idx * chunkSize
	want := min(int64(len(buf)), size-off)
	got, err := src.ReadAt(buf[:want], off)
	if int64(got) < want {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: read %d bytes at offset %d, want %d", ErrShortInput, got, off, want)
		}
		return nil, fmt.Errorf("vhdx: reading input at offset %d: %w", off, err)
	}
	return buf[:want], nil
}

// scan is the first pass of Write: it reads every chunk that may hold data
// (holes of a file are skipped) on c.workers goroutines and folds the
// results in chunk order, so the outcome does not depend on scheduling.
// Holes and explicit zeros count alike, so a sparse file and a dense copy
// of it give identical output. The per-chunk fingerprint is CRC-32C and
// CRC-32 (IEEE), both hardware-accelerated: the IDs need to tell disks
// apart, not resist forgery (the Result's SHA-256 of the output does that).
func scan(ctx context.Context, c *config, src io.ReaderAt, size int64, blocks int64) (*scanResult, error) {
	chunksPerBlock := int64(c.blockSize) / chunkSize
	res := &scanResult{chunks: make([]uint64, (blocks*chunksPerBlock+63)/64), chunksPerBlock: chunksPerBlock}
	fingerprint := c.contentID == ""
	h := sha256.New()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	inFlight := 4 * c.workers
	ordered := make(chan *job, inFlight)
	work := make(chan *job, inFlight)
	var prodErr error
	go func() {
		defer close(ordered)
		defer close(work)
		next := int64(0)
		prodErr = dataExtents(src, size, func(off, end int64) error {
			for i := max(off/chunkSize, next); i*chunkSize < end; i++ {
				j := &job{idx: i, done: make(chan struct{})}
				select {
				case ordered <- j:
				case <-ctx.Done():
					return ctx.Err()
				}
				work <- j
				next = i + 1
			}
			return nil
		})
	}()
	var wg sync.WaitGroup
	for range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, chunkSize)
			for j := range work {
				if ctx.Err() != nil {
					j.err = ctx.Err()
				} else if b, err := readChunk(src, size, j.idx, buf); err != nil {
					j.err = err
				} else if !isZero(b) {
					j.nonZero = true
					if fingerprint {
						j.fp = uint64(crc32.Checksum(b, castagnoli))<<32 | uint64(crc32.ChecksumIEEE(b))
					}
				}
				close(j.done)
			}
		}()
	}
	var err error
	var rec [16]byte
	lastEvent := int64(-1)
	for j := range ordered {
		<-j.done
		if err != nil {
			continue
		}
		if err = j.err; err != nil {
			cancel()
			continue
		}
		if j.nonZero {
			res.chunks[j.idx/64] |= 1 << (j.idx % 64)
			if fingerprint {
				binary.LittleEndian.PutUint64(rec[:], uint64(j.idx))
				binary.LittleEndian.PutUint64(rec[8:], j.fp)
				h.Write(rec[:])
			}
		}
		if c.progress != nil && j.idx/64 != lastEvent {
			lastEvent = j.idx / 64
			c.progress(Event{Stage: "scan", File: c.fileName, Done: min((j.idx+1)*chunkSize, size), Total: size})
		}
	}
	wg.Wait()
	if err == nil {
		err = prodErr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	if fingerprint {
		res.content = h.Sum(nil)
	}
	return res, nil
}
