package delta

import (
	"math/bits"
	"sync"
	"unsafe"
)

// The index maps a hash of hashLen bytes at every step-th position of the
// old file to that position. It is an array of uint32 (position+1, 0 for
// empty) in buckets of ways slots (16 bytes, one cache line holds a
// bucket): a bucket keeps the first positions that hash to it, and the
// differ tries all of them and keeps the longest match. A lost position
// costs one candidate, which a match longer than hashLen+step bytes never
// depends on (it covers at least two indexed blocks). Insertion runs in
// file order, so the index does not depend on anything but the old file.
const (
	hashLen = 16
	ways    = 4
	hashMul = 0x9E3779B97F4A7C15 // odd multiplier of the polynomial hash
)

// hashPow is hashMul^(hashLen-1), the weight of the byte leaving the
// rolling window.
var hashPow = func() uint64 {
	p := uint64(1)
	for range hashLen - 1 {
		p *= hashMul
	}
	return p
}()

// hashAt is the polynomial hash of b[:hashLen].
func hashAt(b []byte) uint64 {
	var h uint64
	for _, c := range b[:hashLen] {
		h = h*hashMul + uint64(c)
	}
	return h
}

// roll moves a hash one byte on: out leaves the window, in enters it.
func roll(h uint64, out, in byte) uint64 {
	return (h-uint64(out)*hashPow)*hashMul + uint64(in)
}

type index struct {
	tab     []uint32
	buckets uint64
}

// indexStep is the distance between indexed positions. The table has one
// 4-byte slot per indexed position, so it costs the old file's size at
// step 4 (files up to 128 MiB, where dense indexing finds more short
// matches), half at step 8 (up to 1 GiB) and a quarter at step 16: with
// the old file itself and a few segments in flight, inside the differ's
// budget of 1.5 times the old file plus 256 MiB.
func indexStep(oldSize int) int {
	switch {
	case oldSize <= 128<<20:
		return 4
	case oldSize <= 1<<30:
		return 8
	default:
		return 16
	}
}

// newIndex indexes old; the caller must call release once done with it.
func newIndex(old []byte, workers int) (ix *index, release func()) {
	step := indexStep(len(old))
	buckets := max(len(old)/step/ways, 1)
	mem, release := bigAlloc(4 * ways * buckets)
	ix = &index{tab: unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(mem))), ways*buckets), buckets: uint64(buckets)}
	// Workers split the buckets, not the file: each scans every position
	// and inserts those of its own buckets, in file order, so the table
	// is the same for any worker count.
	var wg sync.WaitGroup
	for j := range workers {
		lo, hi := buckets*j/workers*ways, buckets*(j+1)/workers*ways
		wg.Go(func() {
			for p := 0; p+hashLen <= len(old); p += step {
				s := ix.bucket(hashAt(old[p:]))
				if s < lo || s >= hi {
					continue
				}
				for w := range ways {
					if ix.tab[s+w] == 0 {
						ix.tab[s+w] = uint32(p + 1)
						break
					}
				}
			}
		})
	}
	wg.Wait()
	return ix, release
}

// bucket maps a hash to its bucket's first slot: the high word of the
// mixed hash times the bucket count, uniform over any count.
func (ix *index) bucket(h uint64) int {
	hi, _ := bits.Mul64(h*0xD6E8FEB86659FD93, ix.buckets)
	return int(hi) * ways
}

// candidates returns the bucket of hash h: up to ways old positions + 1.
func (ix *index) candidates(h uint64) []uint32 {
	s := ix.bucket(h)
	return ix.tab[s : s+ways : s+ways]
}
