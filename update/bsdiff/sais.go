package bsdiff

// Suffix array construction by induced sorting (SA-IS, Nong, Zhang and
// Chan 2009), on int32 indexes. It runs in linear time and needs, beyond
// the text and the 4-byte-per-entry result, one bit per text byte for the
// suffix types and a bucket table: 256 entries at the byte level; at a
// recursion level, one entry per distinct name, placed in the part of the
// caller's suffix array that the recursion leaves unused when it fits
// there (it usually does), so the whole construction stays close to
// 4.2 bytes per text byte.
//
// The end of the text is a virtual sentinel, smaller than every byte, so
// a shorter suffix sorts before every longer suffix it prefixes.

// suffixArray returns the suffix array of text with the empty suffix
// first: sa[0] = len(text) and sa[1:] holds the start of every non-empty
// suffix in increasing order. This is the layout bsdiff's search expects
// (the layout its original qsufsort produces).
func suffixArray(text []byte) []int32 {
	sa := make([]int32, len(text)+1)
	sa[0] = int32(len(text))
	if len(text) > 0 {
		sais(text, sa[1:], 256, nil)
	}
	return sa
}

// symbol is the element type of the texts SA-IS sorts: bytes at the top
// level, names of LMS substrings at the recursion levels.
type symbol interface{ ~byte | ~int32 }

// bitset marks S-type positions.
type bitset []uint64

func (b bitset) get(i int) bool { return b[i>>6]>>(uint(i)&63)&1 != 0 }
func (b bitset) set(i int)      { b[i>>6] |= 1 << (uint(i) & 63) }

// lms reports whether i is a leftmost S-type position.
func (b bitset) lms(i int) bool { return i > 0 && b.get(i) && !b.get(i-1) }

// sais writes the suffix array of s (values in [0, k)) to sa, which must
// have len(s) entries. free is scratch space the caller does not need
// meanwhile (may be nil).
func sais[T symbol](s []T, sa []int32, k int, free []int32) {
	n := len(s)
	switch n {
	case 0:
		return
	case 1:
		sa[0] = 0
		return
	}

	// Classify suffixes: S-type if smaller than the next suffix, L-type
	// otherwise. The last suffix is L-type (it is larger than the empty
	// sentinel suffix).
	t := make(bitset, n/64+1)
	for i := n - 2; i >= 0; i-- {
		if s[i] < s[i+1] || (s[i] == s[i+1] && t.get(i+1)) {
			t.set(i)
		}
	}

	// Symbol counts are kept for small alphabets and recounted from s
	// otherwise (cnt nil), to save memory.
	var cnt, bkt []int32
	switch {
	case k <= 256:
		cnt = make([]int32, k)
		for _, c := range s {
			cnt[c]++
		}
		bkt = make([]int32, k)
	case k <= len(free):
		bkt = free[:k]
	default:
		bkt = make([]int32, k)
	}

	// Stage 1: sort the LMS substrings by one round of induced sorting
	// from the LMS positions dropped, in text order, at their bucket ends.
	for i := range sa {
		sa[i] = -1
	}
	buckets(s, cnt, bkt, true)
	for i := 1; i < n; i++ {
		if t.lms(i) {
			c := s[i]
			bkt[c]--
			sa[bkt[c]] = int32(i)
		}
	}
	induceL(s, sa, t, cnt, bkt)
	induceS(s, sa, t, cnt, bkt)

	// Gather the sorted LMS positions at the front of sa.
	n1 := 0
	for i := 0; i < n; i++ {
		if p := int(sa[i]); t.lms(p) {
			sa[n1] = int32(p)
			n1++
		}
	}

	// Name the LMS substrings: equal substrings get equal names, and the
	// names follow the substrings' order. A name is stored at n1 + p/2
	// (LMS positions are at least two apart, so these slots are distinct
	// and lie inside sa).
	for i := n1; i < n; i++ {
		sa[i] = -1
	}
	name := int32(0)
	prev := -1
	for i := 0; i < n1; i++ {
		p := int(sa[i])
		if prev < 0 || !equalLMS(s, t, p, prev) {
			name++
		}
		prev = p
		sa[n1+p/2] = name - 1
	}
	// Compact the names, in text order, to the end of sa: the reduced
	// string s1.
	j := n - 1
	for i := n - 1; i >= n1; i-- {
		if sa[i] >= 0 {
			sa[j] = sa[i]
			j--
		}
	}
	s1 := sa[n-n1:]
	sa1 := sa[:n1]

	// Stage 2: sort the reduced string's suffixes, recursively unless the
	// names are all distinct.
	if int(name) < n1 {
		sais(s1, sa1, int(name), sa[n1:n-n1])
	} else {
		for i, c := range s1 {
			sa1[c] = int32(i)
		}
	}

	// Stage 3: map the reduced suffixes back to LMS positions and induce
	// the whole suffix array from them.
	j = 0
	for i := 1; i < n; i++ {
		if t.lms(i) {
			s1[j] = int32(i)
			j++
		}
	}
	for i := range sa1 {
		sa1[i] = s1[sa1[i]]
	}
	for i := n1; i < n; i++ {
		sa[i] = -1
	}
	buckets(s, cnt, bkt, true)
	for i := n1 - 1; i >= 0; i-- {
		p := sa[i]
		sa[i] = -1
		c := s[p]
		bkt[c]--
		sa[bkt[c]] = p
	}
	induceL(s, sa, t, cnt, bkt)
	induceS(s, sa, t, cnt, bkt)
}

// equalLMS reports whether the LMS substrings at p and q (each running to
// the next LMS position, inclusive) are equal. The substring that runs
// into the sentinel equals no other.
func equalLMS[T symbol](s []T, t bitset, p, q int) bool {
	n := len(s)
	for d := 0; ; d++ {
		if p+d == n || q+d == n {
			return false
		}
		if s[p+d] != s[q+d] || t.get(p+d) != t.get(q+d) {
			return false
		}
		if d > 0 && (t.lms(p+d) || t.lms(q+d)) {
			// Equal symbols and types so far: both end here.
			return t.lms(p+d) && t.lms(q+d)
		}
	}
}

// buckets sets bkt to each symbol's bucket start (or end, one past its
// last slot), from the counts in cnt or, when cnt is nil, counted from s.
func buckets[T symbol](s []T, cnt, bkt []int32, end bool) {
	if cnt == nil {
		clear(bkt)
		for _, c := range s {
			bkt[c]++
		}
		cnt = bkt
	}
	sum := int32(0)
	for i := range bkt {
		c := cnt[i]
		if end {
			sum += c
			bkt[i] = sum
		} else {
			bkt[i] = sum
			sum += c
		}
	}
}

// induceL places the L-type suffixes, scanning sa left to right.
func induceL[T symbol](s []T, sa []int32, t bitset, cnt, bkt []int32) {
	n := len(s)
	buckets(s, cnt, bkt, false)
	// The suffix before the sentinel is L-type and comes first.
	c := s[n-1]
	sa[bkt[c]] = int32(n - 1)
	bkt[c]++
	for i := 0; i < n; i++ {
		j := int(sa[i]) - 1
		if j >= 0 && !t.get(j) {
			c := s[j]
			sa[bkt[c]] = int32(j)
			bkt[c]++
		}
	}
}

// induceS places the S-type suffixes, scanning sa right to left.
func induceS[T symbol](s []T, sa []int32, t bitset, cnt, bkt []int32) {
	buckets(s, cnt, bkt, true)
	for i := len(s) - 1; i >= 0; i-- {
		j := int(sa[i]) - 1
		if j >= 0 && t.get(j) {
			c := s[j]
			bkt[c]--
			sa[bkt[c]] = int32(j)
		}
	}
}
