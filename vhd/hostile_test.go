package vhd_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/vhd"
)

// fixSum recomputes the checksum of the structure of n bytes at off whose
// checksum field is at off+at.
func fixSum(b []byte, off, n, at int) {
	binary.BigEndian.PutUint32(b[off+at:], 0)
	var s uint32
	for _, c := range b[off : off+n] {
		s += uint32(c)
	}
	binary.BigEndian.PutUint32(b[off+at:], ^s)
}

// editFooters changes both footers of a dynamic image (and re-checksums).
func editFooters(b []byte, f func(ft []byte)) {
	for _, off := range []int{0, len(b) - 512} {
		f(b[off : off+512])
		fixSum(b, off, 512, 64)
	}
}

func editHeader(b []byte, f func(h []byte)) {
	f(b[512:1536])
	fixSum(b, 512, 1024, 36)
}

func TestHostile(t *testing.T) {
	raw := image(5<<20, "mixed")
	dyn, _ := write(t, raw, &vhd.Options{Type: vhd.TypeDynamic})
	fixed, _ := write(t, raw, nil)
	be := binary.BigEndian
	cases := []struct {
		name string
		img  []byte
		edit func(b []byte) []byte
		want error
	}{
		{"empty", nil, func(b []byte) []byte { return nil }, vhd.ErrTruncated},
		{"short", fixed, func(b []byte) []byte { return b[:300] }, vhd.ErrTruncated},
		{"no cookie", fixed, func(b []byte) []byte { b[len(b)-512] = 'x'; return b }, vhd.ErrMalformed},
		{"footer checksum", fixed, func(b []byte) []byte { b[len(b)-512+30]++; return b }, vhd.ErrChecksum},
		{"fixed cut", fixed, func(b []byte) []byte { return b[1<<20:] }, vhd.ErrTruncated},
		{"huge size", fixed, func(b []byte) []byte {
			editFooters(b, func(f []byte) { be.PutUint64(f[48:], 1<<62) })
			return b
		}, vhd.ErrTooLarge},
		{"odd size", fixed, func(b []byte) []byte {
			editFooters(b, func(f []byte) { be.PutUint64(f[48:], 1000) })
			return b
		}, vhd.ErrMalformed},
		{"differencing", dyn, func(b []byte) []byte {
			editFooters(b, func(f []byte) { be.PutUint32(f[60:], 4) })
			return b
		}, vhd.ErrUnsupported},
		{"type 9", dyn, func(b []byte) []byte {
			editFooters(b, func(f []byte) { be.PutUint32(f[60:], 9) })
			return b
		}, vhd.ErrMalformed},
		{"header beyond file", dyn, func(b []byte) []byte {
			editFooters(b, func(f []byte) { be.PutUint64(f[16:], 1<<40) })
			return b
		}, vhd.ErrTruncated},
		{"header checksum", dyn, func(b []byte) []byte { b[600]++; return b }, vhd.ErrChecksum},
		{"block size 3", dyn, func(b []byte) []byte {
			editHeader(b, func(h []byte) { be.PutUint32(h[32:], 3) })
			return b
		}, vhd.ErrMalformed},
		{"block size 1 GiB", dyn, func(b []byte) []byte {
			editHeader(b, func(h []byte) { be.PutUint32(h[32:], 1<<30) })
			return b
		}, vhd.ErrMalformed},
		{"too few entries", dyn, func(b []byte) []byte {
			editHeader(b, func(h []byte) { be.PutUint32(h[28:], 1) })
			return b
		}, vhd.ErrMalformed},
		{"4G entries", dyn, func(b []byte) []byte {
			editHeader(b, func(h []byte) { be.PutUint32(h[28:], 0xFFFFFFFF) })
			return b
		}, vhd.ErrTooLarge},
		{"table beyond file", dyn, func(b []byte) []byte {
			editHeader(b, func(h []byte) { be.PutUint64(h[16:], uint64(len(b))) })
			return b
		}, vhd.ErrTruncated},
		{"table misaligned", dyn, func(b []byte) []byte {
			editHeader(b, func(h []byte) { be.PutUint64(h[16:], 1537) })
			return b
		}, vhd.ErrMalformed},
		{"entry beyond file", dyn, func(b []byte) []byte { be.PutUint32(b[1536:], 0x7FFFFFFF); return b }, vhd.ErrMalformed},
		{"entry into footer", dyn, func(b []byte) []byte { be.PutUint32(b[1536:], uint32(len(b)/512-2)); return b }, vhd.ErrMalformed},
		{"entry at 0", dyn, func(b []byte) []byte { be.PutUint32(b[1536:], 0); return b }, vhd.ErrMalformed},
		// A 2000 GiB disk whose 4 MB table would run over the blocks of
		// this 6 MiB file: the table is read (it lies inside the file, so
		// its size is bounded by the input) and its garbage entries refused.
		{"2 TB sparse claim", dyn, func(b []byte) []byte {
			editFooters(b, func(f []byte) { be.PutUint64(f[48:], 2000<<30) })
			editHeader(b, func(h []byte) { be.PutUint32(h[28:], 1000<<10) })
			return b
		}, vhd.ErrMalformed},
		{"2 TB claim, small file", dyn[:8192], func(b []byte) []byte {
			editFooters(b, func(f []byte) { be.PutUint64(f[48:], 2000<<30) })
			editHeader(b, func(h []byte) { be.PutUint32(h[28:], 1000<<10) })
			return b
		}, vhd.ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := c.edit(bytes.Clone(c.img))
			_, err := vhd.Open(bytes.NewReader(img), int64(len(img)))
			require.Error(t, err)
			assert.ErrorIs(t, err, c.want)
			var fe *vhd.FormatError
			assert.True(t, errors.As(err, &fe), "typed: %v", err)
			_, err = vhd.Inspect(t.Context(), bytes.NewReader(img), int64(len(img)))
			assert.ErrorIs(t, err, c.want)
		})
	}
}

// A dynamic disk whose last sector is lost still opens from the copy at
// offset 0, and Inspect says the footer is missing.
func TestDynamicFooterCopy(t *testing.T) {
	raw := image(5<<20, "mixed")
	dyn, _ := write(t, raw, &vhd.Options{Type: vhd.TypeDynamic})
	cut := dyn[:len(dyn)-512]
	require.Equal(t, raw, readAll(t, cut))
	rep, err := vhd.Inspect(t.Context(), bytes.NewReader(cut), int64(len(cut)))
	require.NoError(t, err)
	assert.Equal(t, "footer.missing", rep.Findings[0].Rule)
}

// Inspect reports overlapping blocks and a wrong geometry without failing.
func TestInspectFindings(t *testing.T) {
	raw := image(5<<20, "full")
	dyn, _ := write(t, raw, &vhd.Options{Type: vhd.TypeDynamic})
	b := bytes.Clone(dyn)
	copy(b[1540:1544], b[1536:1540]) // block 1 = block 0
	editFooters(b, func(f []byte) { f[58] = 7 })
	rep, err := vhd.Inspect(t.Context(), bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	var rules []string
	for _, f := range rep.Findings {
		rules = append(rules, f.Rule)
	}
	assert.Contains(t, rules, "bat.overlap")
	assert.Contains(t, rules, "footer.geometry")
}
