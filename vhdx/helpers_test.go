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
func mixed(seed uint64, n int) []byte { return testutil.DiskBytes(seed, n, 100<<10) }

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
