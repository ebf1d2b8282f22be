package delta

import (
	"math/bits"
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
	tab   []uint32
	shift uint
}

// indexStep is the distance between indexed positions. The table holds
// about one slot per indexed position (4 bytes), so step 4 costs the old
// file's size again, step 8 half, step 16 a quarter: dense where files are
// small and the budget (1.5 times the old file plus 256 MiB) is loose,
// sparse for the GiB files this format is for.
func indexStep(oldSize int) int {
	switch {
	case oldSize <= 128<<20:
		return indexStepSmall
	case oldSize <= 512<<20:
		return 8
	default:
		return 16
	}
}

var indexStepSmall = 4

// newIndex indexes old; the caller must call release once done with it.
func newIndex(old []byte) (ix *index, release func()) {
	step := indexStep(len(old))
	n := (len(old)/step + ways) / ways
	b := bits.Len(uint(n - 1))
	if b < 4 {
		b = 4
	}
	mem, release := bigAlloc(4 * ways << b)
	ix = &index{tab: unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(mem))), ways<<b), shift: uint(64 - b)}
	for p := 0; p+hashLen <= len(old); p += step {
		s := ix.bucket(hashAt(old[p:]))
		for w := range ways {
			if ix.tab[s+w] == 0 {
				ix.tab[s+w] = uint32(p + 1)
				break
			}
		}
	}
	return ix, release
}

func (ix *index) bucket(h uint64) int { return int((h*0xD6E8FEB86659FD93)>>ix.shift) * ways }

// candidates returns the bucket of hash h: up to ways old positions + 1.
func (ix *index) candidates(h uint64) []uint32 {
	s := ix.bucket(h)
	return ix.tab[s : s+ways : s+ways]
}
