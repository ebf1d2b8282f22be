package vhdx_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/vhdx"
	"github.com/stretchr/testify/require"
)

const mib = 1 << 20

// island is data placed into a sparse raw image.
type island struct {
	off  int64
	data []byte
}

// mixed returns n bytes of disk-like content: text, random and zero
// stretches, deterministic from seed.
func mixed(seed uint64, n int) []byte {
	b := make([]byte, n)
	for off, i := 0, 0; off < n; i++ {
		l := min(n-off, 40<<10+int(seed+uint64(i)*7919)%(100<<10))
		switch i % 4 {
		case 0:
			copy(b[off:], testutil.TextBytes(seed+uint64(i), l))
		case 1:
			copy(b[off:], testutil.RandomBytes(seed+uint64(i), l))
		case 2: // zeros
		case 3:
			copy(b[off:], testutil.TextBytes(seed+uint64(i), l/3))
		}
		off += l
	}
	return b
}

// rawBytes returns a size-byte image with the islands in place.
func rawBytes(size int64, islands []island) []byte {
	b := make([]byte, size)
	for _, is := range islands {
		copy(b[is.off:], is.data)
	}
	return b
}

// makeRaw writes a sparse raw image file.
func makeRaw(t testing.TB, dir string, size int64, islands []island) string {
	t.Helper()
	p := filepath.Join(dir, "in.raw")
	f, err := os.Create(p)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(size))
	for _, is := range islands {
		_, err := f.WriteAt(is.data, is.off)
		require.NoError(t, err)
	}
	require.NoError(t, f.Close())
	return p
}

// toVHDX converts raw bytes with Write.
func toVHDX(t testing.TB, raw []byte, opts *vhdx.Options) ([]byte, *vhdx.Result) {
	t.Helper()
	var out bytes.Buffer
	res, err := vhdx.Write(context.Background(), &out, bytes.NewReader(raw), int64(len(raw)), opts)
	require.NoError(t, err)
	require.Equal(t, int64(out.Len()), res.Size)
	return out.Bytes(), res
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}
