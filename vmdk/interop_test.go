package vmdk_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/vmdk"
	"github.com/stretchr/testify/require"
)

// island is data placed into a sparse raw image.
type island struct {
	off  int64
	data []byte
}

// fsLike returns islands shaped like a small file system: metadata at the
// start, files scattered through the image, a backup superblock near the end.
func fsLike(size int64) []island {
	var is []island
	is = append(is, island{0, testutil.TextBytes(1, 1024)}, island{4096, testutil.RandomBytes(2, 8192)})
	for i := int64(1); i < 20; i++ {
		off := (size / 23 * i) &^ 4095
		if i%3 == 0 {
			is = append(is, island{off, testutil.RandomBytes(uint64(i), int(4096*i))})
		} else {
			is = append(is, island{off, testutil.TextBytes(uint64(i), int(20000*i))})
		}
	}
	is = append(is, island{size - 8192, testutil.TextBytes(99, 4096)})
	return is
}

func makeRaw(t *testing.T, dir string, size int64, islands []island) string {
	t.Helper()
	p := filepath.Join(dir, "in.raw")
	f, err := os.Create(p)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(size))
	for _, is := range islands {
		_, err := f.WriteAt(is.data, is.off)
		require.NoError(t, err)
	}
	require.NoError(t, f.Close())
	return p
}

type qemuInfo struct {
	VirtualSize    int64  `json:"virtual-size"`
	Format         string `json:"format"`
	FormatSpecific struct {
		Data struct {
			CreateType string `json:"create-type"`
			Extents    []struct {
				Compressed  bool  `json:"compressed"`
				VirtualSize int64 `json:"virtual-size"`
			} `json:"extents"`
		} `json:"data"`
	} `json:"format-specific"`
}

func TestQemuCompare(t *testing.T) {
	qemu := testutil.RequireTool(t, "qemu-img")
	const mib = 1 << 20
	cases := []struct {
		name    string
		size    int64
		islands []island
		verify  bool // read back through Open and compare every byte
	}{
		{"zeros", 1 * mib, nil, true},
		{"random", 1 * mib, []island{{0, testutil.RandomBytes(1, mib)}}, true},
		{"text-1MiB", 1 * mib, []island{{0, testutil.TextBytes(1, mib)}}, true},
		{"fs-like", 48 * mib, fsLike(48 * mib), true},
		{"first-sector", 3 * mib, []island{{0, testutil.RandomBytes(3, 512)}}, true},
		{"last-sector", 3 * mib, []island{{3*mib - 512, testutil.RandomBytes(4, 512)}}, true},
		{"n64k+512", 37*64<<10 + 512, []island{{0, mixed(5, 37*64<<10+512)}}, true},
		{"over-4GiB", 4<<30 + 300*mib + 512, []island{
			{0, testutil.RandomBytes(6, 70000)},
			{1 << 30, testutil.TextBytes(7, 3*mib)},
			{4<<30 - 40000, testutil.RandomBytes(8, 100000)}, // crosses 4 GiB
			{4<<30 + 100*mib, mixed(9, 2*mib)},
			{4<<30 + 300*mib, testutil.RandomBytes(10, 512)}, // last sector
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := makeRaw(t, dir, tc.size, tc.islands)
			out := filepath.Join(dir, "out.vmdk")
			f, err := os.Open(in)
			require.NoError(t, err)
			o, err := os.Create(out)
			require.NoError(t, err)
			res, err := vmdk.Write(t.Context(), o, f, tc.size, &vmdk.Options{FileName: "out.vmdk"})
			require.NoError(t, err)
			require.NoError(t, o.Close())
			require.NoError(t, f.Close())
			require.Equal(t, tc.size, res.Capacity)

			testutil.MustRun(t, dir, nil, qemu, "compare", "-f", "raw", "-F", "vmdk", in, out)
			var info qemuInfo
			require.NoError(t, json.Unmarshal(testutil.MustRun(t, dir, nil, qemu, "info", "--output=json", out), &info))
			require.Equal(t, "vmdk", info.Format)
			require.Equal(t, tc.size, info.VirtualSize)
			require.Equal(t, "streamOptimized", info.FormatSpecific.Data.CreateType)
			require.Len(t, info.FormatSpecific.Data.Extents, 1)
			require.True(t, info.FormatSpecific.Data.Extents[0].Compressed)
			require.Equal(t, tc.size, info.FormatSpecific.Data.Extents[0].VirtualSize)
			r := testutil.Run(t, dir, nil, qemu, "check", out)
			require.Equal(t, 0, r.ExitCode, "qemu-img check: %s %s", r.Stdout, r.Stderr)

			fh, err := os.Open(out)
			require.NoError(t, err)
			rep, err := vmdk.Verify(t.Context(), fh, nil)
			require.NoError(t, err)
			require.Empty(t, rep.Findings)
			require.Equal(t, res.Grains, rep.Grains)
			require.Equal(t, res.Size, rep.Size)
			require.NoError(t, fh.Close())

			if tc.verify {
				v, err := os.ReadFile(out)
				require.NoError(t, err)
				raw, err := os.ReadFile(in)
				require.NoError(t, err)
				require.Equal(t, raw, readAll(t, v))
			} else {
				fh, err := os.Open(out)
				require.NoError(t, err)
				defer fh.Close()
				d, err := vmdk.Open(fh, res.Size)
				require.NoError(t, err)
				for _, is := range tc.islands {
					got := make([]byte, len(is.data)+2048)
					start := max(0, is.off-1024)
					n, _ := d.ReadAt(got, start)
					want := make([]byte, len(got))
					copy(want[is.off-start:], is.data)
					require.Equal(t, want[:n], got[:n], "island at %d", is.off)
				}
			}
		})
	}
}

// TestReadQemuStream reads qemu-img's own streamOptimized output.
func TestReadQemuStream(t *testing.T) {
	qemu := testutil.RequireTool(t, "qemu-img")
	dir := t.TempDir()
	const size = 40 << 20
	in := makeRaw(t, dir, size, fsLike(size))
	out := filepath.Join(dir, "q.vmdk")
	testutil.MustRun(t, dir, nil, qemu, "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", in, out)
	v, err := os.ReadFile(out)
	require.NoError(t, err)
	raw, err := os.ReadFile(in)
	require.NoError(t, err)
	require.Equal(t, raw, readAll(t, v))
	// Verify walks it without failing; qemu's layout differs from ours
	// (directory in the header, no footer), which it reports as findings.
	rep, err := vmdk.Verify(t.Context(), bytes.NewReader(v), nil)
	require.NoError(t, err)
	require.Positive(t, rep.Grains)
	require.False(t, rep.OK())

	// And our writer reproduces the disk from qemu's VMDK through Open.
	d, err := vmdk.Open(bytes.NewReader(v), int64(len(v)))
	require.NoError(t, err)
	var ours bytes.Buffer
	_, err = vmdk.Write(t.Context(), &ours, d, d.Size(), nil)
	require.NoError(t, err)
	require.Equal(t, raw, readAll(t, ours.Bytes()))
}

// TestFooterlessLayout: the layout with the directory offset in the header
// and no footer (as VMware's vmdk-convert writes it) reads back, in our
// reader and in qemu.
func TestFooterlessLayout(t *testing.T) {
	raw := mixed(11, 5<<20)
	v, _ := toVMDK(t, raw, nil)
	n := len(v)
	gd := u64(v, n-2*512+56)
	fl := bytes.Clone(v[:n-3*512])
	binary.LittleEndian.PutUint64(fl[56:], gd)
	require.Equal(t, raw, readAll(t, fl))

	qemu := testutil.RequireTool(t, "qemu-img")
	dir := t.TempDir()
	in := testutil.WriteFile(t, dir, "in.raw", raw)
	out := testutil.WriteFile(t, dir, "fl.vmdk", fl)
	testutil.MustRun(t, dir, nil, qemu, "compare", "-f", "raw", "-F", "vmdk", in, out)
}

// TestHugeSparseFile: a 1 TiB sparse file converts by reading only its
// data extents (reading the holes would take many minutes).
func TestHugeSparseFile(t *testing.T) {
	const size = 1 << 40
	islands := []island{{0, testutil.TextBytes(1, 5000)}, {size / 3, testutil.RandomBytes(2, 100000)}, {size - 512, testutil.RandomBytes(3, 512)}}
	dir := t.TempDir()
	in := makeRaw(t, dir, size, islands)
	f, err := os.Open(in)
	require.NoError(t, err)
	defer f.Close()
	if h, err := f.Seek(0, 4 /* SEEK_HOLE */); err != nil || h >= size {
		t.Skipf("the file system of %s does not report holes (SEEK_HOLE: %d, %v)", dir, h, err)
	}
	var out bytes.Buffer
	res, err := vmdk.Write(t.Context(), &out, f, size, nil)
	require.NoError(t, err)
	require.Equal(t, int64(size), res.Capacity)
	require.Equal(t, int64(1+2+1), res.Grains) // the 100000 bytes at size/3 span 2 grains
	rep := verifyOK(t, out.Bytes())
	require.Equal(t, int64(3), rep.GrainTables)
	d, err := vmdk.Open(bytes.NewReader(out.Bytes()), int64(out.Len()))
	require.NoError(t, err)
	for _, is := range islands {
		got := make([]byte, len(is.data))
		_, err := d.ReadAt(got, is.off)
		require.NoError(t, err)
		require.Equal(t, is.data, got)
	}
}
