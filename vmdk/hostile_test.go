package vmdk_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
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
		rep, err := vmdk.Verify(context.Background(), bytes.NewReader(cut), nil)
		require.ErrorIs(t, err, vmdk.ErrTruncated, "inspect cut at %d", n)
		require.NotNil(t, rep)
	}
}

// Byte classes of a streamOptimized file for TestBitFlips.
type flipClass int

const (
	// mayPass: bytes the format ignores. A flip there may go unnoticed,
	// but if Open accepts the file the disk must still read back exactly.
	//   - the descriptor sectors (1–20): free text and NUL fill; the keys
	//     that matter (CID, createType, extent) are covered by
	//     TestVerifyFindings, a flip in a comment is harmless;
	//   - sectors 21 to overHead-1: fill between descriptor and first grain;
	//   - bytes 16–511 of the grain-table, grain-directory and footer
	//     markers: the spec's pad[496].
	mayPass flipClass = iota
	// mustDetect: Open (a typed error) or Verify (a typed error or at
	// least one finding) must report the flip:
	//   - the header sector, every byte: magic, version, flags, capacity,
	//     grainSize, gdOffset and compressAlgorithm fail Open or are
	//     findings; the fields Open does not need (descriptor offset and
	//     size, numGTEsPerGT, rgdOffset, overHead, uncleanShutdown, newline
	//     test) and the padding are Verify findings;
	//   - grain markers' LBA and size, and the grain record's zero fill;
	//   - metadata markers' value, size and type (bytes 0–15);
	//   - grain-table and grain-directory sectors, unused entries included;
	//   - the footer sector, every byte (it must equal the header except
	//     gdOffset);
	//   - the end-of-stream sector, every byte.
	mustDetect
	// grainData: compressed bytes of a grain. Zlib's header check, the
	// deflate decoder or Adler-32 must reject the flip when Open().ReadAt
	// reads that grain back, and Verify must report it.
	grainData
)

var flipClassNames = [...]string{"mayPass", "mustDetect", "grainData"}

// flipMap classifies every byte of a valid stream written by this package,
// walking it independently of the package's reader.
func flipMap(t *testing.T, v []byte) []flipClass {
	t.Helper()
	m := make([]flipClass, len(v))
	mark := func(from, to int, c flipClass) {
		for i := from; i < to; i++ {
			m[i] = c
		}
	}
	mark(0, 512, mustDetect)
	overHead := int(u64(v, 64)) * 512
	require.Equal(t, 128*512, overHead)
	pos := overHead
	for pos < len(v) {
		val, size, typ := u64(v, pos), u32(v, pos+8), u32(v, pos+12)
		if size != 0 { // grain: LBA, size, zlib data, zero fill
			rec := (12 + int(size) + 511) / 512 * 512
			mark(pos, pos+12, mustDetect)
			mark(pos+12, pos+12+int(size), grainData)
			mark(pos+12+int(size), pos+rec, mustDetect)
			pos += rec
			continue
		}
		switch typ {
		case vmdk.MarkerEOS:
			require.Equal(t, len(v), pos+512, "end-of-stream is the last sector")
			mark(pos, pos+512, mustDetect)
			pos += 512
		case vmdk.MarkerGT, vmdk.MarkerGD:
			mark(pos, pos+16, mustDetect)
			mark(pos+512, pos+512+int(val)*512, mustDetect)
			pos += 512 + int(val)*512
		case vmdk.MarkerFooter:
			mark(pos, pos+16, mustDetect)
			mark(pos+512, pos+1024, mustDetect)
			pos += 1024
		default:
			t.Fatalf("marker type %d at %d", typ, pos)
		}
	}
	return m
}

// readBack opens v and reads the whole disk, returning the data and the
// first error.
func readBack(v []byte) ([]byte, error) {
	d, err := vmdk.Open(bytes.NewReader(v), int64(len(v)))
	if err != nil {
		return nil, err
	}
	out := make([]byte, d.Size())
	if _, err := d.ReadAt(out, 0); err != nil && err != io.EOF {
		return nil, err
	}
	return out, nil
}

// TestBitFlips flips single bits, chosen by a seeded generator in every
// byte class of flipMap (and every header and footer field once), and
// requires each class's guarantee.
func TestBitFlips(t *testing.T) {
	raw, v := sample(t)
	classes := flipMap(t, v)
	byClass := make([][]int, len(flipClassNames))
	for i, c := range classes {
		byClass[c] = append(byClass[c], i)
	}
	for c, b := range byClass {
		require.NotEmpty(t, b, "no %s bytes", flipClassNames[c])
	}

	type flip struct{ pos, bit int }
	var flips []flip
	// Every field of the header and of the footer, lowest and highest bit
	// of its first byte, plus a padding byte.
	footer := len(v) - 1024
	for _, base := range []int{0, footer} {
		for _, f := range []int{0, 4, 8, 12, 19, 20, 28, 36, 44, 48, 56, 63, 64, 72, 73, 77, 79, 300, 511} {
			flips = append(flips, flip{base + f, 0}, flip{base + f, 7})
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 240; i++ {
		b := byClass[i%len(byClass)]
		flips = append(flips, flip{b[r.IntN(len(b))], r.IntN(8)})
	}

	counts := make([]int, len(flipClassNames))
	for _, f := range flips {
		c := bytes.Clone(v)
		c[f.pos] ^= 1 << f.bit
		class := classes[f.pos]
		counts[class]++
		what := fmt.Sprintf("flip bit %d of byte %d (%s)", f.bit, f.pos, flipClassNames[class])

		got, openErr := readBack(c)
		if openErr != nil {
			require.True(t, isTyped(openErr), "%s: untyped error %v", what, openErr)
			var fe *vmdk.FormatError
			require.ErrorAs(t, openErr, &fe, what)
		}
		rep, inspErr := vmdk.Verify(context.Background(), bytes.NewReader(c), nil)
		require.NotNil(t, rep, what)
		if inspErr != nil {
			require.True(t, isTyped(inspErr), "%s: inspect: untyped error %v", what, inspErr)
		}
		inspected := inspErr != nil || !rep.OK()

		switch class {
		case mayPass:
			if openErr == nil {
				require.True(t, bytes.Equal(raw, got), "%s: accepted but reads back different data", what)
			}
		case mustDetect:
			require.True(t, openErr != nil || inspected, "%s: neither Open nor Verify noticed", what)
		case grainData:
			require.ErrorIs(t, openErr, vmdk.ErrCorrupt, "%s: reading the grain back", what)
			require.NoError(t, inspErr, what)
			require.False(t, rep.OK(), "%s: Verify found nothing", what)
			rules := map[string]bool{}
			for _, fd := range rep.Findings {
				rules[fd.Rule] = true
			}
			require.True(t, rules["grain.zlib"] || rules["grain.size"], "%s: findings %v", what, rep.Findings)
		}
	}
	for c, n := range counts {
		require.Positive(t, n, "no flips in %s", flipClassNames[c])
	}

	// A flipped bit inside grain data is always caught: by the reader
	// (zlib checksum) and by Verify.
	c := bytes.Clone(v)
	c[128*512+200] ^= 0x10
	err := readDisk(c, 1<<30)
	require.ErrorIs(t, err, vmdk.ErrCorrupt)
	rep, err := vmdk.Verify(context.Background(), bytes.NewReader(c), nil)
	require.NoError(t, err)
	require.False(t, rep.OK())
	require.Equal(t, "grain.zlib", rep.Findings[0].Rule)
}

// TestGrainLength: a grain marker whose size overstates the zlib stream
// (the extra byte is the record's zero fill, so the data still inflates) is
// an Verify finding; the reader still reads the grain correctly.
func TestGrainLength(t *testing.T) {
	raw, v := sample(t)
	c := bytes.Clone(v)
	g := 128 * 512
	size := u32(c, g+8)
	require.NotZero(t, (12+size)%512, "the first grain must have zero fill")
	binary.LittleEndian.PutUint32(c[g+8:], size+1)
	got, err := readBack(c)
	require.NoError(t, err)
	require.Equal(t, raw, got)
	rep, err := vmdk.Verify(context.Background(), bytes.NewReader(c), nil)
	require.NoError(t, err)
	require.Equal(t, "grain.length", rep.Findings[0].Rule, "%v", rep.Findings)
}

// TestFooterPadding: the footer must equal the header except gdOffset,
// padding included.
func TestFooterPadding(t *testing.T) {
	_, v := sample(t)
	c := bytes.Clone(v)
	c[len(c)-1024+400] = 1
	rep, err := vmdk.Verify(context.Background(), bytes.NewReader(c), nil)
	require.NoError(t, err)
	require.Len(t, rep.Findings, 1)
	require.Equal(t, "footer.header", rep.Findings[0].Rule)
	require.Equal(t, int64(len(c)-1024+400), rep.Findings[0].Offset)
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
			rep, err := vmdk.Verify(context.Background(), bytes.NewReader(tc.v), nil)
			require.NotNil(t, rep)
			if err != nil {
				require.True(t, isTyped(err), "%v", err)
			} else {
				require.False(t, rep.OK())
			}
		})
	}
}

// TestVerifyFindings breaks single rules and checks Verify names them.
func TestVerifyFindings(t *testing.T) {
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
			rep, err := vmdk.Verify(context.Background(), bytes.NewReader(c), nil)
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
	rep, err := vmdk.Verify(context.Background(), bytes.NewReader(c), nil)
	require.NoError(t, err)
	require.Equal(t, "grain.zlib", rep.Findings[0].Rule)
}

func TestVerifyCancel(t *testing.T) {
	_, v := sample(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := vmdk.Verify(ctx, bytes.NewReader(v), nil)
	require.ErrorIs(t, err, context.Canceled)
}

func TestVerifyHugeOffsets(t *testing.T) {
	_, v := sample(t)
	for _, off := range []int{28, 36, 64} { // descriptorOffset, descriptorSize, overHead
		for _, val := range []uint64{1<<64 - 10, 1 << 63, 1 << 40, 0} {
			c := bytes.Clone(v)
			binary.LittleEndian.PutUint64(c[off:], val)
			rep, err := vmdk.Verify(context.Background(), bytes.NewReader(c), nil)
			require.NotNil(t, rep)
			if err != nil {
				require.True(t, isTyped(err), "field %d = %d: %v", off, val, err)
			} else {
				require.False(t, rep.OK())
			}
		}
	}
}
