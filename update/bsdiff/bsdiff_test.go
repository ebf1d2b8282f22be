package bsdiff

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	gbspatch "github.com/gabstv/go-bsdiff/pkg/bspatch"
	"github.com/stretchr/testify/require"
)

func pair(seed uint64, n int) (old, new []byte) {
	old = testutil.TextBytes(seed, n)
	new = append([]byte(nil), old...)
	// Insert, delete and rewrite some spans.
	new = append(new[:n/3], append(testutil.RandomBytes(seed+1, 300), new[n/3:]...)...)
	copy(new[n/2:], []byte("a changed region of the file"))
	new = append(new[:n/4], new[n/4+100:]...)
	return old, new
}

func TestRoundTrip(t *testing.T) {
	cases := map[string][2][]byte{
		"empty-both":  {nil, nil},
		"empty-old":   {nil, []byte("hello world")},
		"empty-new":   {[]byte("hello world"), nil},
		"same":        {testutil.TextBytes(1, 5000), testutil.TextBytes(1, 5000)},
		"random":      {testutil.RandomBytes(2, 3000), testutil.RandomBytes(3, 4000)},
		"edited-text": func() [2][]byte { o, n := pair(4, 20000); return [2][]byte{o, n} }(),
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := Diff(c[0], c[1])
			require.NoError(t, err)
			got, err := Patch(c[0], bytes.NewReader(p), int64(len(c[1])))
			require.NoError(t, err)
			require.Equal(t, len(c[1]), len(got))
			require.True(t, bytes.Equal(c[1], got))
			// The reference applier agrees.
			ref, err := gbspatch.Bytes(c[0], p)
			require.NoError(t, err)
			require.True(t, bytes.Equal(c[1], ref))
		})
	}
}

func TestDeterministic(t *testing.T) {
	o, n := pair(9, 50000)
	a, err := Diff(o, n)
	require.NoError(t, err)
	b, err := Diff(o, n)
	require.NoError(t, err)
	require.Equal(t, a, b)
}

func TestNewSizeLimit(t *testing.T) {
	o, n := pair(5, 10000)
	p, err := Diff(o, n)
	require.NoError(t, err)
	_, err = Patch(o, bytes.NewReader(p), int64(len(n))-1)
	require.ErrorIs(t, err, ErrTooLarge)
}

// craft builds a patch with the given header fields and raw blocks.
func craft(ctrlLen, diffLen, newSize int64, rest []byte) []byte {
	b := make([]byte, HeaderSize)
	copy(b, Magic)
	offtout(ctrlLen, b[8:])
	offtout(diffLen, b[16:])
	offtout(newSize, b[24:])
	return append(b, rest...)
}

// craftTriples builds a well-formed patch whose control block holds the
// given triples, with zero diff bytes and zero extra bytes as needed.
func craftTriples(t testing.TB, newSize int64, triples [][3]int64) []byte {
	var ctrl []byte
	var diffN, extraN int64
	for _, tr := range triples {
		var b [24]byte
		offtout(tr[0], b[0:])
		offtout(tr[1], b[8:])
		offtout(tr[2], b[16:])
		ctrl = append(ctrl, b[:]...)
		if tr[0] > 0 && tr[0] < 1<<20 {
			diffN += tr[0]
		}
		if tr[1] > 0 && tr[1] < 1<<20 {
			extraN += tr[1]
		}
	}
	c := bz(t, ctrl)
	d := bz(t, make([]byte, diffN))
	e := bz(t, make([]byte, extraN))
	return craft(int64(len(c)), int64(len(d)), newSize, append(append(c, d...), e...))
}

func TestHostilePatches(t *testing.T) {
	old := testutil.TextBytes(7, 1000)
	good, err := Diff(old, append(old[:500:500], []byte("tail")...))
	require.NoError(t, err)
	cases := map[string]struct {
		patch []byte
		max   int64
		want  error
	}{
		"empty":          {nil, 100, ErrCorrupt},
		"short":          {[]byte("BSDIFF40"), 100, ErrCorrupt},
		"bad-magic":      {append([]byte("BSDIFF41"), good[8:]...), 1000, ErrCorrupt},
		"negative-ctrl":  {craft(-5, 0, 10, nil), 100, ErrCorrupt},
		"negative-diff":  {craft(0, -5, 10, nil), 100, ErrCorrupt},
		"negative-new":   {craft(0, 0, -10, nil), 100, ErrCorrupt},
		"huge-new":       {craft(0, 0, 1<<62, nil), 1 << 20, ErrTooLarge},
		"ctrl-past-end":  {craft(1000, 0, 10, []byte("x")), 100, ErrCorrupt},
		"not-bzip2":      {craft(3, 3, 10, []byte("abcdefghi")), 100, ErrCorrupt},
		"truncated":      {good[:len(good)-5], 1000, ErrCorrupt},
		"neg-x":          {craftTriples(t, 10, [][3]int64{{-1, 0, 0}}), 100, ErrCorrupt},
		"neg-y":          {craftTriples(t, 10, [][3]int64{{0, -4, 0}}), 100, ErrCorrupt},
		"x-past-new":     {craftTriples(t, 10, [][3]int64{{11, 0, 0}}), 100, ErrCorrupt},
		"y-past-new":     {craftTriples(t, 10, [][3]int64{{5, 6, 0}}), 100, ErrCorrupt},
		"huge-x":         {craftTriples(t, 10, [][3]int64{{1 << 62, 0, 0}}), 100, ErrCorrupt},
		"huge-seek":      {craftTriples(t, 10, [][3]int64{{1, 0, 1 << 62}, {1, 0, 1 << 62}}), 100, ErrCorrupt},
		"empty-triples":  {craftTriples(t, 10, make([][3]int64, 2000)), 100, ErrCorrupt},
		"ctrl-ends":      {craftTriples(t, 10, [][3]int64{{2, 2, 0}}), 100, ErrCorrupt},
		"min-int-offset": {craftTriples(t, 10, [][3]int64{{0, 0, -(1 << 63) + 1}}), 100, ErrCorrupt},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := Patch(old, bytes.NewReader(c.patch), c.max)
			require.Error(t, err)
			require.ErrorIs(t, err, c.want)
			require.Nil(t, out)
		})
	}
}

func TestNegativeSeekReadsZeros(t *testing.T) {
	// A seek before the start of the old file is legal in BSDIFF40; bytes
	// outside the old file count as zero.
	p := craftTriples(t, 4, [][3]int64{{0, 0, -2}, {4, 0, 0}})
	out, err := Patch([]byte{1, 2, 3, 4}, bytes.NewReader(p), 4)
	require.NoError(t, err)
	require.Equal(t, []byte{0, 0, 1, 2}, out)
}

func TestInteropC(t *testing.T) {
	bsdiffC := testutil.RequireTool(t, "bsdiff")
	bspatchC := testutil.RequireTool(t, "bspatch")
	dir := t.TempDir()
	old, new := pair(11, 200000)
	old = append(old, testutil.RandomBytes(12, 50000)...)
	new = append(new, testutil.RandomBytes(12, 50000)...)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return p
	}
	oldP, newP := write("old", old), write("new", new)

	t.Run("ours-with-bspatch", func(t *testing.T) {
		p, err := Diff(old, new)
		require.NoError(t, err)
		patchP := write("ours.patch", p)
		outP := filepath.Join(dir, "out-c")
		testutil.MustRun(t, dir, nil, bspatchC, oldP, outP, patchP)
		got, err := os.ReadFile(outP)
		require.NoError(t, err)
		require.True(t, bytes.Equal(new, got))
	})
	t.Run("bsdiff-with-ours", func(t *testing.T) {
		patchP := filepath.Join(dir, "c.patch")
		testutil.MustRun(t, dir, nil, bsdiffC, oldP, newP, patchP)
		p, err := os.ReadFile(patchP)
		require.NoError(t, err)
		got, err := Patch(old, bytes.NewReader(p), int64(len(new)))
		require.NoError(t, err)
		require.True(t, bytes.Equal(new, got))
	})
}

// FuzzPatch fuzzes Patch end to end. The patch arrives as its parts, the
// new size and the three bzip2 blocks, which the harness puts behind a
// header giving their lengths: each part is a few dozen bytes that Go's
// minimiser handles quickly, where a whole patch it cannot shrink (any
// cut breaks a bzip2 CRC) made it try every subrange for a whole run. The
// header's own checks have FuzzReadHeader, the control decoding without
// bzip2 FuzzControl.
func FuzzPatch(f *testing.F) {
	quietGC()
	old := testutil.TextBytes(3, 2000)
	add := func(p []byte) {
		h, err := ReadHeader(p, 1<<62)
		if err != nil {
			f.Fatal(err)
		}
		c, d := HeaderSize+h.CtrlLen, HeaderSize+h.CtrlLen+h.DiffLen
		f.Add(h.NewSize, p[HeaderSize:c], p[c:d], p[d:])
	}
	good, err := Diff(old[:300], append(bytes.Clone(old[20:250]), "new tail"...))
	if err != nil {
		f.Fatal(err)
	}
	add(good)
	add(craftTriples(f, 10, [][3]int64{{11, 0, 0}}))
	add(craftTriples(f, 10, [][3]int64{{0, 0, -3}, {10, 0, 0}}))
	add(craftTriples(f, 12, [][3]int64{{4, 4, 100}, {0, 4, -200}}))
	e := bz(f, nil)
	f.Add(int64(0), e, e, e)
	f.Add(int64(-1), e, e, []byte("BZh91AY&SY"))
	f.Fuzz(func(t *testing.T, newSize int64, ctrl, diff, extra []byte) {
		patch := craft(int64(len(ctrl)), int64(len(diff)), newSize, append(append(bytes.Clone(ctrl), diff...), extra...))
		out, err := Patch(old, bytes.NewReader(patch), 1<<16)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if int64(len(out)) != newSize || newSize > 1<<16 {
			t.Fatalf("output of %d bytes for a new size of %d (limit %d)", len(out), newSize, 1<<16)
		}
	})
}

func BenchmarkPatch(b *testing.B) {
	old := append(testutil.TextBytes(21, 2<<20), testutil.RandomBytes(22, 2<<20)...)
	new := append([]byte(nil), old...)
	for i := 0; i < len(new); i += 4096 {
		new[i]++
	}
	p, err := Diff(old, new)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(new)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := PatchBytes(old, p, int64(len(new))); err != nil {
			b.Fatal(err)
		}
	}
}
