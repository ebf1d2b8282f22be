package vmdk_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/fogkit/fogkit/vmdk"
	"github.com/stretchr/testify/require"
)

var sentinels = []error{vmdk.ErrBadMagic, vmdk.ErrTruncated, vmdk.ErrCorrupt, vmdk.ErrUnsupported, vmdk.ErrTooLarge}

func isTyped(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// readDisk opens and reads up to limit bytes of the raw disk, returning the
// first error.
func readDisk(v []byte, limit int64) error {
	d, err := vmdk.Open(bytes.NewReader(v), int64(len(v)))
	if err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for off := int64(0); off < min(d.Size(), limit); off += int64(len(buf)) {
		if _, err := d.ReadAt(buf, off); err != nil && err != io.EOF {
			return err
		}
	}
	return nil
}

func sample(t *testing.T) ([]byte, []byte) {
	raw := mixed(12, 1<<20+3*64<<10)
	v, _ := toVMDK(t, raw, &vmdk.Options{Level: 1})
	return raw, v
}

func TestTruncated(t *testing.T) {
	_, v := sample(t)
	for _, n := range []int{0, 3, 100, 511, 512, 600, 21 * 512, 128 * 512, 128*512 + 20, len(v) / 2, len(v) - 1536, len(v) - 512, len(v) - 1} {
		cut := v[:n]
		err := readDisk(cut, 1<<30)
		require.ErrorIs(t, err, vmdk.ErrTruncated, "cut at %d", n)
		rep, err := vmdk.Inspect(context.Background(), bytes.NewReader(cut), nil)
		require.ErrorIs(t, err, vmdk.ErrTruncated, "inspect cut at %d", n)
		require.NotNil(t, rep)
	}
}

func TestBitFlips(t *testing.T) {
	raw, v := sample(t)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 150; i++ {
		c := bytes.Clone(v)
		var pos int
		switch i % 3 {
		case 0:
			pos = r.IntN(512) // header
		case 1:
			pos = len(v) - 1 - r.IntN(4*512) // tail
		default:
			pos = r.IntN(len(v))
		}
		c[pos] ^= 1 << r.IntN(8)
		err := readDisk(c, 4<<20)
		if err != nil {
			require.True(t, isTyped(err), "flip at %d: untyped error %v", pos, err)
		}
		rep, err := vmdk.Inspect(context.Background(), bytes.NewReader(c), nil)
		if err != nil {
			require.True(t, isTyped(err), "inspect flip at %d: untyped error %v", pos, err)
		}
		require.NotNil(t, rep)
	}

	// A flipped bit inside grain data is always caught: by the reader
	// (zlib checksum) and by Inspect.
	c := bytes.Clone(v)
	c[128*512+200] ^= 0x10
	err := readDisk(c, 1<<30)
	require.ErrorIs(t, err, vmdk.ErrCorrupt)
	rep, err := vmdk.Inspect(context.Background(), bytes.NewReader(c), nil)
	require.NoError(t, err)
	require.False(t, rep.OK())
	require.Equal(t, "grain.zlib", rep.Findings[0].Rule)
	_ = raw
}

func TestHostileHeaders(t *testing.T) {
	_, v := sample(t)
	le := binary.LittleEndian
	set := func(off int, val uint64, width int) []byte {
		c := bytes.Clone(v)
		switch width {
		case 2:
			le.PutUint16(c[off:], uint16(val))
		case 4:
			le.PutUint32(c[off:], uint32(val))
		default:
			le.PutUint64(c[off:], val)
		}
		return c
	}
	footer := len(v) - 1024
	cases := []struct {
		name string
		v    []byte
		want error
	}{
		{"magic", append([]byte("KDMW"), v[4:]...), vmdk.ErrBadMagic},
		{"version", set(4, 9, 4), vmdk.ErrUnsupported},
		{"uncompressed", set(8, 1, 4), vmdk.ErrUnsupported},
		{"algorithm", set(77, 2, 2), vmdk.ErrUnsupported},
		{"grainSize", set(20, 100, 8), vmdk.ErrCorrupt},
		{"huge capacity", set(12, 1<<62, 8), vmdk.ErrTooLarge},
		{"footer capacity", set(footer+12, 1<<62, 8), vmdk.ErrCorrupt},
		{"gd offset beyond file", set(footer+56, 1<<40, 8), vmdk.ErrCorrupt},
		{"gd offset zero", set(footer+56, 0, 8), vmdk.ErrCorrupt},
		{"descriptor size", set(36, 1<<40, 8), vmdk.ErrCorrupt},
		{"grain size field", set(128*512+8, 0xffffffff, 4), vmdk.ErrCorrupt},
		{"grain lba", set(128*512, 999, 8), vmdk.ErrCorrupt},
		{"footer marker", set(len(v)-1536, 2, 8), vmdk.ErrTruncated},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := readDisk(tc.v, 1<<30)
			require.ErrorIs(t, err, tc.want)
			var fe *vmdk.FormatError
			require.ErrorAs(t, err, &fe)
			rep, err := vmdk.Inspect(context.Background(), bytes.NewReader(tc.v), nil)
			require.NotNil(t, rep)
			if err != nil {
				require.True(t, isTyped(err), "%v", err)
			} else {
				require.False(t, rep.OK())
			}
		})
	}
}

// TestInspectFindings breaks single rules and checks Inspect names them.
func TestInspectFindings(t *testing.T) {
	_, v := sample(t)
	le := binary.LittleEndian
	cases := []struct {
		rule string
		mod  func(c []byte) []byte
	}{
		{"header.version", func(c []byte) []byte { le.PutUint32(c[4:], 1); return c }},
		{"header.gdOffset", func(c []byte) []byte { le.PutUint64(c[56:], le.Uint64(c[len(c)-1024+56:])); return c }},
		{"descriptor.cid", func(c []byte) []byte { copy(c[512+bytes.Index(c[512:], []byte("CID="))+4:], "ffffffff"); return c }},
		{"descriptor.createType", func(c []byte) []byte {
			i := bytes.Index(c, []byte("streamOptimized"))
			copy(c[i:], "monolithicSparse")
			return c
		}},
		{"tail.layout", func(c []byte) []byte {
			return append(c[:len(c)-512:len(c)-512], append(make([]byte, 512), c[len(c)-512:]...)...)
		}},
		{"eos.trailing", func(c []byte) []byte { return append(c, make([]byte, 512)...) }},
		{"gd.entry", func(c []byte) []byte {
			gd := int(le.Uint64(c[len(c)-1024+56:])) * 512
			le.PutUint32(c[gd:], 7)
			return c
		}},
		{"footer.gdOffset", func(c []byte) []byte { le.PutUint64(c[len(c)-1024+56:], 5); return c }},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			c := tc.mod(bytes.Clone(v))
			rep, err := vmdk.Inspect(context.Background(), bytes.NewReader(c), nil)
			require.NoError(t, err)
			var rules []string
			for _, f := range rep.Findings {
				rules = append(rules, f.Rule)
			}
			require.Contains(t, rules, tc.rule)
		})
	}

	// A raw-deflate grain (the mistake FORMATS.md warns about) and an
	// all-zero grain, built by hand.
	raw := make([]byte, 1<<20)
	raw[70000] = 1
	good, _ := toVMDK(t, raw, nil)
	c := bytes.Clone(good)
	c[128*512+12] = 0x00 // not a zlib header
	rep, err := vmdk.Inspect(context.Background(), bytes.NewReader(c), nil)
	require.NoError(t, err)
	require.Equal(t, "grain.zlib", rep.Findings[0].Rule)
}

func TestInspectCancel(t *testing.T) {
	_, v := sample(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := vmdk.Inspect(ctx, bytes.NewReader(v), nil)
	require.ErrorIs(t, err, context.Canceled)
}

func TestInspectHugeOffsets(t *testing.T) {
	_, v := sample(t)
	for _, off := range []int{28, 36, 64} { // descriptorOffset, descriptorSize, overHead
		for _, val := range []uint64{1<<64 - 10, 1 << 63, 1 << 40, 0} {
			c := bytes.Clone(v)
			binary.LittleEndian.PutUint64(c[off:], val)
			rep, err := vmdk.Inspect(context.Background(), bytes.NewReader(c), nil)
			require.NotNil(t, rep)
			if err != nil {
				require.True(t, isTyped(err), "field %d = %d: %v", off, val, err)
			} else {
				require.False(t, rep.OK())
			}
		}
	}
}
