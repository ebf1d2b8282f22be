package support

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/sign"
)

var testNow = func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

// supportKey is one generated vendor support key per process.
var supportKey = sync.OnceValue(func() *sign.OpenPGPSigner {
	k, err := sign.GenerateOpenPGP("Vendor Support", "support@example.com", sign.PurposeSupport, nil)
	if err != nil {
		panic(err)
	}
	return k
})

// writePlain writes a plain bundle and returns its bytes and index.
func writePlain(t testing.TB, o *Options) ([]byte, *Index) {
	t.Helper()
	oo := *o
	oo.Plain = true
	if oo.Now == nil {
		oo.Now = testNow
	}
	var buf bytes.Buffer
	idx, err := Write(context.Background(), &buf, &oo)
	require.NoError(t, err)
	return buf.Bytes(), idx
}

// decompress returns the tar stream inside a plain bundle.
func decompress(t testing.TB, b []byte) []byte {
	t.Helper()
	var r io.Reader
	if bytes.HasPrefix(b, gzipMagic) {
		gz, err := gzip.NewReader(bytes.NewReader(b))
		require.NoError(t, err)
		r = gz
	} else {
		d, err := zstd.NewReader(bytes.NewReader(b))
		require.NoError(t, err)
		defer d.Close()
		r = d
	}
	out, err := io.ReadAll(r)
	require.NoError(t, err)
	return out
}
