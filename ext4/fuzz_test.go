package ext4_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/ext4"
)

func FuzzProbe(f *testing.F) {
	m := newMem(ext4.MinSize)
	_, err := ext4.Format(f.Context(), m, ext4.MinSize, testOpts())
	require.NoError(f, err)
	f.Add(bytes.Clone(m.b[:4096]))
	f.Add(make([]byte, 2048))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ext4.Probe(bytes.NewReader(b))
		if err != nil {
			return
		}
		require.Greater(t, info.Size, int64(0))
		require.Contains(t, []int{1024, 2048, 4096, 8192, 16384, 32768, 65536}, info.BlockSize)
		require.LessOrEqual(t, len(info.Label), 16)
	})
}

// patched reads base with data laid over it at off, without copying base.
type patched struct {
	base []byte
	off  int64
	data []byte
}

func (p *patched) ReadAt(b []byte, off int64) (int, error) {
	if off >= int64(len(p.base)) {
		return 0, io.EOF
	}
	n := copy(b, p.base[off:])
	// Overlay the part of data inside [off, off+n).
	lo, hi := max(off, p.off), min(off+int64(n), p.off+int64(len(p.data)))
	if lo < hi {
		copy(b[lo-off:hi-off], p.data[lo-p.off:hi-p.off])
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

var fuzzImage = sync.OnceValues(func() ([]byte, []ext4.Region) {
	m := newMem(ext4.MinSize)
	if _, err := ext4.Format(context.Background(), m, ext4.MinSize, testOpts()); err != nil {
		panic(err)
	}
	rs, err := ext4.Regions(ext4.MinSize, testOpts())
	if err != nil {
		panic(err)
	}
	return m.b, rs
})

// FuzzVerify lays fuzzed bytes over a formatted image: Verify must accept
// it exactly when no checked byte changed.
func FuzzVerify(f *testing.F) {
	f.Add(uint32(1024), []byte{0xEF})
	f.Add(uint32(4096), []byte{1, 2, 3})
	f.Add(uint32(9<<20), []byte{0})
	f.Fuzz(func(t *testing.T, off uint32, data []byte) {
		base, regions := fuzzImage()
		o := int64(off) % int64(len(base))
		if len(data) > 1<<16 {
			data = data[:1<<16]
		}
		r := &patched{base: base, off: o, data: data}
		_, err := ext4.Verify(t.Context(), r, ext4.MinSize, testOpts())
		changed := false
		for _, rg := range regions {
			lo, hi := max(o, rg.Off), min(o+int64(len(data)), rg.Off+rg.Len, int64(len(base)))
			if lo < hi && !bytes.Equal(base[lo:hi], data[lo-o:hi-o]) {
				changed = true
			}
		}
		if changed {
			require.True(t, errors.Is(err, ext4.ErrMismatch), "a checked byte changed: %v", err)
		} else {
			require.NoError(t, err)
		}
	})
}
