package vhd_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/vhd"
)

// image returns a deterministic raw disk of size bytes: kind "zero",
// "full" (random everywhere) or "mixed" (random runs among zero blocks,
// some blocks with a single non-zero byte at their end).
func image(size int64, kind string) []byte {
	b := make([]byte, size)
	r := rand.New(rand.NewPCG(uint64(size), 7))
	switch kind {
	case "full":
		for i := range b {
			b[i] = byte(r.Uint32())
		}
	case "mixed":
		for off := int64(0); off < size; off += 1 << 20 {
			switch (off >> 20) % 5 {
			case 0, 3:
				end := min(size, off+1<<20)
				for i := off; i < end; i += 4096 {
					b[i] = byte(r.Uint32()) | 1
					b[min(end-1, i+4095)] = 0x5a
				}
			case 4:
				b[min(size, off+1<<20)-1] = 1
			}
		}
	}
	return b
}

func write(t testing.TB, raw []byte, o *vhd.Options) ([]byte, *vhd.Result) {
	t.Helper()
	var buf bytes.Buffer
	res, err := vhd.Write(t.Context(), &buf, bytes.NewReader(raw), int64(len(raw)), o)
	require.NoError(t, err)
	require.Equal(t, int64(buf.Len()), res.Size)
	return buf.Bytes(), res
}

// readAll opens a VHD and returns its virtual disk.
func readAll(t *testing.T, img []byte) []byte {
	t.Helper()
	d, err := vhd.Open(bytes.NewReader(img), int64(len(img)))
	require.NoError(t, err)
	out := make([]byte, d.Size())
	n, err := d.ReadAt(out, 0)
	require.Equal(t, len(out), n, "%v", err)
	return out
}

// padded is raw followed by zeros up to n bytes.
func padded(raw []byte, n int64) []byte {
	return append(bytes.Clone(raw), make([]byte, n-int64(len(raw)))...)
}
