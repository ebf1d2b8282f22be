package rootfs_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"
)

// Hostile archives for the resource-bound tests are generated here, in a
// few lines, rather than stored: each is a few KB to a few hundred KB of
// input that expands to gigabytes.

// newcEntry is one newc header with its name and padding (no data).
func newcEntry(name string, mode, size uint32) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		1, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, len(name)+1, 0)
	b.WriteString(name)
	b.WriteByte(0)
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

var newcTrailer = newcEntry("TRAILER!!!", 0, 0)

// zeroRun stands for that many zero bytes in zstdFrame.
type zeroRun int64

// zstdFrame writes one zstd frame by hand: byte slices as raw blocks,
// zeroRuns as RLE blocks, so a gigabyte of zeros costs 32 KB.
func zstdFrame(parts ...any) []byte {
	const maxBlock = 128 << 10
	// Frame header: no content size, no checksum, window 2^17 bytes.
	out := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38}
	type block struct {
		typ  uint32
		size int
		data []byte
	}
	var blocks []block
	for _, p := range parts {
		switch v := p.(type) {
		case []byte:
			for len(v) > 0 {
				n := min(len(v), maxBlock)
				blocks = append(blocks, block{0, n, v[:n]})
				v = v[n:]
			}
		case zeroRun:
			for v > 0 {
				n := min(int(v), maxBlock)
				blocks = append(blocks, block{1, n, []byte{0}})
				v -= zeroRun(n)
			}
		default:
			panic(fmt.Sprintf("zstdFrame: %T", p))
		}
	}
	for i, b := range blocks {
		h := uint32(b.size)<<3 | b.typ<<1
		if i == len(blocks)-1 {
			h |= 1
		}
		out = append(out, byte(h), byte(h>>8), byte(h>>16))
		out = append(out, b.data...)
	}
	return out
}

// zstdRecords returns a zstd stream of n records and a trailer, generated
// and compressed only as far as the reader gets, so a reader that stops
// early costs the test little.
func zstdRecords(t *testing.T, n int, record func(i int) []byte) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		enc, err := zstd.NewWriter(pw, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		for i := 0; i < n; i++ {
			if _, err := enc.Write(record(i)); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		if _, err := enc.Write(newcTrailer); err != nil {
			pw.CloseWithError(err)
			return
		}
		pw.CloseWithError(enc.Close())
	}()
	t.Cleanup(func() { pr.Close() })
	return pr
}

// longName is a name of about 4 KiB, unique per i.
func longName(dir string, i int) string {
	return fmt.Sprintf("%s/%s-%08d", dir, strings.Repeat("n", 4000), i)
}

// About a million entries with 4 KiB names (4 GiB of names from a few
// hundred KB of zstd) once killed List; it now stops at MaxNameBytes.
func TestListBoundsNameBytes(t *testing.T) {
	testutil.Bounded(t, testutil.Bounds{MaxRSS: 512 << 20, CPU: 30 * time.Second}, func(t *testing.T) {
		in := zstdRecords(t, 1<<20, func(i int) []byte { return newcEntry(longName("d", i), 0o100644, 0) })
		hs, err := rootfs.List(in, nil)
		var le *rootfs.LimitError
		require.ErrorAs(t, err, &le)
		require.ErrorIs(t, err, rootfs.ErrLimit)
		require.Equal(t, "MaxNameBytes", le.Limit)
		require.Less(t, len(hs), 1<<15)
		require.Less(t, len(err.Error()), 400, "the error clips the name")
	})
}

// A million orphans (entries below a directory that is not there) with
// 4 KiB names once killed Inspect; it now stops at MaxOrphans.
func TestInspectBoundsOrphans(t *testing.T) {
	testutil.Bounded(t, testutil.Bounds{MaxRSS: 512 << 20, CPU: 30 * time.Second}, func(t *testing.T) {
		in := zstdRecords(t, 1<<20, func(i int) []byte { return newcEntry(longName("missing", 0), 0o100644, 0) })
		rep, err := rootfs.Inspect(in, nil)
		var le *rootfs.LimitError
		require.ErrorAs(t, err, &le)
		require.Equal(t, "MaxOrphans", le.Limit)
		require.Len(t, rep.Orphans, rootfs.DefaultMaxOrphans)
	})
}

// A million distinct 4 KiB paths in one directory: Inspect keeps every
// path to resolve later entries, now up to MaxNameBytes.
func TestInspectBoundsNameBytes(t *testing.T) {
	testutil.Bounded(t, testutil.Bounds{MaxRSS: 512 << 20, CPU: 30 * time.Second}, func(t *testing.T) {
		in := zstdRecords(t, 1<<20, func(i int) []byte {
			if i == 0 {
				return newcEntry("d", 0o40755, 0)
			}
			return newcEntry(longName("d", i), 0o100644, 0)
		})
		_, err := rootfs.Inspect(in, nil)
		var le *rootfs.LimitError
		require.ErrorAs(t, err, &le)
		require.Equal(t, "MaxNameBytes", le.Limit)
	})
}

// The limits are options: raised, the same kind of archive reads in full.
func TestListNameLimitsAreOptions(t *testing.T) {
	opts := &rootfs.ReaderOptions{MaxNameBytes: 1 << 20, MaxOrphans: 10}
	hs, err := rootfs.List(zstdRecords(t, 200, func(i int) []byte { return newcEntry(longName("d", i), 0o100644, 0) }), opts)
	require.NoError(t, err)
	require.Len(t, hs, 200)
	_, err = rootfs.List(zstdRecords(t, 300, func(i int) []byte { return newcEntry(longName("d", i), 0o100644, 0) }), opts)
	require.ErrorIs(t, err, rootfs.ErrLimit)
	rep, err := rootfs.Inspect(zstdRecords(t, 10, func(i int) []byte { return newcEntry(longName("x", i), 0o100644, 0) }), opts)
	require.NoError(t, err)
	require.Len(t, rep.Orphans, 10)
	_, err = rootfs.Inspect(zstdRecords(t, 11, func(i int) []byte { return newcEntry(longName("x", i), 0o100644, 0) }), opts)
	require.ErrorIs(t, err, rootfs.ErrLimit)
}

// fileArchive is a zstd archive of one regular file of size zero bytes.
func fileArchive(size int64) []byte {
	pad := make([]byte, (4-size%4)%4)
	return zstdFrame(newcEntry("big", 0o100644, uint32(size)), zeroRun(size), append(pad, newcTrailer...))
}

// A 8 KB archive holding one 255 MiB file, imported with a 256 MiB
// budget: the file's buffer is allocated once at its size, not grown by
// appends that once tripled the peak.
func TestAddArchiveAllocatesOnce(t *testing.T) {
	testutil.Bounded(t, testutil.Bounds{MaxRSS: 400 << 20, CPU: 30 * time.Second}, func(t *testing.T) {
		const size = 255 << 20
		b := rootfs.New(nil)
		require.NoError(t, b.AddArchive(t.Context(), bytes.NewReader(fileArchive(size)), &rootfs.ReaderOptions{MaxBytes: 256 << 20}))
		es := b.Entries()
		require.Len(t, es, 1)
		require.Equal(t, int64(size), es[0].Size)
	})
}

// A file larger than what is left of the budget (the default 1 GiB here)
// is refused before anything is allocated or read.
func TestAddArchiveRefusesFileOverBudget(t *testing.T) {
	testutil.Bounded(t, testutil.Bounds{MaxRSS: 128 << 20, CPU: 30 * time.Second}, func(t *testing.T) {
		in := fileArchive(2 << 30) // 64 KB of zstd
		err := rootfs.New(nil).AddArchive(t.Context(), bytes.NewReader(in), nil)
		var le *rootfs.LimitError
		require.ErrorAs(t, err, &le)
		require.Equal(t, "MaxBytes", le.Limit)
		require.Equal(t, "/big", le.Path)
	})
}

// Data that ends before its declared size is a format error, not a
// short file.
func TestAddArchiveTruncatedData(t *testing.T) {
	in := zstdFrame(newcEntry("f", 0o100644, 100), []byte("short"))
	err := rootfs.New(nil).AddArchive(t.Context(), bytes.NewReader(in), nil)
	require.ErrorIs(t, err, rootfs.ErrFormat)
}

// twoArchives joins two one-entry archives with a run of zeros inside one
// zstd frame (32 KB of zstd per GiB of zeros).
func twoArchives(zeros int64) []byte {
	a := append(newcEntry("a", 0o40755, 0), newcTrailer...)
	b := append(newcEntry("b", 0o40755, 0), newcTrailer...)
	return zstdFrame(a, zeroRun(zeros), b)
}

// A gigabyte of zero padding between archives is skipped a buffer at a
// time: reading it byte by byte once took about 10 s of CPU.
func TestReaderSkipsPaddingInBulk(t *testing.T) {
	testutil.Bounded(t, testutil.Bounds{MaxRSS: 256 << 20, CPU: 5 * time.Second}, func(t *testing.T) {
		hs, err := rootfs.List(bytes.NewReader(twoArchives(1<<30)), &rootfs.ReaderOptions{MaxPadding: 2 << 30})
		require.NoError(t, err)
		require.Len(t, hs, 2)
	})
}

// By default, padding beyond DefaultMaxPadding is refused: the 16 GiB
// byte budget alone would let a 500 KB member cost minutes.
func TestReaderCapsPadding(t *testing.T) {
	testutil.Bounded(t, testutil.Bounds{MaxRSS: 256 << 20, CPU: 5 * time.Second}, func(t *testing.T) {
		_, err := rootfs.List(bytes.NewReader(twoArchives(1<<30)), nil)
		var le *rootfs.LimitError
		require.ErrorAs(t, err, &le)
		require.Equal(t, "MaxPadding", le.Limit)
	})
}

// The padding cap holds for uncompressed input too, and small padding
// reads as before.
func TestReaderPaddingLimit(t *testing.T) {
	t.Run("uncompressed", func(t *testing.T) {
		one := append(newcEntry("a", 0o40755, 0), newcTrailer...)
		in := append(append(append([]byte{}, one...), make([]byte, rootfs.DefaultMaxPadding+4)...), one...)
		_, err := rootfs.List(bytes.NewReader(in), nil)
		require.ErrorIs(t, err, rootfs.ErrLimit)
		hs, err := rootfs.List(bytes.NewReader(in), &rootfs.ReaderOptions{MaxPadding: 32 << 20})
		require.NoError(t, err)
		require.Len(t, hs, 2)
	})
	t.Run("padding under the cap", func(t *testing.T) {
		hs, err := rootfs.List(bytes.NewReader(twoArchives(1<<20)), nil)
		require.NoError(t, err)
		require.Len(t, hs, 2)
	})
}
