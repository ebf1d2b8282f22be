package vhdx_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/fogkit/fogkit/vhdx"
	"github.com/stretchr/testify/require"
)

func TestTinyImageReads(t *testing.T) {
	img := tinyDefault()
	d, err := vhdx.Open(img, img.size)
	require.NoError(t, err)
	got := make([]byte, d.Size())
	_, err = d.ReadAt(got, 0)
	require.NoError(t, err)
	require.Equal(t, tinyDisk(), got)
	rep, err := vhdx.Inspect(t.Context(), img, img.size)
	require.NoError(t, err)
	require.True(t, rep.OK(), "%v", rep.Findings)
	require.Equal(t, int64(2), rep.PresentBlocks)
}

// edit changes one of the parts of the tiny image.
type edit func(hdr, rt, mdt, items, bat []byte)

func TestHostile(t *testing.T) {
	cases := []struct {
		name   string
		edit   edit
		size   int64
		badCRC bool
		want   error
	}{
		{"short file", nil, 1<<20 - 1, false, vhdx.ErrTruncated},
		{"bad CRC", nil, tinySize, true, vhdx.ErrChecksum},
		{"bad header signature", func(h, _, _, _, _ []byte) { h[0] = 'x' }, tinySize, false, vhdx.ErrMalformed},
		{"header version", func(h, _, _, _, _ []byte) { le.PutUint16(h[66:], 2) }, tinySize, false, vhdx.ErrUnsupported},
		{"log to replay", func(h, _, _, _, _ []byte) { h[48] = 1 }, tinySize, false, vhdx.ErrUnsupported},
		{"log misaligned", func(h, _, _, _, _ []byte) { le.PutUint64(h[72:], 4096) }, tinySize, false, vhdx.ErrMalformed},
		{"region entries huge", func(_, rt, _, _, _ []byte) { le.PutUint32(rt[8:], 0xffffffff) }, tinySize, false, vhdx.ErrMalformed},
		{"region table signature", func(_, rt, _, _, _ []byte) { rt[0] = 'R' }, tinySize, false, vhdx.ErrMalformed},
		{"no BAT region", func(_, rt, _, _, _ []byte) { le.PutUint32(rt[8:], 1); copy(rt[16:], rt[48:80]) }, tinySize, false, vhdx.ErrMalformed},
		{"two BAT regions", func(_, rt, _, _, _ []byte) { copy(rt[48:64], gBAT) }, tinySize, false, vhdx.ErrMalformed},
		{"unknown required region", func(_, rt, _, _, _ []byte) { rt[48] ^= 0xff }, tinySize, false, vhdx.ErrUnsupported},
		{"region overlaps log", func(_, rt, _, _, _ []byte) { le.PutUint64(rt[32:], 1<<20) }, tinySize, false, vhdx.ErrMalformed},
		{"regions overlap", func(_, rt, _, _, _ []byte) { le.PutUint64(rt[32:], tinyMeta) }, tinySize, false, vhdx.ErrMalformed},
		{"region in header section", func(_, rt, _, _, _ []byte) { le.PutUint64(rt[32:], 0) }, tinySize, false, vhdx.ErrMalformed},
		{"region misaligned", func(_, rt, _, _, _ []byte) { le.PutUint64(rt[32:], tinyBAT+512) }, tinySize, false, vhdx.ErrMalformed},
		{"region past end", func(_, rt, _, _, _ []byte) { le.PutUint32(rt[40:], 1<<30) }, tinySize, false, vhdx.ErrTruncated},
		{"region offset huge", func(_, rt, _, _, _ []byte) { le.PutUint64(rt[32:], 1<<63) }, tinySize, false, vhdx.ErrMalformed},
		{"metadata signature", func(_, _, m, _, _ []byte) { m[0] = 'M' }, tinySize, false, vhdx.ErrMalformed},
		{"metadata entries huge", func(_, _, m, _, _ []byte) { le.PutUint16(m[10:], 0xffff) }, tinySize, false, vhdx.ErrMalformed},
		{"metadata item outside", func(_, _, m, _, _ []byte) { le.PutUint32(m[32+16:], 1<<20-4) }, tinySize, false, vhdx.ErrMalformed},
		{"metadata item in table", func(_, _, m, _, _ []byte) { le.PutUint32(m[32+16:], 100) }, tinySize, false, vhdx.ErrMalformed},
		{"metadata item missing", func(_, _, m, _, _ []byte) { le.PutUint16(m[10:], 4) }, tinySize, false, vhdx.ErrMalformed},
		{"metadata item twice", func(_, _, m, _, _ []byte) { copy(m[64:80], m[32:48]) }, tinySize, false, vhdx.ErrMalformed},
		{"metadata item length", func(_, _, m, _, _ []byte) { le.PutUint32(m[32+20:], 4) }, tinySize, false, vhdx.ErrMalformed},
		{"unknown required item", func(_, _, m, _, _ []byte) { m[32] ^= 0xff }, tinySize, false, vhdx.ErrUnsupported},
		{"differencing", func(_, _, _, it, _ []byte) { it[4] = 2 }, tinySize, false, vhdx.ErrUnsupported},
		{"block size", func(_, _, _, it, _ []byte) { le.PutUint32(it[0:], 3<<20) }, tinySize, false, vhdx.ErrMalformed},
		{"sector size", func(_, _, _, it, _ []byte) { le.PutUint32(it[32:], 1000) }, tinySize, false, vhdx.ErrMalformed},
		{"virtual size zero", func(_, _, _, it, _ []byte) { le.PutUint64(it[8:], 0) }, tinySize, false, vhdx.ErrMalformed},
		{"virtual size odd", func(_, _, _, it, _ []byte) { le.PutUint64(it[8:], 1000) }, tinySize, false, vhdx.ErrMalformed},
		{"virtual size huge", func(_, _, _, it, _ []byte) { le.PutUint64(it[8:], 1<<62) }, tinySize, false, vhdx.ErrTooLarge},
		{"BAT does not fit its region", func(_, _, _, it, _ []byte) { le.PutUint64(it[8:], 1<<40) }, tinySize, false, vhdx.ErrMalformed},
		{"BAT offset beyond file", func(_, _, _, _, b []byte) { le.PutUint64(b[16:], 1<<40|6) }, tinySize, false, vhdx.ErrTruncated},
		{"BAT offset in header", func(_, _, _, _, b []byte) { le.PutUint64(b[16:], 6) }, tinySize, false, vhdx.ErrMalformed},
		{"BAT partially present", func(_, _, _, _, b []byte) { b[8] = 7 }, tinySize, false, vhdx.ErrMalformed},
		{"BAT unknown state", func(_, _, _, _, b []byte) { b[8] = 5 }, tinySize, false, vhdx.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hdr, rt, mdt, items, bat := tinyParts()
			if tc.edit != nil {
				tc.edit(hdr, rt, mdt, items, bat)
			}
			img := tinyImage(hdr, rt, mdt, items, bat, tc.size, tc.badCRC)
			_, err := vhdx.Open(img, img.size)
			require.ErrorIs(t, err, tc.want)
			var fe *vhdx.FormatError
			require.True(t, errors.As(err, &fe), "%v is not a *FormatError", err)
			rep, err := vhdx.Inspect(t.Context(), img, img.size)
			require.NoError(t, err)
			require.False(t, rep.OK())
			require.Nil(t, rep.Info)
			require.NotEmpty(t, rep.Findings)
			require.Contains(t, rep.Findings, vhdx.Finding{Offset: fe.Offset, Rule: fe.Field, Detail: fe.Error()})
		})
	}
}

// A region table that claims a BAT of hundreds of MiB in a (sparse) file
// that holds it is refused by the cap before anything is allocated.
func TestHugeBATBounded(t *testing.T) {
	hdr, rt, mdt, items, bat := tinyParts()
	le.PutUint32(rt[40:], 1<<31-1<<20) // a 2 GiB - 1 MiB BAT region
	le.PutUint64(items[8:], 60<<40)    // 60 TiB of 1 MiB blocks: 480 MiB of BAT
	img := tinyImage(hdr, rt, mdt, items, bat, 8<<30, false)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := vhdx.Open(img, img.size)
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, vhdx.ErrTooLarge)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(4<<20))
}

// One bad header or region table copy: the other one serves, Inspect
// reports the bad one.
func TestOneBadCopy(t *testing.T) {
	img := tinyDefault()
	img.segs[2].data = bytes.Clone(img.segs[2].data) // header 2 (sequence 2)
	img.segs[2].data[100] ^= 1
	img.segs[4].data = bytes.Clone(img.segs[4].data) // region table 2
	img.segs[4].data[5] ^= 1
	d, err := vhdx.Open(img, img.size)
	require.NoError(t, err)
	require.Equal(t, 1, d.Info().HeaderIndex)
	rep, err := vhdx.Inspect(t.Context(), img, img.size)
	require.NoError(t, err)
	require.NotNil(t, rep.Info)
	require.Len(t, rep.Findings, 2)
}

func TestInspectOverlaps(t *testing.T) {
	hdr, rt, mdt, items, bat := tinyParts()
	le.PutUint64(bat[16:], 4<<20|6)  // block 2 on block 0
	le.PutUint64(bat[8:], tinyBAT|6) // block 1 on the BAT
	img := tinyImage(hdr, rt, mdt, items, bat, tinySize, false)
	_, err := vhdx.Open(img, img.size)
	require.NoError(t, err)
	rep, err := vhdx.Inspect(t.Context(), img, img.size)
	require.NoError(t, err)
	require.Len(t, rep.Findings, 2, "%v", rep.Findings)
	require.Equal(t, int64(3), rep.PresentBlocks)
}

// A present block whose file data ends early reads as an error, not as
// zeros... unless the file merely ends inside the block, as qemu leaves it.
func TestReadTruncatedBlock(t *testing.T) {
	img := tinyDefault()
	img.size = 5<<20 + 8 // block 2 has 8 bytes in the file
	d, err := vhdx.Open(img, img.size)
	require.NoError(t, err)
	got := make([]byte, 32)
	_, err = d.ReadAt(got, 2<<20)
	require.NoError(t, err)
	require.Equal(t, append([]byte("block tw"), make([]byte, 24)...), got)
	_, err = d.ReadAt(got, -1)
	require.ErrorIs(t, err, vhdx.ErrInvalid)
	_, err = d.ReadAt(got, d.Size())
	require.ErrorIs(t, err, io.EOF)
}

func TestInspectCancel(t *testing.T) {
	img := tinyDefault()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := vhdx.Inspect(ctx, img, img.size)
	require.ErrorIs(t, err, context.Canceled)
}
