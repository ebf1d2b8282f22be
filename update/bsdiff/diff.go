package bsdiff

import (
	"encoding/binary"
	"math/bits"
	"runtime"

	"github.com/dsnet/compress/bzip2"
)

// The differ below is bsdiff 4's algorithm (Colin Percival): suffix-sort
// the old file, then scan the new file for approximate matches and emit
// (diff length, extra length, old seek) triples. Every decision follows
// the reference exactly, and the three blocks are compressed with the same
// bzip2 encoder and level as github.com/gabstv/go-bsdiff v1.0.5, so the
// patches are byte-identical to that library's. What differs is the cost:
//
//   - the suffix array is built by SA-IS on int32 (4 bytes per old byte,
//     linear time) instead of qsufsort on two int slices (16 bytes per old
//     byte, O(n log n));
//   - the binary search skips the prefix its two bounds are known to share
//     with the new data, and compares eight bytes at a time;
//   - the scan records only the control triples (a few bytes each); the
//     suffix array is released before compression, and the diff and extra
//     bytes are regenerated from the triples straight into the compressor,
//     one block after the other through one reused encoder, instead of
//     being held in two new-sized buffers.
//
// The search result is the same with any correct suffix array: suffixes are
// distinct, so their sorted order is unique, and the search visits the
// same midpoints and takes the same branches as the reference.

// bzLevel is the bzip2 block size the reference uses (900k blocks).
const bzLevel = bzip2.BestCompression

// gcThreshold is the old-file size from which the differ asks the runtime
// to collect the suffix array before compressing, so the encoder's buffers
// reuse its memory instead of growing the heap (peak RSS).
const gcThreshold = 8 << 20

// diffBytes returns the BSDIFF40 patch from old to new.
func diffBytes(old, new []byte) ([]byte, error) {
	ctrl := scanMatches(suffixArray(old), old, new)
	if len(old) >= gcThreshold {
		runtime.GC()
	}

	out := &appendWriter{b: make([]byte, HeaderSize, HeaderSize+len(ctrl)+len(new)/8+64)}
	copy(out.b, Magic)
	zw, err := bzip2.NewWriter(out, &bzip2.WriterConfig{Level: bzLevel})
	if err != nil {
		return nil, err
	}
	// Control block: the triples in bsdiff's sign-magnitude encoding.
	var triple [24]byte
	for r := (tripleReader{b: ctrl}); r.next(); {
		offtout(r.diff, triple[0:])
		offtout(r.extra, triple[8:])
		offtout(r.seek, triple[16:])
		if _, err := zw.Write(triple[:]); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	ctrlEnd := len(out.b)

	// Diff block: new minus old over each triple's diff span.
	if err := zw.Reset(out); err != nil {
		return nil, err
	}
	var scratch [32 << 10]byte
	var newPos, oldPos int64
	for r := (tripleReader{b: ctrl}); r.next(); {
		a, b := new[newPos:newPos+r.diff], old[oldPos:oldPos+r.diff]
		for len(a) > 0 {
			d := scratch[:min(len(a), len(scratch))]
			for i := range d {
				d[i] = a[i] - b[i]
			}
			if _, err := zw.Write(d); err != nil {
				return nil, err
			}
			a, b = a[len(d):], b[len(d):]
		}
		newPos += r.diff + r.extra
		oldPos += r.diff + r.seek
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	diffEnd := len(out.b)

	// Extra block: the new bytes between the diff spans.
	if err := zw.Reset(out); err != nil {
		return nil, err
	}
	newPos = 0
	for r := (tripleReader{b: ctrl}); r.next(); {
		newPos += r.diff
		if _, err := zw.Write(new[newPos : newPos+r.extra]); err != nil {
			return nil, err
		}
		newPos += r.extra
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}

	offtout(int64(ctrlEnd-HeaderSize), out.b[8:])
	offtout(int64(diffEnd-ctrlEnd), out.b[16:])
	offtout(int64(len(new)), out.b[24:])
	return out.b, nil
}

// appendWriter collects the patch.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// scanMatches runs bsdiff's match loop over new and returns the control triples,
// each as three varints (diff length, extra length, old seek).
func scanMatches(sa []int32, old, new []byte) []byte {
	idx := newIndex(sa, old)
	var ctrl []byte
	oldSize, newSize := len(old), len(new)
	var scan, length, lastScan, lastPos, lastOffset, pos int
	for scan < newSize {
		oldScore := 0
		scan += length
		scsc := scan
		for ; scan < newSize; scan++ {
			pos, length = idx.search(new[scan:])
			for ; scsc < scan+length; scsc++ {
				if scsc+lastOffset < oldSize && old[scsc+lastOffset] == new[scsc] {
					oldScore++
				}
			}
			if (length == oldScore && length != 0) || length > oldScore+8 {
				break
			}
			if scan+lastOffset < oldSize && old[scan+lastOffset] == new[scan] {
				oldScore--
			}
		}
		if length == oldScore && scan != newSize {
			continue
		}

		// Extend the previous match forward, and this one backward,
		// as long as at least half the bytes agree.
		var lenF int
		s, best := 0, 0
		for i := 0; lastScan+i < scan && lastPos+i < oldSize; {
			if old[lastPos+i] == new[lastScan+i] {
				s++
			}
			i++
			if s*2-i > best*2-lenF {
				best, lenF = s, i
			}
		}
		var lenB int
		if scan < newSize {
			s, best = 0, 0
			for i := 1; scan >= lastScan+i && pos >= i; i++ {
				if old[pos-i] == new[scan-i] {
					s++
				}
				if s*2-i > best*2-lenB {
					best, lenB = s, i
				}
			}
		}
		// Split an overlap where it scores best.
		if lastScan+lenF > scan-lenB {
			overlap := (lastScan + lenF) - (scan - lenB)
			s, best, lenS := 0, 0, 0
			for i := 0; i < overlap; i++ {
				if new[lastScan+lenF-overlap+i] == old[lastPos+lenF-overlap+i] {
					s++
				}
				if new[scan-lenB+i] == old[pos-lenB+i] {
					s--
				}
				if s > best {
					best, lenS = s, i+1
				}
			}
			lenF += lenS - overlap
			lenB -= lenS
		}

		ctrl = binary.AppendUvarint(ctrl, uint64(lenF))
		ctrl = binary.AppendUvarint(ctrl, uint64((scan-lenB)-(lastScan+lenF)))
		ctrl = binary.AppendVarint(ctrl, int64((pos-lenB)-(lastPos+lenF)))

		lastScan = scan - lenB
		lastPos = pos - lenB
		lastOffset = pos - scan
	}
	return ctrl
}

// tripleReader walks the triples scanMatches recorded.
type tripleReader struct {
	b                 []byte
	diff, extra, seek int64
}

func (r *tripleReader) next() bool {
	if len(r.b) == 0 {
		return false
	}
	d, n1 := binary.Uvarint(r.b)
	e, n2 := binary.Uvarint(r.b[n1:])
	s, n3 := binary.Varint(r.b[n1+n2:])
	r.b = r.b[n1+n2+n3:]
	r.diff, r.extra, r.seek = int64(d), int64(e), s
	return true
}

// index answers bsdiff's longest-match queries over old.
//
// The binary search's first levels always visit the same suffix-array
// entries (the midpoints depend only on the bounds), so those entries are
// copied, in breadth-first order, into a small table next to the first
// eight bytes of their suffixes: the top of every search then costs one
// cache line per level instead of two scattered reads (the suffix array
// entry and the old bytes), and most comparisons there end within those
// eight bytes.
type index struct {
	sa   []int32
	old  []byte
	top  []topNode
	kmax int
}

// topNode is one midpoint of the search's first levels.
type topNode struct {
	key  uint64 // first 8 bytes of the suffix, big-endian, zero-padded
	pos  int32  // the suffix's start in old
	klen int32  // how many of those 8 bytes the suffix has
}

// topLevels is the depth of the cached levels (2^16-1 nodes, 1 MiB).
const topLevels = 16

func newIndex(sa []int32, old []byte) *index {
	x := &index{sa: sa, old: old}
	levels := 0
	for levels < topLevels && len(old)>>(levels+4) > 0 {
		levels++
	}
	if levels < 4 {
		return x
	}
	x.top = make([]topNode, 1<<levels-1)
	x.fill(0, 0, len(old))
	return x
}

// fill records node i of the search tree, whose bounds are st and en.
func (x *index) fill(i, st, en int) {
	if i >= len(x.top) || en-st < 2 {
		return
	}
	mid := st + (en-st)/2
	p := int(x.sa[mid])
	var kb [8]byte
	n := copy(kb[:], x.old[p:])
	x.top[i] = topNode{key: binary.BigEndian.Uint64(kb[:]), pos: int32(p), klen: int32(n)}
	x.fill(2*i+1, st, mid)
	x.fill(2*i+2, mid, en)
}

// search finds a longest match for the start of data among old's
// suffixes, exactly as bsdiff's recursive search does: a binary search
// over sa (the empty suffix first) comparing each midpoint's suffix with
// data over their common length, then the longer match of the two
// remaining neighbours (the upper one on a tie). lo and hi are lower
// bounds on the common prefix of data with the suffixes at the search
// bounds; every suffix between them shares at least the smaller of the
// two, so the comparison starts there and reaches the same verdict.
func (x *index) search(data []byte) (pos, n int) {
	sa, old := x.sa, x.old
	st, en := 0, len(old)
	lo, hi := 0, 0

	// The cached levels: compare the first eight bytes in registers.
	var kb [8]byte
	dlen := copy(kb[:], data)
	dkey := binary.BigEndian.Uint64(kb[:])
	for i := 0; i < len(x.top) && en-st >= 2; {
		mid := st + (en-st)/2
		nd := &x.top[i]
		p := int(nd.pos)
		m := bits.LeadingZeros64(nd.key^dkey) >> 3
		m = min(m, int(nd.klen), dlen)
		var less bool
		if m < 8 {
			// The common prefix ends inside the cached bytes.
			less = m < int(nd.klen) && m < dlen && byte(nd.key>>(56-8*m)) < byte(dkey>>(56-8*m))
		} else {
			k := max(min(lo, hi), 8)
			m = k + matchLen(old[p+k:], data[k:])
			less = m < len(old)-p && m < len(data) && old[p+m] < data[m]
		}
		if less {
			st, lo, i = mid, m, 2*i+2
		} else {
			en, hi, i = mid, m, 2*i+1
		}
	}

	for en-st >= 2 {
		mid := st + (en-st)/2
		p := int(sa[mid])
		k := min(lo, hi)
		m := k + matchLen(old[p+k:], data[k:])
		if m < len(old)-p && m < len(data) && old[p+m] < data[m] {
			st, lo = mid, m
		} else {
			en, hi = mid, m
		}
	}
	ps, pe := int(sa[st]), int(sa[en])
	a := lo + matchLen(old[ps+lo:], data[lo:])
	b := hi + matchLen(old[pe+hi:], data[hi:])
	if a > b {
		return ps, a
	}
	return pe, b
}

// matchLen returns the length of the common prefix of a and b.
func matchLen(a, b []byte) int {
	n := min(len(a), len(b))
	a, b = a[:n], b[:n]
	i := 0
	for ; i+8 <= n; i += 8 {
		if x := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]); x != 0 {
			return i + bits.TrailingZeros64(x)>>3
		}
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}
