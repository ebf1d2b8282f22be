package qcow2_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/qcow2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var compressions = []string{qcow2.CompressionNone, qcow2.CompressionZlib, qcow2.CompressionZstd}

func sizes() map[string][]byte {
	return map[string][]byte{
		"one byte":          {7},
		"3 clusters + 1":    mixed(3, 3<<16+1),
		"1 MiB + 512":       mixed(4, 1<<20+512),
		"all zero":          make([]byte, 2<<20),
		"full random":       testutil.RandomBytes(5, 1<<20),
		"text then zeros":   append(testutil.TextBytes(6, 100000), make([]byte, 300000)...),
		"mixed 5 MiB + 100": mixed(7, 5<<20+100),
	}
}

func TestRoundTrip(t *testing.T) {
	for name, raw := range sizes() {
		for _, comp := range compressions {
			t.Run(name+"/"+comp, func(t *testing.T) {
				q, res := toQcow2(t, raw, &qcow2.Options{Compression: comp})
				assert.Equal(t, padded(raw), readAll(t, q))
				sum := sha256.Sum256(q)
				assert.Equal(t, sum[:], []byte(res.SHA256))
				rep, err := qcow2.Inspect(t.Context(), bytes.NewReader(q), int64(len(q)))
				require.NoError(t, err)
				assert.Empty(t, rep.Findings)
				// WriteStream gives the same bytes.
				var s bytes.Buffer
				res2, err := qcow2.WriteStream(t.Context(), &s, bytes.NewReader(raw), int64(len(raw)), &qcow2.Options{Compression: comp})
				require.NoError(t, err)
				assert.Equal(t, res, res2)
				assert.True(t, bytes.Equal(q, s.Bytes()), "WriteStream differs from Write")
			})
		}
	}
}

func TestClusterSizes(t *testing.T) {
	raw := mixed(8, 3<<20+4096)
	for _, bits := range []int{9, 12, 16, 21} {
		for _, comp := range compressions {
			q, res := toQcow2(t, raw, &qcow2.Options{ClusterBits: bits, Compression: comp})
			assert.Equal(t, int64(1)<<bits, res.ClusterSize)
			assert.Equal(t, padded(raw), readAll(t, q), "bits %d %s", bits, comp)
			rep, err := qcow2.Inspect(t.Context(), bytes.NewReader(q), int64(len(q)))
			require.NoError(t, err)
			assert.Empty(t, rep.Findings, "bits %d %s", bits, comp)
		}
	}
}

func TestWorkersIdentical(t *testing.T) {
	raw := mixed(9, 9<<20+333)
	for _, comp := range compressions {
		ref, _ := toQcow2(t, raw, &qcow2.Options{Compression: comp, Workers: 1})
		for _, w := range []int{2, 8} {
			got, _ := toQcow2(t, raw, &qcow2.Options{Compression: comp, Workers: w})
			assert.True(t, bytes.Equal(ref, got), "%s: %d workers differ from 1", comp, w)
		}
	}
}

func TestBuildTwice(t *testing.T) {
	raw := mixed(10, 4<<20)
	for _, comp := range compressions {
		a, _ := toQcow2(t, raw, &qcow2.Options{Compression: comp})
		b, _ := toQcow2(t, bytes.Clone(raw), &qcow2.Options{Compression: comp})
		assert.True(t, bytes.Equal(a, b), comp)
	}
}

func TestCompressionShrinks(t *testing.T) {
	raw := mixed(11, 4<<20)
	plain, _ := toQcow2(t, raw, nil)
	z, res := toQcow2(t, raw, &qcow2.Options{Compression: qcow2.CompressionZlib})
	assert.Less(t, len(z), len(plain))
	assert.Positive(t, res.CompressedClusters)
	assert.Positive(t, res.ZeroClusters)
}

func TestInvalidOptions(t *testing.T) {
	for _, o := range []qcow2.Options{{ClusterBits: 8}, {ClusterBits: 22}, {Compression: "lz4"}, {Level: 9}, {Workers: -1}} {
		_, err := qcow2.Write(t.Context(), &bytes.Buffer{}, bytes.NewReader(nil), 512, &o)
		assert.ErrorIs(t, err, qcow2.ErrInvalid, "%+v", o)
	}
	_, err := qcow2.Write(t.Context(), &bytes.Buffer{}, bytes.NewReader(nil), 0, nil)
	assert.ErrorIs(t, err, qcow2.ErrInvalid)
	_, err = qcow2.Write(t.Context(), &bytes.Buffer{}, bytes.NewReader(nil), qcow2.MaxSize+1, nil)
	assert.ErrorIs(t, err, qcow2.ErrTooLarge)
}

func TestShortInput(t *testing.T) {
	raw := mixed(12, 1<<20)
	for _, comp := range compressions {
		_, err := qcow2.Write(t.Context(), &bytes.Buffer{}, bytes.NewReader(raw), 2<<20, &qcow2.Options{Compression: comp})
		assert.ErrorIs(t, err, qcow2.ErrShortInput)
		_, err = qcow2.WriteStream(t.Context(), &bytes.Buffer{}, bytes.NewReader(raw), 2<<20, &qcow2.Options{Compression: comp})
		assert.ErrorIs(t, err, qcow2.ErrShortInput)
	}
}

// A file shorter than size fails like a short reader, though its missing
// end would read as a hole.
func TestShortFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "short.raw")
	require.NoError(t, os.WriteFile(p, mixed(73, 1<<20), 0o600))
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	for _, comp := range compressions {
		_, err := qcow2.Write(t.Context(), &bytes.Buffer{}, f, 2<<20, &qcow2.Options{Compression: comp})
		assert.ErrorIs(t, err, qcow2.ErrShortInput, comp)
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := qcow2.Write(ctx, &bytes.Buffer{}, bytes.NewReader(make([]byte, 4<<20)), 4<<20, nil)
	assert.True(t, errors.Is(err, context.Canceled), "%v", err)
}

func TestProgress(t *testing.T) {
	raw := mixed(13, 3<<20)
	var last map[string]qcow2.Event = map[string]qcow2.Event{}
	_, err := qcow2.Write(t.Context(), &bytes.Buffer{}, bytes.NewReader(raw), int64(len(raw)),
		&qcow2.Options{Progress: func(e qcow2.Event) { last[e.Stage] = e }})
	require.NoError(t, err)
	assert.Equal(t, int64(len(raw)), last["scan"].Done)
	assert.Equal(t, int64(len(raw)), last["write"].Total)
	assert.Equal(t, last["write"].Total, last["write"].Done)
}

// A sparse file (holes skipped with SEEK_DATA/SEEK_HOLE) and the same
// bytes in memory give identical images.
func TestSparseFileSameAsMemory(t *testing.T) {
	size := int64(40<<20 + 777)
	p := filepath.Join(t.TempDir(), "sparse.raw")
	f, err := os.Create(p)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(size))
	mem := make([]byte, size)
	for i, off := range []int64{0, 5<<20 + 100, 17 << 20, size - 3000} {
		d := mixed(uint64(30+i), 1<<20)[:min(1<<20, int(size-off))]
		_, err := f.WriteAt(d, off)
		require.NoError(t, err)
		copy(mem[off:], d)
	}
	for _, comp := range compressions {
		var a bytes.Buffer
		_, err := qcow2.Write(t.Context(), &a, f, size, &qcow2.Options{Compression: comp})
		require.NoError(t, err)
		b, _ := toQcow2(t, mem, &qcow2.Options{Compression: comp})
		assert.True(t, bytes.Equal(a.Bytes(), b), comp)
	}
	require.NoError(t, f.Close())
}

type failingWriter struct{ n, limit int }

var errDiskFull = errors.New("disk full")

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n+len(p) > f.limit {
		return 0, errDiskFull
	}
	f.n += len(p)
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	raw := mixed(70, 8<<20)
	for _, comp := range compressions {
		for _, limit := range []int{0, 100 << 10, 3 << 20} {
			_, err := qcow2.Write(t.Context(), &failingWriter{limit: limit}, bytes.NewReader(raw), int64(len(raw)), &qcow2.Options{Compression: comp})
			assert.ErrorIs(t, err, errDiskFull, "%s limit %d", comp, limit)
		}
	}
}

// A dense file whose clusters hold data only after leading zeros, or only
// zeros, is scanned in full where the first 4 KiB are zero: the image is
// the same as from memory, for every cluster size and an odd tail.
func TestDenseFileLeadingZeros(t *testing.T) {
	size := 3<<20 + 1234
	mem := make([]byte, size)
	for off := 0; off < size; off += 64 << 10 {
		switch (off >> 16) % 4 {
		case 0: // data at the start
			copy(mem[off:], testutil.RandomBytes(uint64(off), 100))
		case 1: // data only near the end of a 64 KiB cluster
			copy(mem[off+(60<<10):min(size, off+(64<<10))], testutil.TextBytes(uint64(off), 3000))
		case 2: // data just past the first 4 KiB
			copy(mem[min(size, off+4096):], testutil.RandomBytes(uint64(off), 1))
		case 3: // written zeros
		}
	}
	mem[size-1] = 9
	p := filepath.Join(t.TempDir(), "dense.raw")
	require.NoError(t, os.WriteFile(p, mem, 0o600))
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	for _, bits := range []int{9, 12, 16, 21} {
		var a bytes.Buffer
		res, err := qcow2.Write(t.Context(), &a, f, int64(size), &qcow2.Options{ClusterBits: bits})
		require.NoError(t, err)
		b, want := toQcow2(t, mem, &qcow2.Options{ClusterBits: bits})
		assert.True(t, bytes.Equal(a.Bytes(), b), "bits %d", bits)
		assert.Equal(t, want, res)
		assert.Equal(t, padded(mem), readAll(t, a.Bytes()))
	}
}

// A stored cluster that reads as zeros in the second pass fails the write.
func TestInputChangedBetweenPasses(t *testing.T) {
	raw := mixed(71, 2<<20)
	_, err := qcow2.Write(t.Context(), &bytes.Buffer{}, bytes.NewReader(raw), int64(len(raw)), &qcow2.Options{
		Progress: func(e qcow2.Event) {
			if e.Stage == "scan" && e.Done == e.Total {
				clear(raw)
			}
		}})
	assert.ErrorIs(t, err, qcow2.ErrShortInput)
}

// NoDigest leaves Result.SHA256 nil and changes nothing else.
func TestNoDigest(t *testing.T) {
	raw := mixed(72, 3<<20+5)
	for _, comp := range compressions {
		want, wres := toQcow2(t, raw, &qcow2.Options{Compression: comp})
		got, res := toQcow2(t, raw, &qcow2.Options{Compression: comp, NoDigest: true})
		assert.True(t, bytes.Equal(want, got), comp)
		assert.Nil(t, res.SHA256, comp)
		res.SHA256 = wres.SHA256
		assert.Equal(t, wres, res, comp)
		var s bytes.Buffer
		sres, err := qcow2.WriteStream(t.Context(), &s, bytes.NewReader(raw), int64(len(raw)), &qcow2.Options{Compression: comp, NoDigest: true})
		require.NoError(t, err)
		assert.Nil(t, sres.SHA256, comp)
		assert.True(t, bytes.Equal(want, s.Bytes()), comp)
	}
}
