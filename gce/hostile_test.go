package gce_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/gce"
)

func gunzip(t *testing.T, b []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	require.NoError(t, err)
	out, err := io.ReadAll(zr)
	require.NoError(t, err)
	return out
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// resum rewrites the checksum of the header at h.
func resum(h []byte) {
	copy(h[148:156], "        ")
	var s int64
	for _, c := range h[:512] {
		s += int64(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", s))
}

// Damaged archives fail with ErrMalformed, never panic, never expand.
func TestCheckHostile(t *testing.T) {
	raw := make([]byte, 12<<20)
	for i := range 6 {
		raw[i*(2<<20)+100] = byte(i + 1)
	}
	good, res := write(t, raw, nil)
	require.Equal(t, 6, res.Regions)
	plain := gunzip(t, good)
	require.Equal(t, byte(1), plain[482]) // one extension block
	cases := map[string]func(b []byte) []byte{
		"header checksum": func(b []byte) []byte { b[10] = 'x'; return b },
		"map out of order": func(b []byte) []byte {
			copy(b[386+24:386+36], b[386:398]) // second entry's offset = first's
			copy(b[386:398], "00000777777\x00")
			resum(b)
			return b
		},
		"map beyond file": func(b []byte) []byte {
			copy(b[512+12:512+24], "77777777777\x00") // a huge length in the extension
			return b
		},
		"map sum":           func(b []byte) []byte { copy(b[124:136], "00000000001\x00"); resum(b); return b },
		"extension missing": func(b []byte) []byte { return b[:512] },
		"data truncated":    func(b []byte) []byte { return b[:2048] },
		"no end blocks": func(b []byte) []byte {
			n := 1024 + (6*64<<10+511)/512*512
			return b[:n]
		},
		"lone zero block": func(b []byte) []byte {
			n := 1024 + (6*64<<10+511)/512*512
			c := append(bytes.Clone(b[:n]), make([]byte, 512)...)
			return append(c, b[:512]...)
		},
		"base-256 negative": func(b []byte) []byte { b[124] = 0xff; resum(b); return b },
		"huge size": func(b []byte) []byte {
			b[124] = 0x80
			for i := 125; i < 136; i++ {
				b[i] = 0x7f
			}
			resum(b)
			return b
		},
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			rep, err := gce.Check(t.Context(), bytes.NewReader(gz(edit(bytes.Clone(plain)))))
			assert.ErrorIs(t, err, gce.ErrMalformed)
			assert.NotNil(t, rep)
		})
	}
	// A flipped byte in the gzip body or its trailer.
	bad := bytes.Clone(good)
	bad[len(bad)-6] ^= 1
	_, err := gce.Check(t.Context(), bytes.NewReader(bad))
	assert.ErrorIs(t, err, gce.ErrMalformed)
}

// Check stops on cancellation inside a long member.
func TestCheckCancel(t *testing.T) {
	tgz, _ := write(t, image(3<<20, "full"), nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := gce.Check(ctx, bytes.NewReader(tgz))
	assert.ErrorIs(t, err, context.Canceled)
}
