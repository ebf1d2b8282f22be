package gce_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/gce"
	"github.com/fogkit/fogkit/internal/testutil"
)

// image returns a deterministic raw disk: "zero", "full" (random) or
// "mixed" (random runs, zero stretches, lone bytes).
func image(size int64, kind string) []byte {
	b := make([]byte, size)
	r := rand.New(rand.NewPCG(uint64(size), 3))
	for off := int64(0); off < size; off += 1 << 20 {
		end := min(size, off+1<<20)
		switch {
		case kind == "full" || kind == "mixed" && (off>>20)%4 == 0:
			for i := off; i < end; i++ {
				b[i] = byte(r.Uint32())
			}
		case kind == "mixed" && (off>>20)%4 == 2:
			b[off+70000] = 1 // one byte in the second 64 KiB chunk
		}
	}
	return b
}

func write(t testing.TB, raw []byte, o *gce.Options) ([]byte, *gce.Result) {
	t.Helper()
	var buf bytes.Buffer
	res, err := gce.Write(t.Context(), &buf, bytes.NewReader(raw), int64(len(raw)), o)
	require.NoError(t, err)
	require.Equal(t, int64(buf.Len()), res.Size)
	return buf.Bytes(), res
}

// extract reads disk.raw back with archive/tar (which reads old GNU
// sparse entries), checking it is the raw image padded with zeros.
func extract(t *testing.T, tgz []byte, raw []byte) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	require.NoError(t, err)
	tr := tar.NewReader(zr)
	h, err := tr.Next()
	require.NoError(t, err)
	assert.Equal(t, "disk.raw", h.Name)
	assert.Equal(t, tar.FormatGNU, h.Format)
	require.Zero(t, h.Size%gce.GiB)
	got := make([]byte, len(raw))
	_, err = io.ReadFull(tr, got)
	require.NoError(t, err)
	require.True(t, bytes.Equal(raw, got), "disk.raw differs")
	n, err := io.Copy(io.Discard, &zeroCheck{r: tr, t: t})
	require.NoError(t, err)
	assert.Equal(t, h.Size-int64(len(raw)), n)
	_, err = tr.Next()
	assert.Equal(t, io.EOF, err)
}

type zeroCheck struct {
	r io.Reader
	t *testing.T
}

func (z *zeroCheck) Read(b []byte) (int, error) {
	n, err := z.r.Read(b)
	if bytes.Count(b[:n], []byte{0}) != n {
		z.t.Fatal("padding is not zeros")
	}
	return n, err
}

func TestWrite(t *testing.T) {
	for _, kind := range []string{"zero", "full", "mixed"} {
		for _, size := range []int64{512, 5<<20 + 777, 12 << 20} {
			raw := image(size, kind)
			tgz, res := write(t, raw, nil)
			assert.Equal(t, int64(gce.GiB), res.DiskSize)
			assert.Equal(t, gce.GiB-size, res.Padding)
			assert.True(t, res.Sparse)
			extract(t, tgz, raw)
			rep, err := gce.Check(t.Context(), bytes.NewReader(tgz))
			require.NoError(t, err)
			assert.Empty(t, rep.Findings, "%s %d", kind, size)
			assert.Equal(t, []gce.Member{{Name: "disk.raw", Type: "sparse", Format: "oldgnu", Size: gce.GiB, Stored: res.Stored}}, rep.Members)
			if kind == "zero" {
				assert.Zero(t, res.Stored)
			}
			if size != 5<<20+777 {
				continue
			}
			// The stream writer: a dense entry with the same content.
			var s bytes.Buffer
			sres, err := gce.WriteStream(t.Context(), &s, bytes.NewReader(raw), size, &gce.Options{Level: 1})
			require.NoError(t, err)
			assert.False(t, sres.Sparse)
			extract(t, s.Bytes(), raw)
			rep, err = gce.Check(t.Context(), bytes.NewReader(s.Bytes()))
			require.NoError(t, err)
			assert.Empty(t, rep.Findings)
			assert.Equal(t, "file", rep.Members[0].Type)
		}
	}
}

func TestBuildTwice(t *testing.T) {
	raw := image(9<<20, "mixed")
	a, ra := write(t, raw, nil)
	b, rb := write(t, raw, nil)
	require.Equal(t, a, b)
	require.Equal(t, ra, rb)
	c, _ := write(t, raw, &gce.Options{ModTime: time.Unix(1700000000, 0)})
	require.NotEqual(t, a, c)
	d, _ := write(t, raw, &gce.Options{ModTime: time.Unix(1700000000, 0)})
	require.Equal(t, c, d)
}

// The old GNU header itself: magic, type and the sparse map layout.
func TestHeaderBytes(t *testing.T) {
	raw := image(9<<20, "mixed")
	tgz, res := write(t, raw, nil)
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	require.NoError(t, err)
	h := make([]byte, 512)
	_, err = io.ReadFull(zr, h)
	require.NoError(t, err)
	assert.Equal(t, "ustar  \x00", string(h[257:265]))
	assert.Equal(t, byte('S'), h[156])
	assert.Equal(t, "disk.raw", string(h[:8]))
	assert.Equal(t, byte(1), h[482], "the map continues in an extension block")
	assert.Greater(t, res.Regions, 4)
}

func TestWriteErrors(t *testing.T) {
	raw := make([]byte, 1<<20)
	_, err := gce.Write(t.Context(), io.Discard, bytes.NewReader(raw), 0, nil)
	assert.ErrorIs(t, err, gce.ErrInvalid)
	_, err = gce.Write(t.Context(), io.Discard, bytes.NewReader(raw), 1<<20, &gce.Options{Level: 10})
	assert.ErrorIs(t, err, gce.ErrInvalid)
	_, err = gce.Write(t.Context(), io.Discard, bytes.NewReader(raw), gce.MaxSize+1, nil)
	assert.ErrorIs(t, err, gce.ErrTooLarge)
	_, err = gce.Write(t.Context(), io.Discard, bytes.NewReader(raw), 2<<20, nil)
	assert.ErrorIs(t, err, gce.ErrShortInput)
	_, err = gce.WriteStream(t.Context(), io.Discard, bytes.NewReader(raw), 2<<20, nil)
	assert.ErrorIs(t, err, gce.ErrShortInput)
	ctx, cancel := context.WithCancel(t.Context())
	_, err = gce.Write(ctx, io.Discard, bytes.NewReader(image(4<<20, "full")), 4<<20, &gce.Options{Progress: func(gce.Event) { cancel() }})
	assert.True(t, errors.Is(err, context.Canceled))
}

// Check names every rule a made-up archive breaks.
func TestCheckRules(t *testing.T) {
	mk := func(hs ...*tar.Header) []byte {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		require.NoError(t, err)
		tw := tar.NewWriter(zw)
		for _, h := range hs {
			require.NoError(t, tw.WriteHeader(h))
			_, err := io.CopyN(tw, zeroReader{}, h.Size)
			require.NoError(t, err)
		}
		require.NoError(t, tw.Close())
		require.NoError(t, zw.Close())
		return buf.Bytes()
	}
	reg := func(name string, size int64, f tar.Format) *tar.Header {
		return &tar.Header{Name: name, Size: size, Mode: 0o644, Typeflag: tar.TypeReg, Format: f}
	}
	for name, c := range map[string]struct {
		tgz   []byte
		rules []string
	}{
		"gnu ok":     {mk(reg("disk.raw", 1<<30, tar.FormatGNU)), nil},
		"ustar":      {mk(reg("disk.raw", 1<<30, tar.FormatUSTAR)), []string{"gce.format"}},
		"pax":        {mk(reg("disk.raw", 1<<30, tar.FormatPAX)), []string{"gce.format"}},
		"name":       {mk(reg("./disk.raw", 1<<30, tar.FormatGNU)), []string{"gce.name"}},
		"size":       {mk(reg("disk.raw", 1<<20, tar.FormatGNU)), []string{"gce.size.gib"}},
		"empty file": {mk(reg("disk.raw", 0, tar.FormatGNU)), []string{"gce.size.zero"}},
		"two":        {mk(reg("disk.raw", 1<<30, tar.FormatGNU), reg("x", 1, tar.FormatGNU)), []string{"gce.members"}},
		"empty":      {mk(), []string{"gce.members"}},
		"dir":        {mk(&tar.Header{Name: "disk.raw", Typeflag: tar.TypeDir, Format: tar.FormatGNU, Mode: 0o755}), []string{"gce.type", "gce.size.zero"}},
	} {
		rep, err := gce.Check(t.Context(), bytes.NewReader(c.tgz))
		require.NoError(t, err, name)
		var got []string
		for _, f := range rep.Findings {
			got = append(got, f.Rule)
		}
		assert.Equal(t, c.rules, got, name)
	}
	rep, err := gce.Check(t.Context(), bytes.NewReader([]byte("plain tar")))
	assert.ErrorIs(t, err, gce.ErrMalformed)
	assert.Equal(t, "gce.gzip", rep.Findings[0].Rule)
	// Cut short: typed error.
	good, _ := write(t, image(3<<20, "full"), nil)
	for _, n := range []int{20, len(good) / 2, len(good) - 4} {
		_, err = gce.Check(t.Context(), bytes.NewReader(good[:n]))
		assert.ErrorIs(t, err, gce.ErrMalformed, "cut at %d", n)
	}
}

// GNU tar extracts disk.raw (holes and all), qemu-img finds it equal to
// the raw input (compare checks that the extra GiB padding is zeros), and
// GNU tar's own `--format=oldgnu -S` archive passes Check.
func TestGNUTarInterop(t *testing.T) {
	tarP := testutil.RequireTool(t, "tar")
	qemu := testutil.RequireTool(t, "qemu-img")
	if out := testutil.MustRun(t, "", nil, tarP, "--version"); !bytes.Contains(out, []byte("GNU tar")) {
		testutil.Missing(t, "tar is not GNU tar")
	}
	dir := t.TempDir()
	for _, kind := range []string{"zero", "mixed", "full"} {
		raw := image(7<<20+512, kind)
		rawP := filepath.Join(dir, kind+".img")
		require.NoError(t, os.WriteFile(rawP, raw, 0o644))
		tgz, _ := write(t, raw, nil)
		tgzP := filepath.Join(dir, kind+".tar.gz")
		require.NoError(t, os.WriteFile(tgzP, tgz, 0o644))
		out := filepath.Join(dir, kind)
		require.NoError(t, os.Mkdir(out, 0o755))
		testutil.MustRun(t, out, nil, tarP, "-xzf", tgzP)
		st, err := os.Stat(filepath.Join(out, "disk.raw"))
		require.NoError(t, err)
		assert.Equal(t, int64(gce.GiB), st.Size())
		testutil.MustRun(t, dir, nil, qemu, "compare", "-f", "raw", "-F", "raw", rawP, filepath.Join(out, "disk.raw"))
		list := testutil.MustRun(t, dir, nil, tarP, "-tvzf", tgzP)
		assert.Contains(t, string(list), "disk.raw")

		// GNU tar's own archive of the extracted disk passes Check.
		gnuP := filepath.Join(dir, kind+"-gnu.tar.gz")
		testutil.MustRun(t, out, nil, tarP, "--format=oldgnu", "-Sczf", gnuP, "disk.raw")
		f, err := os.Open(gnuP)
		require.NoError(t, err)
		rep, err := gce.Check(t.Context(), f)
		f.Close()
		require.NoError(t, err)
		assert.Empty(t, rep.Findings, kind)
		assert.Equal(t, "sparse", rep.Members[0].Type, kind)
	}
}

type zeroReader struct{}

func (zeroReader) Read(b []byte) (int, error) { clear(b); return len(b), nil }

// A sparse input file gives the same archive as the same bytes in memory
// (its holes are skipped with SEEK_DATA).
func TestSparseInputFile(t *testing.T) {
	raw := image(13<<20, "mixed")
	p := filepath.Join(t.TempDir(), "in.raw")
	f, err := os.Create(p)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.Truncate(int64(len(raw))))
	for off := 0; off < len(raw); off += 1 << 20 {
		if b := raw[off : off+1<<20]; bytes.Count(b, []byte{0}) != len(b) {
			_, err := f.WriteAt(b, int64(off))
			require.NoError(t, err)
		}
	}
	var buf bytes.Buffer
	_, err = gce.Write(t.Context(), &buf, f, int64(len(raw)), nil)
	require.NoError(t, err)
	mem, _ := write(t, raw, nil)
	require.Equal(t, mem, buf.Bytes())
}
