package delta

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// genPair makes a deterministic old/new pair of a named shape.
func genPair(shape string, size int, seed uint64) (old, nw []byte) {
	r := rand.New(rand.NewPCG(seed, 1))
	rnd := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			// Text-like bytes so compression matters too.
			b[i] = byte('a' + r.IntN(20))
			if r.IntN(50) == 0 {
				b[i] = byte(r.Uint32())
			}
		}
		return b
	}
	old = rnd(size)
	switch shape {
	case "identical":
		nw = bytes.Clone(old)
	case "insertions":
		for i := 0; i < len(old); {
			k := min(r.IntN(4000)+1, len(old)-i)
			nw = append(nw, old[i:i+k]...)
			nw = append(nw, rnd(r.IntN(64))...)
			i += k
		}
	case "deletions":
		for i := 0; i < len(old); {
			k := min(r.IntN(4000)+1, len(old)-i)
			nw = append(nw, old[i:i+k]...)
			i += k + r.IntN(200)
		}
	case "moved":
		const blk = 3001
		var blocks [][]byte
		for i := 0; i < len(old); i += blk {
			blocks = append(blocks, old[i:min(i+blk, len(old))])
		}
		r.Shuffle(len(blocks), func(i, j int) { blocks[i], blocks[j] = blocks[j], blocks[i] })
		nw = bytes.Join(blocks, nil)
	case "edits":
		// Scattered byte changes, like relocated addresses in a binary.
		nw = bytes.Clone(old)
		for i := 0; i < len(nw); i += r.IntN(40) + 1 {
			nw[i] ^= byte(r.IntN(4) + 1)
		}
	case "allnew":
		nw = rnd(size)
	case "emptyold":
		old, nw = nil, rnd(size)
	case "emptynew":
		nw = nil
	case "bothempty":
		old, nw = nil, nil
	case "odd":
		old = old[:len(old)/3*2+1]
		nw = append(bytes.Clone(old[min(5, len(old)):]), rnd(13)...)
	default:
		panic(shape)
	}
	return old, nw
}

var shapes = []string{"identical", "insertions", "deletions", "moved", "edits", "allnew", "emptyold", "emptynew", "bothempty", "odd"}

func diffBytes(t testing.TB, old, nw []byte, o *Options) []byte {
	var buf bytes.Buffer
	require.NoError(t, Diff(t.Context(), &buf, bytes.NewReader(old), int64(len(old)), bytes.NewReader(nw), int64(len(nw)), o))
	return buf.Bytes()
}

func applyBytes(t testing.TB, old, patch []byte) ([]byte, error) {
	var out bytes.Buffer
	n, err := Apply(t.Context(), &out, bytes.NewReader(old), int64(len(old)), bytes.NewReader(patch), nil)
	if err == nil && n != int64(out.Len()) {
		t.Fatalf("Apply reported %d bytes, wrote %d", n, out.Len())
	}
	return out.Bytes(), err
}

func TestRoundTrip(t *testing.T) {
	for _, shape := range shapes {
		for _, size := range []int{1, 100, 70_000, SegmentSize + 12345} {
			if size > 1<<20 && testing.Short() {
				continue
			}
			old, nw := genPair(shape, size, uint64(size))
			patch := diffBytes(t, old, nw, nil)
			got, err := applyBytes(t, old, patch)
			require.NoError(t, err, "%s/%d", shape, size)
			require.True(t, bytes.Equal(nw, got), "%s/%d: output differs", shape, size)
			t.Logf("%-10s %8d -> %8d: patch %d bytes", shape, len(old), len(nw), len(patch))
		}
	}
}

func TestDeterministicAcrossWorkers(t *testing.T) {
	for _, tc := range []struct {
		shape string
		level Level
	}{
		{"insertions", LevelFast},
		{"edits", LevelDefault}, // sparse diff streams: the bzip2 path
	} {
		old, nw := genPair(tc.shape, 3*SegmentSize+999, 7)
		var first []byte
		for _, w := range []int{1, 2, 4, 7} {
			p := diffBytes(t, old, nw, &Options{Workers: w, Level: tc.level})
			if first == nil {
				first = p
				continue
			}
			require.True(t, bytes.Equal(first, p), "%s: workers=%d gives a different patch", tc.shape, w)
		}
		got, err := applyBytes(t, old, first)
		require.NoError(t, err)
		require.True(t, bytes.Equal(nw, got))
	}
}
