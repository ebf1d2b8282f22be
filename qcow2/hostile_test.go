package qcow2_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/fogkit/fogkit/qcow2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// small returns a tiny image (512-byte clusters) for mutation: 12 KiB of
// guest disk, some of it zero.
func small(t testing.TB, comp string) []byte { return smallBits(t, comp, 9) }

func smallBits(t testing.TB, comp string, bits int) []byte {
	raw := mixed(21, 12<<10)
	clear(raw[4096:6144])
	q, _ := toQcow2(t, raw, &qcow2.Options{ClusterBits: bits, Compression: comp})
	return q
}

func put32(off int, v uint32) func([]byte) []byte {
	return func(b []byte) []byte { binary.BigEndian.PutUint32(b[off:], v); return b }
}

func put64(off int, v uint64) func([]byte) []byte {
	return func(b []byte) []byte { binary.BigEndian.PutUint64(b[off:], v); return b }
}

func TestHostileHeaders(t *testing.T) {
	cases := []struct {
		name string
		mut  func([]byte) []byte
		want error
	}{
		{"bad magic", put32(0, 0x514649fa), qcow2.ErrMalformed},
		{"version 1", put32(4, 1), qcow2.ErrUnsupported},
		{"version 4", put32(4, 4), qcow2.ErrUnsupported},
		{"backing file", put64(8, 512), qcow2.ErrUnsupported},
		{"cluster bits 8", put32(20, 8), qcow2.ErrMalformed},
		{"cluster bits 40", put32(20, 40), qcow2.ErrMalformed},
		{"size 2^63", put64(24, 1<<63), qcow2.ErrTooLarge},
		{"size beyond L1", put64(24, 1<<40), qcow2.ErrMalformed},
		{"encrypted", put32(32, 2), qcow2.ErrUnsupported},
		{"l1 size 2^32-1", put32(36, 0xffffffff), qcow2.ErrTooLarge},
		{"l1 size 0", put32(36, 0), qcow2.ErrMalformed},
		{"l1 size past file", put32(36, 1<<20), qcow2.ErrTruncated},
		{"l1 offset unaligned", put64(40, 1000), qcow2.ErrMalformed},
		{"l1 offset past file", put64(40, 1<<40), qcow2.ErrTruncated},
		{"refcount table 0", put64(48, 0), qcow2.ErrMalformed},
		{"refcount table past file", put64(48, 1<<40), qcow2.ErrTruncated},
		{"refcount clusters huge", put32(56, 0xffffffff), qcow2.ErrTooLarge},
		{"refcount clusters past file", put32(56, 1000), qcow2.ErrTruncated},
		{"corrupt bit", put64(72, 2), qcow2.ErrMalformed},
		{"external data", put64(72, 4), qcow2.ErrUnsupported},
		{"extended L2", put64(72, 16), qcow2.ErrUnsupported},
		{"unknown incompatible", put64(72, 1<<40), qcow2.ErrUnsupported},
		{"refcount order 7", put32(96, 7), qcow2.ErrMalformed},
		{"header length 100", put32(100, 100), qcow2.ErrMalformed},
		{"header length past cluster", put32(100, 1<<20), qcow2.ErrMalformed},
		{"zstd without bit", func(b []byte) []byte { b[104] = 1; return b }, qcow2.ErrMalformed},
		{"compression type 2", func(b []byte) []byte { b[104] = 2; b[79] |= 8; return b }, qcow2.ErrUnsupported},
		{"truncated header", func(b []byte) []byte { return b[:60] }, qcow2.ErrTruncated},
		{"truncated v3 header", func(b []byte) []byte { return b[:90] }, qcow2.ErrTruncated},
		{"truncated file", func(b []byte) []byte { return b[:1024] }, qcow2.ErrTruncated},
		{"L1 entry past file", func(b []byte) []byte {
			l1 := binary.BigEndian.Uint64(b[40:])
			binary.BigEndian.PutUint64(b[l1:], 1<<63|1<<40)
			return b
		}, qcow2.ErrTruncated},
		{"L1 reserved bits", func(b []byte) []byte {
			l1 := binary.BigEndian.Uint64(b[40:])
			b[l1+7] |= 1
			return b
		}, qcow2.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.mut(small(t, ""))
			_, err := qcow2.Open(bytes.NewReader(b), int64(len(b)))
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.want)
			var fe *qcow2.FormatError
			assert.True(t, errors.As(err, &fe), "%v is not a *FormatError", err)
			_, err = qcow2.Inspect(t.Context(), bytes.NewReader(b), int64(len(b)))
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

// firstL2 returns the file offset of the first L2 table.
func firstL2(b []byte) int64 {
	l1 := binary.BigEndian.Uint64(b[40:])
	return int64(binary.BigEndian.Uint64(b[l1:]) & 0x00fffffffffffe00)
}

func TestHostileEntries(t *testing.T) {
	cases := []struct {
		name string
		comp string
		mut  func([]byte) []byte
		want error
		rule string
	}{
		{"reserved bits", "", func(b []byte) []byte { b[firstL2(b)+7] |= 2; return b }, qcow2.ErrMalformed, "l2.entry"},
		{"unaligned data", "", func(b []byte) []byte {
			binary.BigEndian.PutUint64(b[firstL2(b):], 1<<63|0x10200+0x100)
			return b
		}, qcow2.ErrMalformed, "l2.entry"},
		{"data past file", "", func(b []byte) []byte {
			binary.BigEndian.PutUint64(b[firstL2(b):], 1<<63|1<<40)
			return b
		}, qcow2.ErrTruncated, "bounds"},
		{"compressed garbage", "zlib", func(b []byte) []byte {
			e := binary.BigEndian.Uint64(b[firstL2(b):])
			off := e & (1<<popShift(9) - 1)
			for i := range 16 {
				b[int(off)+i] ^= 0xa5
			}
			return b
		}, qcow2.ErrMalformed, ""},
		{"compressed past file", "zlib", func(b []byte) []byte {
			binary.BigEndian.PutUint64(b[firstL2(b):], 1<<62|(1<<popShift(9)-512))
			return b
		}, qcow2.ErrTruncated, "bounds"},
		{"zstd garbage", "zstd", func(b []byte) []byte {
			e := binary.BigEndian.Uint64(b[firstL2(b):])
			off := e & (1<<popShift(9) - 1)
			for i := range 8 {
				b[int(off)+i] ^= 0xa5
			}
			return b
		}, qcow2.ErrMalformed, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.mut(small(t, tc.comp))
			im, err := qcow2.Open(bytes.NewReader(b), int64(len(b)))
			require.NoError(t, err)
			buf := make([]byte, im.Size())
			_, err = im.ReadAt(buf, 0)
			assert.ErrorIs(t, err, tc.want)
			assert.False(t, errors.Is(err, io.EOF))
			rep, err := qcow2.Inspect(t.Context(), bytes.NewReader(b), int64(len(b)))
			require.NoError(t, err)
			if tc.rule != "" {
				require.NotEmpty(t, rep.Findings)
				assert.Equal(t, tc.rule, rep.Findings[0].Rule)
			}
		})
	}
}

// popShift is the bit where a compressed entry's sector count starts.
func popShift(bits int) int { return 62 - (bits - 8) }

func TestInspectFindsRefcountErrors(t *testing.T) {
	b := small(t, "")
	rt := binary.BigEndian.Uint64(b[48:])
	blk := binary.BigEndian.Uint64(b[rt:])
	binary.BigEndian.PutUint16(b[blk:], 2) // header cluster counted twice
	n := len(b) / 512
	binary.BigEndian.PutUint16(b[blk+uint64(n)*2:], 1) // a leak past the end
	rep, err := qcow2.Inspect(t.Context(), bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	require.NotEmpty(t, rep.Findings)
	assert.Equal(t, "refcount", rep.Findings[0].Rule)
	assert.Equal(t, int64(0), rep.Findings[0].Offset)

	// Two L2 entries pointing at one data cluster overlap.
	b = small(t, "")
	l2 := firstL2(b)
	copy(b[l2+8:l2+16], b[l2:l2+8])
	rep, err = qcow2.Inspect(t.Context(), bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	rules := map[string]bool{}
	for _, f := range rep.Findings {
		rules[f.Rule] = true
	}
	assert.True(t, rules["overlap"], "%v", rep.Findings)
	assert.True(t, rules["refcount"], "%v", rep.Findings)
}

func TestUnalignedL1Entry(t *testing.T) {
	b := smallBits(t, "", 12)
	l1 := binary.BigEndian.Uint64(b[40:])
	binary.BigEndian.PutUint64(b[l1:], 1<<63|0x1200)
	_, err := qcow2.Open(bytes.NewReader(b), int64(len(b)))
	assert.ErrorIs(t, err, qcow2.ErrMalformed)
}

func TestInspectFindsCopiedFlags(t *testing.T) {
	b := small(t, "")
	b[firstL2(b)] &^= 0x80 // COPIED cleared on a cluster with one reference
	rep, err := qcow2.Inspect(t.Context(), bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	require.Len(t, rep.Findings, 1)
	assert.Equal(t, "l2.copied", rep.Findings[0].Rule)

	b = small(t, "zlib")
	b[firstL2(b)] |= 0x80 // COPIED on a compressed cluster
	rep, err = qcow2.Inspect(t.Context(), bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	require.Len(t, rep.Findings, 1)
	assert.Equal(t, "l2.copied", rep.Findings[0].Rule)
}
