package vhd_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/vhd"
)

var sizes = []struct {
	name string
	size int64
}{
	{"1MiB+512", 1<<20 + 512},
	{"3MiB+512", 3<<20 + 512},
	{"odd", 5<<20 + 777},
	{"4MiB", 4 << 20},
	{"tiny", 100},
}

func TestRoundTrip(t *testing.T) {
	for _, typ := range []string{vhd.TypeFixed, vhd.TypeDynamic} {
		for _, roundUp := range []bool{false, true} {
			for _, kind := range []string{"zero", "full", "mixed"} {
				for _, s := range sizes {
					name := typ + "/" + kind + "/" + s.name
					if roundUp {
						name += "/roundup"
					}
					t.Run(name, func(t *testing.T) {
						raw := image(s.size, kind)
						img, res := write(t, raw, &vhd.Options{Type: typ, RoundUp: roundUp})
						want := (s.size + 511) / 512 * 512
						if roundUp {
							want = (s.size + 1<<20 - 1) >> 20 << 20
						}
						assert.Equal(t, want, res.VirtualSize)
						assert.Equal(t, want-s.size, res.Padding)
						if typ == vhd.TypeFixed {
							assert.Equal(t, want+512, res.Size)
						}
						got := readAll(t, img)
						require.True(t, bytes.Equal(padded(raw, want), got), "content differs")
						rep, err := vhd.Inspect(t.Context(), bytes.NewReader(img), int64(len(img)))
						require.NoError(t, err)
						assert.Empty(t, rep.Findings)
						assert.Equal(t, typ, rep.Type)
						if typ == vhd.TypeDynamic {
							assert.Equal(t, res.Blocks, rep.Blocks)
							if kind == "zero" {
								assert.Zero(t, res.Blocks)
								assert.Equal(t, int64(512+1024+512+512), res.Size)
							}
						}
					})
				}
			}
		}
	}
}

// The same input and options give the same bytes, twice and through
// WriteStream; a different UniqueID or ModTime changes only the footer.
func TestBuildTwice(t *testing.T) {
	raw := image(7<<20+512, "mixed")
	for _, typ := range []string{vhd.TypeFixed, vhd.TypeDynamic} {
		a, ra := write(t, raw, &vhd.Options{Type: typ})
		b, rb := write(t, raw, &vhd.Options{Type: typ})
		require.Equal(t, a, b, typ)
		require.Equal(t, ra, rb)
		if typ == vhd.TypeFixed {
			var s bytes.Buffer
			_, err := vhd.WriteStream(t.Context(), &s, bytes.NewReader(raw), int64(len(raw)), nil)
			require.NoError(t, err)
			require.Equal(t, a, s.Bytes())
		}
		// Content changes the derived ID.
		raw2 := bytes.Clone(raw)
		raw2[3<<20] ^= 1
		_, r2 := write(t, raw2, &vhd.Options{Type: typ})
		assert.NotEqual(t, ra.UniqueID, r2.UniqueID)
	}
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	id := vhd.ID{1, 2, 3}
	img, res := write(t, raw, &vhd.Options{ModTime: when, UniqueID: id, CreatorApp: "fgkt"})
	assert.Equal(t, id, res.UniqueID)
	d, err := vhd.Open(bytes.NewReader(img), int64(len(img)))
	require.NoError(t, err)
	f := d.Footer()
	assert.Equal(t, when, f.Time())
	assert.Equal(t, "fgkt", f.CreatorApp)
	assert.Equal(t, id, f.UniqueID)
}

// Holes: written to a fresh file, a fixed VHD's zero blocks are holes.
func TestFixedSparseFile(t *testing.T) {
	raw := image(9<<20, "mixed")
	p := filepath.Join(t.TempDir(), "d.vhd")
	f, err := os.Create(p)
	require.NoError(t, err)
	res, err := vhd.Write(t.Context(), f, bytes.NewReader(raw), int64(len(raw)), nil)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	img, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, res.Size, int64(len(img)))
	mem, _ := write(t, raw, nil)
	require.Equal(t, mem, img)
}

func TestOptionsInvalid(t *testing.T) {
	raw := make([]byte, 1<<20)
	for name, o := range map[string]*vhd.Options{
		"type":    {Type: "differencing"},
		"creator": {CreatorApp: "toolong"},
		"time":    {ModTime: time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		_, err := vhd.Write(t.Context(), io.Discard, bytes.NewReader(raw), int64(len(raw)), o)
		assert.ErrorIs(t, err, vhd.ErrInvalid, name)
	}
	_, err := vhd.Write(t.Context(), io.Discard, bytes.NewReader(raw), 0, nil)
	assert.ErrorIs(t, err, vhd.ErrInvalid)
	_, err = vhd.Write(t.Context(), io.Discard, bytes.NewReader(raw), vhd.MaxDynamicSize+1, &vhd.Options{Type: vhd.TypeDynamic})
	assert.ErrorIs(t, err, vhd.ErrTooLarge)
	_, err = vhd.WriteStream(t.Context(), io.Discard, bytes.NewReader(raw), int64(len(raw)), &vhd.Options{Type: vhd.TypeDynamic})
	assert.ErrorIs(t, err, vhd.ErrInvalid)
	_, err = vhd.WriteStream(t.Context(), io.Discard, bytes.NewReader(raw), 2<<20, nil)
	assert.ErrorIs(t, err, vhd.ErrShortInput)
	_, err = vhd.Write(t.Context(), io.Discard, bytes.NewReader(raw), 3<<20, &vhd.Options{Type: vhd.TypeDynamic})
	assert.ErrorIs(t, err, vhd.ErrShortInput)
}

func TestCancel(t *testing.T) {
	raw := image(6<<20, "full")
	for _, typ := range []string{vhd.TypeFixed, vhd.TypeDynamic} {
		ctx, cancel := context.WithCancel(t.Context())
		_, err := vhd.Write(ctx, io.Discard, bytes.NewReader(raw), int64(len(raw)), &vhd.Options{Type: typ, Progress: func(vhd.Event) { cancel() }})
		assert.True(t, errors.Is(err, context.Canceled), "%v", err)
	}
}

func TestProgress(t *testing.T) {
	raw := image(5<<20, "mixed")
	var evs []vhd.Event
	_, _ = write(t, raw, &vhd.Options{Type: vhd.TypeDynamic, Progress: func(e vhd.Event) { evs = append(evs, e) }})
	require.NotEmpty(t, evs)
	last := evs[len(evs)-1]
	assert.Equal(t, "write", last.Stage)
	assert.Equal(t, int64(5<<20), last.Total)
	assert.Equal(t, "scan", evs[0].Stage)
}

func TestGeometry(t *testing.T) {
	for _, c := range []struct {
		size int64
		want vhd.Geometry
	}{
		{20 << 20, vhd.Geometry{Cylinders: 602, Heads: 4, SectorsPerTrack: 17}},
		{1 << 30, vhd.Geometry{Cylinders: 2080, Heads: 16, SectorsPerTrack: 63}},
		{200 << 30, vhd.Geometry{Cylinders: 65535, Heads: 16, SectorsPerTrack: 255}},
	} {
		g := vhd.GeometryFor(c.size)
		assert.Equal(t, c.want, g, "%d", c.size)
		assert.LessOrEqual(t, g.Sectors()*512, c.size)
	}
}

func TestCheckAzure(t *testing.T) {
	raw := image(21<<20+512, "mixed")
	for _, c := range []struct {
		o     *vhd.Options
		rules []string
	}{
		{&vhd.Options{RoundUp: true}, nil},
		{nil, []string{"azure.size.mib"}},
		{&vhd.Options{Type: vhd.TypeDynamic, RoundUp: true}, []string{"azure.type"}},
	} {
		img, _ := write(t, raw, c.o)
		rep, err := vhd.Inspect(t.Context(), bytes.NewReader(img), int64(len(img)))
		require.NoError(t, err)
		var got []string
		for _, f := range vhd.CheckAzure(rep) {
			got = append(got, f.Rule)
		}
		assert.Equal(t, c.rules, got)
	}
	small, _ := write(t, image(1<<20, "zero"), nil)
	rep, err := vhd.Inspect(t.Context(), bytes.NewReader(small), int64(len(small)))
	require.NoError(t, err)
	assert.Equal(t, "azure.size.min", vhd.CheckAzure(rep)[0].Rule)
}

// A sparse input file: holes are found with SEEK_DATA and skipped, and the
// output is the same as for the same bytes in memory.
func TestSparseInputFile(t *testing.T) {
	raw := image(11<<20+512, "mixed")
	clear(raw[4<<20 : 9<<20])
	p := filepath.Join(t.TempDir(), "in.raw")
	f, err := os.Create(p)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(int64(len(raw))))
	for off := 0; off < len(raw); off += 1 << 20 {
		end := min(len(raw), off+1<<20)
		if !isZeros(raw[off:end]) {
			_, err := f.WriteAt(raw[off:end], int64(off))
			require.NoError(t, err)
		}
	}
	for _, typ := range []string{vhd.TypeFixed, vhd.TypeDynamic} {
		var buf bytes.Buffer
		_, err := vhd.Write(t.Context(), &buf, f, int64(len(raw)), &vhd.Options{Type: typ})
		require.NoError(t, err)
		mem, _ := write(t, raw, &vhd.Options{Type: typ})
		require.Equal(t, mem, buf.Bytes(), typ)
		// And to a file, with holes in the output.
		op := filepath.Join(t.TempDir(), "out.vhd")
		of, err := os.Create(op)
		require.NoError(t, err)
		_, err = vhd.Write(t.Context(), of, f, int64(len(raw)), &vhd.Options{Type: typ})
		require.NoError(t, err)
		require.NoError(t, of.Close())
		got, err := os.ReadFile(op)
		require.NoError(t, err)
		require.Equal(t, mem, got, typ)
	}
	require.NoError(t, f.Close())
}
