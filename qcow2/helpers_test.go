package qcow2_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/qcow2"
	"github.com/stretchr/testify/require"
)

// mixed returns n bytes of disk-like content: text, random and zero
// stretches, deterministic from seed.
func mixed(seed uint64, n int) []byte { return testutil.DiskBytes(seed, n, 300<<10) }

// toQcow2 converts raw bytes with Write.
func toQcow2(t testing.TB, raw []byte, o *qcow2.Options) ([]byte, *qcow2.Result) {
	t.Helper()
	var out bytes.Buffer
	res, err := qcow2.Write(context.Background(), &out, bytes.NewReader(raw), int64(len(raw)), o)
	require.NoError(t, err)
	require.Equal(t, int64(out.Len()), res.Size)
	return out.Bytes(), res
}

// readAll opens a qcow2 image and returns its guest disk.
func readAll(t testing.TB, q []byte) []byte {
	t.Helper()
	im, err := qcow2.Open(bytes.NewReader(q), int64(len(q)))
	require.NoError(t, err)
	got := make([]byte, im.Size())
	n, err := im.ReadAt(got, 0)
	if err != io.EOF {
		require.NoError(t, err)
	}
	require.Equal(t, len(got), n)
	return got
}

// padded is raw rounded up to a multiple of 512 with zeros.
func padded(raw []byte) []byte {
	return append(bytes.Clone(raw), make([]byte, (512-len(raw)%512)%512)...)
}
