package delta

import "encoding/binary"

// minMatch is the shortest exact match worth a new operation when it
// does not continue the current one: shorter ones cost more in control
// data and broken diff runs than their literal bytes. With a sparse
// index (large files) a short match is more often a chance one that
// breaks a better approximate run: 16 bytes at index step 4, 32 above
// (measured on the cpio corpora: 8 % smaller patches at 0.5 and 1 GiB
// than with 16).
func minMatch(step int) int {
	if step <= 4 {
		return 16
	}
	return 32
}

// streams are one segment's uncompressed control, diff and literal data.
type streams struct {
	ctrl, diff, lit []byte
}

// diffSegment encodes nw (one segment of the new file) against old. The
// operations are bsdiff's control triples: add (bytes produced as old +
// diff byte, approximate matches), lit (bytes taken from the literal
// stream), seek (move in the old file). The applier's old position
// starts at 0 in every segment, so segments are independent.
func diffSegment(old []byte, ix *index, nw []byte, st *streams) {
	minMatch := minMatch(ix.step)
	st.ctrl, st.diff, st.lit = st.ctrl[:0], st.diff[:0], st.lit[:0]
	n := len(nw)
	// The pending add region: new[pNew:pNew+pLen] against old[pOld:].
	pNew, pOld, pLen := 0, 0, 0
	emit := func(sNew, sOld int, final bool) {
		gapStart := pNew + pLen
		gap := sNew - gapStart
		// Forward approximate extension of the pending region.
		lenf := 0
		{
			s, sf := 0, 0
			for k := 0; k < gap && pOld+pLen+k < len(old); {
				if old[pOld+pLen+k] == nw[gapStart+k] {
					s++
				}
				k++
				if s*2-k > sf*2-lenf {
					sf, lenf = s, k
				}
			}
		}
		// Backward approximate extension of the next match.
		lenb := 0
		if !final {
			s, sb := 0, 0
			for k := 1; k <= gap && sOld >= k; k++ {
				if old[sOld-k] == nw[sNew-k] {
					s++
				}
				if s*2-k > sb*2-lenb {
					sb, lenb = s, k
				}
			}
		}
		if lenf+lenb > gap {
			overlap := lenf + lenb - gap
			s, ss, lens := 0, 0, 0
			for k := 0; k < overlap; k++ {
				x := gapStart + lenf - overlap + k
				if nw[x] == old[pOld+pLen+lenf-overlap+k] {
					s++
				}
				if nw[x] == old[sOld-lenb+k] {
					s--
				}
				if s > ss {
					ss, lens = s, k+1
				}
			}
			lenf += lens - overlap
			lenb -= lens
		}
		add := pLen + lenf
		lit := gap - lenf - lenb
		for k := 0; k < add; k++ {
			st.diff = append(st.diff, nw[pNew+k]-old[pOld+k])
		}
		st.lit = append(st.lit, nw[pNew+add:pNew+add+lit]...)
		seek := 0
		if !final {
			seek = (sOld - lenb) - (pOld + add)
		}
		st.ctrl = binary.AppendUvarint(st.ctrl, uint64(add))
		st.ctrl = binary.AppendUvarint(st.ctrl, uint64(lit))
		st.ctrl = binary.AppendVarint(st.ctrl, int64(seek))
		pNew, pOld, pLen = sNew-lenb, sOld-lenb, lenb
	}

	var h uint64
	hAt := -1 // position h is the hash of
	i := 0
	for i+hashLen <= n {
		found, cont := -1, false
		if pLen > 0 {
			if c := i + pOld - pNew; c >= 0 && c+hashLen <= len(old) && eqHash(old[c:], nw[i:]) {
				found, cont = c, true
			}
		}
		if found < 0 {
			if hAt == i-1 && hAt >= 0 {
				h = roll(h, nw[i-1], nw[i+hashLen-1])
			} else {
				h = hashAt(nw[i:])
			}
			hAt = i
			// The longest forward match among the bucket's candidates.
			best := 0
			for _, v := range ix.candidates(h) {
				if v == 0 {
					break
				}
				c := int(v) - 1
				if c+hashLen > len(old) || !eqHash(old[c:], nw[i:]) {
					continue
				}
				l := matchLen(old[c+hashLen:], nw[i+hashLen:])
				if found < 0 || l > best {
					found, best = c, l
				}
			}
		}
		if found < 0 {
			i++
			continue
		}
		// Extend the exact match forwards, then backwards into the gap.
		e := i + hashLen + matchLen(old[found+hashLen:], nw[i+hashLen:])
		s, so := i, found
		for s > pNew+pLen && so > 0 && nw[s-1] == old[so-1] {
			s--
			so--
		}
		if cont {
			// Same offset as the pending region: absorb the gap into it;
			// its mismatches become diff bytes.
			pLen = e - pNew
			i = e
			continue
		}
		if e-s < minMatch || (pLen > 0 && e-s < 256 && continues(old, nw, s, e, pOld-pNew)) {
			i++
			continue
		}
		emit(s, so, false)
		pLen = e - pNew
		i = e
	}
	emit(n, 0, true)
}

// continues reports whether the pending region's offset already explains
// new[s:e] nearly as well as an exact match elsewhere would (bsdiff's
// "within 8 bytes of the old score" rule).
func continues(old, nw []byte, s, e, off int) bool {
	miss := 0
	for k := s; k < e; k++ {
		c := k + off
		if c < 0 || c >= len(old) || old[c] != nw[k] {
			miss++
			if miss > 8 {
				return false
			}
		}
	}
	return true
}

// matchLen is the length of the common prefix of a and b.
func matchLen(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for i+8 <= n && binary.LittleEndian.Uint64(a[i:]) == binary.LittleEndian.Uint64(b[i:]) {
		i += 8
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// eqHash reports whether a and b (both at least hashLen long, which is 8
// to 16) start with the same hashLen bytes: two 8-byte compares, which
// overlap below 16.
func eqHash(a, b []byte) bool {
	return binary.LittleEndian.Uint64(a) == binary.LittleEndian.Uint64(b) &&
		binary.LittleEndian.Uint64(a[hashLen-8:hashLen]) == binary.LittleEndian.Uint64(b[hashLen-8:hashLen])
}
