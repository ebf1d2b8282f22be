package delta

import "math/bits"

// The index maps a hash of hashLen bytes at every step-th position of the
// old file to that position. It is a single array of uint32 (position+1,
// 0 for empty) with one slot per hash bucket: a lost collision costs one
// candidate, which a match of more than hashLen+step bytes never depends
// on (every such match covers at least two indexed blocks). The first
// position wins, so the index does not depend on how it was built.
const (
	hashLen = 16
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

// indexStep is the distance between indexed positions: 8 bytes up to
// 256 MiB of old file, 16 above, so the table stays within half the old
// file's size on the large files this format is for.
func indexStep(oldSize int) int {
	if oldSize <= 256<<20 {
		return 8
	}
	return 16
}

func newIndex(old []byte) *index {
	step := indexStep(len(old))
	n := len(old)/step + 1
	b := bits.Len(uint(n - 1))
	if b < 4 {
		b = 4
	}
	ix := &index{tab: make([]uint32, 1<<b), shift: uint(64 - b)}
	for p := 0; p+hashLen <= len(old); p += step {
		s := ix.slot(hashAt(old[p:]))
		if ix.tab[s] == 0 {
			ix.tab[s] = uint32(p + 1)
		}
	}
	return ix
}

func (ix *index) slot(h uint64) uint64 { return (h * 0xD6E8FEB86659FD93) >> ix.shift }

// lookup returns the candidate old position for hash h, or -1.
func (ix *index) lookup(h uint64) int {
	v := ix.tab[ix.slot(h)]
	return int(v) - 1
}
