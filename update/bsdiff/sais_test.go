package bsdiff

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
)

// naiveSuffixArray sorts all suffixes, the empty one included, by direct
// comparison.
func naiveSuffixArray(text []byte) []int32 {
	sa := make([]int32, len(text)+1)
	for i := range sa {
		sa[i] = int32(i)
	}
	slices.SortFunc(sa, func(a, b int32) int { return bytes.Compare(text[a:], text[b:]) })
	return sa
}

// checkSuffixArray verifies sa in linear time: it must be a permutation
// of 0..n with the empty suffix first, and each adjacent pair of suffixes
// must be ordered by (first byte, rank of the rest), which by induction
// on length is the lexicographic order.
func checkSuffixArray(t testing.TB, text []byte, sa []int32) {
	t.Helper()
	n := len(text)
	if len(sa) != n+1 {
		t.Fatalf("suffix array has %d entries for %d bytes", len(sa), n)
	}
	rank := make([]int32, n+1)
	seen := make([]bool, n+1)
	for r, p := range sa {
		if p < 0 || int(p) > n || seen[p] {
			t.Fatalf("suffix array is not a permutation (entry %d)", p)
		}
		seen[p] = true
		rank[p] = int32(r)
	}
	if sa[0] != int32(n) {
		t.Fatalf("empty suffix not first")
	}
	for i := 2; i <= n; i++ {
		a, b := sa[i-1], sa[i]
		if text[a] > text[b] || (text[a] == text[b] && rank[a+1] > rank[b+1]) {
			t.Fatalf("suffixes %d and %d out of order at rank %d", a, b, i)
		}
	}
}

// saisCorpus holds texts that exercise SA-IS's corner cases: empty and
// one-byte texts, runs (no LMS positions), periodic texts (deep
// recursion), strictly monotone texts, and random data over small and
// full alphabets.
func saisCorpus() map[string][]byte {
	c := map[string][]byte{
		"empty":       {},
		"one":         {7},
		"two-eq":      {5, 5},
		"two-up":      {1, 2},
		"two-down":    {2, 1},
		"zeros":       make([]byte, 1000),
		"ff":          bytes.Repeat([]byte{0xff}, 777),
		"ab":          bytes.Repeat([]byte("ab"), 500),
		"aab":         bytes.Repeat([]byte("aab"), 333),
		"abcab":       bytes.Repeat([]byte("abcab"), 301),
		"mississippi": []byte("mississippi"),
		"banana":      []byte("banana"),
		"text":        testutil.TextBytes(1, 5000),
		"random":      testutil.RandomBytes(2, 5000),
	}
	up := make([]byte, 256)
	down := make([]byte, 256)
	for i := range up {
		up[i] = byte(i)
		down[i] = byte(255 - i)
	}
	c["up"], c["down"] = up, down
	// Fibonacci words are the classic worst case for repetitions.
	a, b := []byte("a"), []byte("ab")
	for len(b) < 3000 {
		a, b = b, append(append([]byte(nil), b...), a...)
	}
	c["fibonacci"] = b
	// Small alphabets over random data.
	for _, k := range []int{2, 3, 4} {
		r := testutil.RandomBytes(uint64(10+k), 3000)
		for i := range r {
			r[i] %= byte(k)
		}
		c[fmt.Sprintf("alphabet-%d", k)] = r
	}
	return c
}

func TestSuffixArrayMatchesNaive(t *testing.T) {
	for name, text := range saisCorpus() {
		t.Run(name, func(t *testing.T) {
			got := suffixArray(text)
			want := naiveSuffixArray(text)
			if !slices.Equal(got, want) {
				t.Fatalf("suffix array differs from naive sort\n got %v\nwant %v", head(got), head(want))
			}
		})
	}
}

func TestSuffixArrayAllShortTexts(t *testing.T) {
	// Every text of length up to 8 over a three-letter alphabet.
	for n := 0; n <= 8; n++ {
		total := 1
		for i := 0; i < n; i++ {
			total *= 3
		}
		text := make([]byte, n)
		for v := 0; v < total; v++ {
			x := v
			for i := range text {
				text[i] = byte(x % 3)
				x /= 3
			}
			if got, want := suffixArray(text), naiveSuffixArray(text); !slices.Equal(got, want) {
				t.Fatalf("text %v: got %v want %v", text, got, want)
			}
		}
	}
}

func TestSuffixArrayLarge(t *testing.T) {
	// Larger inputs where the naive sort would be slow: check order directly.
	big := append(testutil.TextBytes(3, 1<<20), testutil.TextBytes(3, 1<<19)...)
	big = append(big, make([]byte, 100000)...)
	big = append(big, testutil.RandomBytes(4, 1<<18)...)
	checkSuffixArray(t, big, suffixArray(big))
}

// Input caps of FuzzSuffixArray.
const (
	fuzzSAMax    = 4 << 10
	fuzzNaiveMax = 256
)

func FuzzSuffixArray(f *testing.F) {
	quietGC()
	for _, text := range saisCorpus() {
		if len(text) <= 1000 {
			f.Add(text)
		}
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		// Longer texts add nothing the corpus tests do not cover, and the
		// naive sort is quadratic on periodic text: keep each exec cheap.
		if len(text) > fuzzSAMax {
			text = text[:fuzzSAMax]
		}
		sa := suffixArray(text)
		// The linear-time order check proves any length; the naive sort
		// cross-checks the short texts.
		checkSuffixArray(t, text, sa)
		if len(text) <= fuzzNaiveMax && !slices.Equal(sa, naiveSuffixArray(text)) {
			t.Fatalf("suffix array differs from naive sort for %q", text)
		}
	})
}

func head(sa []int32) []int32 {
	if len(sa) > 40 {
		return sa[:40]
	}
	return sa
}

// TestSAISLargeAlphabet runs the recursion-level code paths directly: an
// int32 text over a large alphabet, with the bucket table allocated and
// with it placed in caller-provided scratch space.
func TestSAISLargeAlphabet(t *testing.T) {
	const k = 1000
	r := testutil.RandomBytes(60, 8000)
	s := make([]int32, 4000)
	for i := range s {
		s[i] = int32(int(r[2*i])<<8|int(r[2*i+1])) % k
		if i%3 == 0 && i > 10 { // repeats, so the recursion has work
			s[i] = s[i-7]
		}
	}
	want := make([]int32, len(s))
	for i := range want {
		want[i] = int32(i)
	}
	slices.SortFunc(want, func(a, b int32) int { return slices.Compare(s[a:], s[b:]) })
	for _, free := range [][]int32{nil, make([]int32, k)} {
		got := make([]int32, len(s))
		sais(s, got, k, free)
		if !slices.Equal(got, want) {
			t.Fatalf("free %d: suffix array differs from naive sort", len(free))
		}
	}
}
