package bsdiff

import (
	"bytes"
	"encoding/binary"
	"math/bits"

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
//   - the diff and extra bytes stream into their compressors as the scan
//     produces them instead of being held in two new-sized buffers.
//
// The search result is the same with any correct suffix array: suffixes are
// distinct, so their sorted order is unique, and the search visits the
// same midpoints and takes the same branches as the reference.

// bzLevel is the bzip2 block size the reference uses (900k blocks).
const bzLevel = bzip2.BestCompression

// diffBytes returns the BSDIFF40 patch from old to new.
func diffBytes(old, new []byte) ([]byte, error) {
	sa := suffixArray(old)

	var ctrlBuf, diffBuf, extraBuf bytes.Buffer
	conf := &bzip2.WriterConfig{Level: bzLevel}
	ctrlW, err := bzip2.NewWriter(&ctrlBuf, conf)
	if err != nil {
		return nil, err
	}
	diffW, err := bzip2.NewWriter(&diffBuf, conf)
	if err != nil {
		return nil, err
	}
	extraW, err := bzip2.NewWriter(&extraBuf, conf)
	if err != nil {
		return nil, err
	}

	oldSize, newSize := len(old), len(new)
	var scratch [32 << 10]byte
	// writeDiff streams new[ns:ns+n] - old[ps:ps+n] to the diff block.
	writeDiff := func(ns, ps, n int) error {
		for n > 0 {
			c := min(n, len(scratch))
			d, a, b := scratch[:c], new[ns:ns+c], old[ps:ps+c]
			for i := range d {
				d[i] = a[i] - b[i]
			}
			if _, err := diffW.Write(d); err != nil {
				return err
			}
			ns, ps, n = ns+c, ps+c, n-c
		}
		return nil
	}

	var scan, length, lastScan, lastPos, lastOffset, pos int
	var triple [24]byte
	for scan < newSize {
		oldScore := 0
		scan += length
		scsc := scan
		for ; scan < newSize; scan++ {
			pos, length = search(sa, old, new[scan:])
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

		if err := writeDiff(lastScan, lastPos, lenF); err != nil {
			return nil, err
		}
		extra := new[lastScan+lenF : scan-lenB]
		if _, err := extraW.Write(extra); err != nil {
			return nil, err
		}
		offtout(int64(lenF), triple[0:])
		offtout(int64(len(extra)), triple[8:])
		offtout(int64((pos-lenB)-(lastPos+lenF)), triple[16:])
		if _, err := ctrlW.Write(triple[:]); err != nil {
			return nil, err
		}

		lastScan = scan - lenB
		lastPos = pos - lenB
		lastOffset = pos - scan
	}
	for _, w := range []*bzip2.Writer{ctrlW, diffW, extraW} {
		if err := w.Close(); err != nil {
			return nil, err
		}
	}

	out := make([]byte, HeaderSize, HeaderSize+ctrlBuf.Len()+diffBuf.Len()+extraBuf.Len())
	copy(out, Magic)
	offtout(int64(ctrlBuf.Len()), out[8:])
	offtout(int64(diffBuf.Len()), out[16:])
	offtout(int64(newSize), out[24:])
	out = append(out, ctrlBuf.Bytes()...)
	out = append(out, diffBuf.Bytes()...)
	out = append(out, extraBuf.Bytes()...)
	return out, nil
}

// search finds a longest match for the start of data among old's
// suffixes, exactly as bsdiff's recursive search does: a binary search
// over sa (the empty suffix first) comparing each midpoint's suffix with
// data over their common length, then the longer match of the two
// remaining neighbours (the upper one on a tie). lo and hi are lower
// bounds on the common prefix of data with the suffixes at the search
// bounds; every suffix between them shares at least the smaller of the
// two, so the comparison starts there and reaches the same verdict.
func search(sa []int32, old, data []byte) (pos, n int) {
	st, en := 0, len(old)
	lo, hi := 0, 0
	for en-st >= 2 {
		x := st + (en-st)/2
		p := int(sa[x])
		k := min(lo, hi)
		m := k + matchLen(old[p+k:], data[k:])
		if m < len(old)-p && m < len(data) && old[p+m] < data[m] {
			st, lo = x, m
		} else {
			en, hi = x, m
		}
	}
	ps, pe := int(sa[st]), int(sa[en])
	x := lo + matchLen(old[ps+lo:], data[lo:])
	y := hi + matchLen(old[pe+hi:], data[hi:])
	if x > y {
		return ps, x
	}
	return pe, y
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
