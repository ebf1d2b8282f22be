package vhdx_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/vhdx"
	"github.com/stretchr/testify/require"
)

func TestWorkersByteIdentical(t *testing.T) {
	raw := rawBytes(40*mib, []island{{0, mixed(1, 3*mib)}, {20*mib + 77, testutil.RandomBytes(2, 100000)}, {40*mib - 512, testutil.TextBytes(3, 512)}})
	var first []byte
	for _, w := range []int{1, 2, 8} {
		out, res := toVHDX(t, raw, &vhdx.Options{Workers: w, BlockSize: 4 * mib})
		require.Equal(t, int64(3), res.PresentBlocks, "workers %d", w)
		if first == nil {
			first = out
			continue
		}
		require.True(t, bytes.Equal(first, out), "workers %d differ from workers 1", w)
	}
}

func TestBuildTwice(t *testing.T) {
	raw := mixed(5, 9*mib+512)
	a, ra := toVHDX(t, raw, nil)
	b, rb := toVHDX(t, raw, nil)
	require.Equal(t, a, b)
	require.Equal(t, ra, rb)
	sum := sha256.Sum256(a)
	require.Equal(t, sum[:], []byte(ra.SHA256))
	c, rc := toVHDX(t, raw, &vhdx.Options{NoDigest: true})
	require.Equal(t, a, c)
	require.Nil(t, rc.SHA256)

	// Different content, different IDs; ContentID overrides the fingerprint.
	raw2 := bytes.Clone(raw)
	raw2[100] ^= 1
	_, r2 := toVHDX(t, raw2, nil)
	require.NotEqual(t, ra.VirtualDiskID, r2.VirtualDiskID)
	_, c1 := toVHDX(t, raw, &vhdx.Options{ContentID: "x"})
	_, c2 := toVHDX(t, raw2, &vhdx.Options{ContentID: "x"})
	require.Equal(t, c1.VirtualDiskID, c2.VirtualDiskID)
	require.NotEqual(t, c1.VirtualDiskID, ra.VirtualDiskID)
}

// A sparse file (holes skipped) and the same bytes in memory give the same
// VHDX.
func TestSparseFileMatchesBytes(t *testing.T) {
	size := int64(70 * mib)
	islands := []island{{5 * mib, mixed(7, 2*mib)}, {65*mib + 3, testutil.RandomBytes(8, 4096)}}
	p := makeRaw(t, t.TempDir(), size, islands)
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	var out bytes.Buffer
	res, err := vhdx.Write(t.Context(), &out, f, size, nil)
	require.NoError(t, err)
	want, wres := toVHDX(t, rawBytes(size, islands), nil)
	require.Equal(t, want, out.Bytes())
	require.Equal(t, wres, res)
	require.Equal(t, int64(2), res.PresentBlocks)
	require.Equal(t, int64(1), res.ZeroBlocks)
}

func TestWriteErrors(t *testing.T) {
	r := bytes.NewReader(make([]byte, mib))
	for _, tc := range []struct {
		name string
		size int64
		o    *vhdx.Options
		want error
	}{
		{"zero size", 0, nil, vhdx.ErrInvalid},
		{"too large", vhdx.MaxVirtualSize + 1, nil, vhdx.ErrTooLarge},
		{"block size", mib, &vhdx.Options{BlockSize: 3 * mib}, vhdx.ErrInvalid},
		{"block size small", mib, &vhdx.Options{BlockSize: 512 << 10}, vhdx.ErrInvalid},
		{"block size big", mib, &vhdx.Options{BlockSize: 512 * mib}, vhdx.ErrInvalid},
		{"sector", mib, &vhdx.Options{LogicalSectorSize: 1024}, vhdx.ErrInvalid},
		{"workers", mib, &vhdx.Options{Workers: -1}, vhdx.ErrInvalid},
		{"short input", 2 * mib, nil, vhdx.ErrShortInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := vhdx.Write(t.Context(), io.Discard, r, tc.size, tc.o)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestWriteCancel(t *testing.T) {
	raw := mixed(9, 8*mib)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := vhdx.Write(ctx, io.Discard, bytes.NewReader(raw), int64(len(raw)), nil)
	require.ErrorIs(t, err, context.Canceled)

	// Cancelled from the progress hook in the middle of the write.
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	_, err = vhdx.Write(ctx, io.Discard, bytes.NewReader(raw), int64(len(raw)), &vhdx.Options{BlockSize: mib,
		Progress: func(e vhdx.Event) {
			if e.Stage == "write" && e.Done >= 2*mib {
				cancel()
			}
		}})
	require.ErrorIs(t, err, context.Canceled)
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n < len(p) {
		return 0, errors.New("disk full")
	}
	f.n -= len(p)
	return len(p), nil
}

func TestWriteFailingWriter(t *testing.T) {
	raw := mixed(10, 3*mib)
	_, err := vhdx.Write(t.Context(), &failWriter{n: 4 * mib}, bytes.NewReader(raw), int64(len(raw)), nil)
	require.ErrorContains(t, err, "disk full")
}

func TestProgress(t *testing.T) {
	raw := mixed(11, 5*mib)
	var evs []vhdx.Event
	_, res := toVHDX(t, raw, &vhdx.Options{BlockSize: mib, FileName: "d.vhdx", Progress: func(e vhdx.Event) { evs = append(evs, e) }})
	require.NotEmpty(t, evs)
	last := evs[len(evs)-1]
	require.Equal(t, vhdx.Event{Stage: "write", File: "d.vhdx", Done: res.VirtualSize, Total: res.VirtualSize, Written: res.Size}, last)
	require.Equal(t, "scan", evs[0].Stage)
}

// Written to a regular file, the all-zero chunks of present blocks become
// holes; the bytes are the same as on any other writer, also when the file
// already had content there, is written from an offset, or is opened for
// appending.
func TestFileOutputHoles(t *testing.T) {
	raw := rawBytes(40*mib, []island{{0, mixed(12, 3*mib)}, {39 * mib, testutil.RandomBytes(13, 4096)}})
	want, res := toVHDX(t, raw, &vhdx.Options{BlockSize: 8 * mib})
	dir := t.TempDir()
	prefix := []byte("some bytes before the image")
	for _, tc := range []struct {
		name   string
		flag   int
		before []byte // file content before the write
		seek   int64
	}{
		{"new", os.O_RDWR | os.O_CREATE | os.O_TRUNC, nil, 0},
		{"old content", os.O_RDWR, bytes.Repeat([]byte{0xee}, 30*mib), 0},
		{"offset", os.O_RDWR, prefix, int64(len(prefix))},
		{"append", os.O_RDWR | os.O_APPEND, prefix, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testutil.WriteFile(t, dir, tc.name, tc.before)
			f, err := os.OpenFile(p, tc.flag, 0o644)
			require.NoError(t, err)
			_, err = f.Seek(tc.seek, io.SeekStart)
			require.NoError(t, err)
			got, err := vhdx.Write(t.Context(), f, bytes.NewReader(raw), int64(len(raw)), &vhdx.Options{BlockSize: 8 * mib})
			require.NoError(t, err)
			require.NoError(t, f.Close())
			require.Equal(t, res, got)
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			off := 0
			if tc.seek > 0 || tc.flag&os.O_APPEND != 0 {
				require.Equal(t, prefix, b[:len(prefix)])
				off = len(prefix)
			}
			require.GreaterOrEqual(t, len(b), off+len(want))
			require.True(t, bytes.Equal(want, b[off:off+len(want)]), "output differs")
		})
	}
}
