package delta

import (
	"math/bits"
	"sync"
	"unsafe"
)

// The index maps a hash of hashLen bytes at every step-th position of the
// old file to that position. It is an array of uint32 (position+1, 0 for
// empty) in buckets of ways slots (64 bytes, one cache line): a
// bucket keeps the first positions that hash to it, and the
// differ tries all of them and keeps the longest match. A lost position
// costs one candidate, which a match longer than hashLen+step bytes never
// depends on (it covers at least two indexed blocks). Insertion runs in
// file order, so the index does not depend on anything but the old file.
const (
	hashLen = 16
	ways    = 16
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
	step    int
}

// indexStep is the distance between indexed positions. The table has one
// 4-byte slot per indexed position, so it costs the old file's size at
// step 4 (files up to 128 MiB, where dense indexing finds more short
// matches), half at step 8 (up to 768 MiB) and a quarter at step 16: with
// the old file itself and a few segments in flight, inside the differ's
// budget of 1.5 times the old file plus 256 MiB.
func indexStep(oldSize int) int {
	switch {
	case oldSize <= 128<<20:
		return 4
	case oldSize <= 768<<20:
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
	ix = &index{tab: unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(mem))), ways*buckets), buckets: uint64(buckets), step: step}
	ix.fill(old, step, workers)
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

// fill inserts the positions of old in file order. Random writes into a
// table of hundreds of MiB miss every cache and TLB, so positions are
// first binned by the table part (1/parts) their bucket falls in, a chunk
// of the file at a time; each part is then filled from its bin, in file
// order, by one of the workers, within a range small enough to stay in
// cache. The table is the same for any worker count.
func (ix *index) fill(old []byte, step, workers int) {
	const chunk = 1 << 22 // positions per binning round
	parts := 1
	for parts < 1024 && int(ix.buckets)/parts > 1<<14 {
		parts *= 2
	}
	type entry struct{ bucket, pos uint32 }
	// bins[j][part]: worker j bins the j-th slice of each chunk, so part
	// p's entries in file order are bins[0][p], bins[1][p], ...
	bins := make([][][]entry, workers)
	for j := range bins {
		bins[j] = make([][]entry, parts)
	}
	per := (int(ix.buckets) + parts - 1) / parts
	last := len(old) - hashLen // last indexable position
	for c := 0; c <= last; c += chunk * step {
		n := (min(last, c+(chunk-1)*step)-c)/step + 1 // positions in this chunk
		var wg sync.WaitGroup
		for j := range workers {
			wg.Go(func() {
				b := bins[j]
				for i := range b {
					b[i] = b[i][:0]
				}
				for k := n * j / workers; k < n*(j+1)/workers; k++ {
					p := c + k*step
					bk := ix.bucket(hashAt(old[p:])) / ways
					b[bk/per] = append(b[bk/per], entry{uint32(bk), uint32(p + 1)})
				}
			})
		}
		wg.Wait()
		for j := range workers {
			wg.Go(func() {
				for part := j; part < parts; part += workers {
					for _, b := range bins {
						for _, e := range b[part] {
							s := int(e.bucket) * ways
							for w := range ways {
								if ix.tab[s+w] == 0 {
									ix.tab[s+w] = e.pos
									break
								}
							}
						}
					}
				}
			})
		}
		wg.Wait()
	}
}
