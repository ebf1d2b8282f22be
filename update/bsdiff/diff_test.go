package bsdiff

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	gbsdiff "github.com/gabstv/go-bsdiff/pkg/bsdiff"
)

// mutate returns a copy of b with spans inserted, deleted and rewritten,
// and scattered single-byte changes, the way a rebuilt binary differs.
func mutate(seed uint64, b []byte) []byte {
	r := testutil.RandomBytes(seed, 4096)
	out := append([]byte(nil), b...)
	if len(out) < 64 {
		return append(out, r[:7]...)
	}
	n := len(out)
	for i := 0; i < 12; i++ {
		at := int(uint32(r[4*i])|uint32(r[4*i+1])<<8|uint32(r[4*i+2])<<16|uint32(r[4*i+3])<<24) % len(out)
		switch i % 4 {
		case 0: // insert
			ins := r[100+i*50 : 100+i*50+17+i]
			out = append(out[:at], append(append([]byte(nil), ins...), out[at:]...)...)
		case 1: // delete
			end := min(at+n/50+3, len(out))
			out = append(out[:at], out[end:]...)
		case 2: // rewrite
			copy(out[at:], r[1000+i*60:1000+i*60+40])
		case 3: // sprinkle byte changes, like shifted addresses
			for j := at; j < len(out) && j < at+n/20; j += 97 {
				out[j] += 3
			}
		}
	}
	return out
}

type diffCase struct {
	name     string
	old, new []byte
}

// identityCorpus holds small, structured and multi-megabyte pairs.
func identityCorpus(short bool) []diffCase {
	text := testutil.TextBytes(21, 200000)
	random := testutil.RandomBytes(22, 100000)
	zeros := make([]byte, 150000)
	rep := bytes.Repeat([]byte("fogkit-"), 20000)
	periodic := bytes.Repeat(testutil.RandomBytes(23, 1000), 100)
	cases := []diffCase{
		{"empty-both", nil, nil},
		{"empty-old", nil, []byte("hello, world")},
		{"empty-new", []byte("hello, world"), nil},
		{"one-byte", []byte{1}, []byte{2}},
		{"same-small", []byte("abcdefgh"), []byte("abcdefgh")},
		{"tiny-edit", []byte("the quick brown fox"), []byte("the quick red fox!")},
		{"text", text, mutate(1, text)},
		{"text-same", text, text},
		{"random", random, mutate(2, random)},
		{"random-unrelated", random, testutil.RandomBytes(24, 90000)},
		{"zeros", zeros, mutate(3, zeros)},
		{"zeros-to-text", zeros, text[:100000]},
		{"repeated", rep, mutate(4, rep)},
		{"periodic", periodic, mutate(5, periodic)},
		{"periodic-shifted", periodic, periodic[37:]},
		{"append", text[:50000], text[:90000]},
		{"truncate", text[:90000], text[:50000]},
	}
	if !short {
		// Multi-megabyte pairs: text-like, binary-like with long runs.
		bigText := testutil.TextBytes(25, 3<<20)
		bin := append(testutil.RandomBytes(26, 1<<20), make([]byte, 1<<19)...)
		bin = append(bin, bytes.Repeat(testutil.RandomBytes(27, 4096), 128)...)
		bin = append(bin, testutil.TextBytes(28, 1<<20)...)
		cases = append(cases,
			diffCase{"big-text", bigText, mutate(6, bigText)},
			diffCase{"big-binary", bin, mutate(7, bin)},
		)
	}
	return cases
}

// TestDiffIdenticalToReference checks that our differ writes exactly the
// bytes go-bsdiff v1.0.5 writes, and that the patch applies.
func TestDiffIdenticalToReference(t *testing.T) {
	for _, c := range identityCorpus(testing.Short()) {
		t.Run(c.name, func(t *testing.T) {
			want, err := gbsdiff.Bytes(c.old, c.new)
			if err != nil {
				t.Fatal(err)
			}
			got, err := diffBytes(c.old, c.new)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("patch differs from go-bsdiff: %d bytes vs %d, first difference at %d",
					len(got), len(want), firstDiff(got, want))
			}
			back, err := PatchBytes(c.old, got, int64(len(c.new)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back, c.new) {
				t.Fatal("patch does not reproduce the new file")
			}
		})
	}
}

// TestSearchMatchesReference checks the accelerated search against a
// direct transcription of the reference's recursive search, on data with
// many long common prefixes.
func TestSearchMatchesReference(t *testing.T) {
	olds := map[string][]byte{
		"empty":    nil,
		"one":      {'a'},
		"periodic": bytes.Repeat([]byte("abcab"), 400),
		"zeros":    make([]byte, 3000),
		"text":     testutil.TextBytes(31, 20000),
	}
	probes := [][]byte{nil, {'a'}, []byte("abcabcab"), []byte("abcabd"), make([]byte, 5000), testutil.TextBytes(31, 3000)}
	for name, old := range olds {
		sa := suffixArray(old)
		idx := newIndex(sa, old)
		var all [][]byte
		all = append(all, probes...)
		for i := 0; i < len(old); i += 1 + len(old)/50 {
			all = append(all, old[i:min(len(old), i+300)], mutate(uint64(i), old[i:min(len(old), i+300)]))
		}
		for i, data := range all {
			gp, gn := idx.search(data)
			wp, wn := refSearch(sa, old, data, 0, len(old))
			if gp != wp || gn != wn {
				t.Fatalf("%s probe %d: got (%d, %d), reference (%d, %d)", name, i, gp, gn, wp, wn)
			}
		}
	}
}

// refSearch is the reference's search, literally.
func refSearch(sa []int32, old, data []byte, st, en int) (int, int) {
	if en-st < 2 {
		x := refMatchLen(old[sa[st]:], data)
		y := refMatchLen(old[sa[en]:], data)
		if x > y {
			return int(sa[st]), x
		}
		return int(sa[en]), y
	}
	x := st + (en-st)/2
	l := min(len(old)-int(sa[x]), len(data))
	if bytes.Compare(old[sa[x]:int(sa[x])+l], data[:l]) < 0 {
		return refSearch(sa, old, data, x, en)
	}
	return refSearch(sa, old, data, st, x)
}

func refMatchLen(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

func TestMatchLen(t *testing.T) {
	a := testutil.RandomBytes(40, 100)
	for i := 0; i <= 100; i++ {
		for j := 0; j <= 100; j += 7 {
			b := append([]byte(nil), a[:j]...)
			if i < j {
				b[i]++
			}
			if got, want := matchLen(a, b), refMatchLen(a, b); got != want {
				t.Fatalf("matchLen(%d, %d) = %d, want %d", i, j, got, want)
			}
		}
	}
}

func TestDiffBuildTwice(t *testing.T) {
	o := testutil.TextBytes(41, 100000)
	n := mutate(8, o)
	a, err := diffBytes(o, n)
	if err != nil {
		t.Fatal(err)
	}
	b, err := diffBytes(o, n)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two runs differ")
	}
}

// FuzzDiffIdentical compares our differ with go-bsdiff on arbitrary pairs.
func FuzzDiffIdentical(f *testing.F) {
	quietGC()
	for _, c := range identityCorpus(true) {
		if len(c.old)+len(c.new) < 1024 {
			f.Add(c.old, c.new)
		}
	}
	f.Add([]byte("abcabcabcabc"), []byte("abcabdabcabcx"))
	f.Fuzz(func(t *testing.T, old, new []byte) {
		// The reference differ's suffix sort dominates each exec, and Go's
		// minimiser tries every subrange of an input it cannot shrink:
		// small inputs keep the fuzzer at hundreds of execs per second and
		// still reach every branch of the match scan.
		if len(old) > 1<<10 || len(new) > 1<<10 {
			return
		}
		want, err := gbsdiff.Bytes(old, new)
		if err != nil {
			t.Skip(err)
		}
		got, err := diffBytes(old, new)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("patch differs from go-bsdiff at %d", firstDiff(got, want))
		}
	})
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func BenchmarkSuffixArray(b *testing.B) {
	for _, size := range []int{1 << 20, 8 << 20} {
		text := testutil.TextBytes(50, size)
		b.Run(fmt.Sprintf("text-%dMiB", size>>20), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				suffixArray(text)
			}
		})
	}
}

func BenchmarkDiff(b *testing.B) {
	old := append(testutil.TextBytes(51, 2<<20), testutil.RandomBytes(52, 2<<20)...)
	new := mutate(9, old)
	b.Run("ours", func(b *testing.B) {
		b.SetBytes(int64(len(new)))
		for b.Loop() {
			if _, err := diffBytes(old, new); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-bsdiff", func(b *testing.B) {
		b.SetBytes(int64(len(new)))
		for b.Loop() {
			if _, err := gbsdiff.Bytes(old, new); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestSearchTopLevels stresses the cached top levels: small old files
// over tiny alphabets, so suffixes shorter than the 8-byte keys sit among
// the cached midpoints, probed with every short substring and with
// variants of it.
func TestSearchTopLevels(t *testing.T) {
	for seed := uint64(0); seed < 40; seed++ {
		r := testutil.RandomBytes(100+seed, 600)
		old := r[:128+int(seed)*5]
		for i := range old {
			old[i] = 'a' + old[i]%byte(2+seed%3)
		}
		idx := newIndex(suffixArray(old), old)
		if len(idx.top) == 0 {
			t.Fatalf("old of %d bytes has no cached levels", len(old))
		}
		for i := 0; i < len(old); i++ {
			for _, l := range []int{0, 1, 3, 7, 8, 9, 12, 40} {
				probe := old[i:min(len(old), i+l)]
				variant := append(append([]byte(nil), probe...), 'a'+byte(i%4))
				for _, data := range [][]byte{probe, variant} {
					gp, gn := idx.search(data)
					wp, wn := refSearch(idx.sa, old, data, 0, len(old))
					if gp != wp || gn != wn {
						t.Fatalf("seed %d probe %q: got (%d, %d), reference (%d, %d)", seed, data, gp, gn, wp, wn)
					}
				}
			}
		}
	}
}
