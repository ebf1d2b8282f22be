package support

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzOpen feeds plain bundles (seeded with Write's output, zstd and gzip)
// to Open under a small cap: it must return a bundle consistent with its
// index or one of the typed errors, never panic.
func FuzzOpen(f *testing.F) {
	srcs := []Source{
		Bytes("a.log", []byte("one\ntwo password=x\n")),
		Bytes("dir/b.json", []byte(`{"token":"t"}`)),
		Bytes("empty", nil),
	}
	for _, comp := range []string{CompressionZstd, CompressionGzip} {
		b, _ := writePlain(f, &Options{Sources: srcs, Compression: comp})
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add(zstdMagic)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Open(context.Background(), bytes.NewReader(data), nil, &OpenOptions{Plain: true, MaxSize: 1 << 20})
		if err != nil {
			require.True(t, typedOpenError(err), "untyped error: %v", err)
			return
		}
		names := b.Files()
		require.Len(t, names, len(b.Index.Files))
		for i, n := range names {
			require.Equal(t, b.Index.Files[i].Path, n)
			d, err := b.ReadFile(n)
			require.NoError(t, err)
			require.Equal(t, b.Index.Files[i].Size, int64(len(d)))
		}
	})
}
