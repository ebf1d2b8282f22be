package vhdx_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/vhdx"
	"github.com/stretchr/testify/require"
)

// readAll opens a VHDX and returns its virtual disk.
func readAll(t testing.TB, v []byte) []byte {
	t.Helper()
	d, err := vhdx.Open(bytes.NewReader(v), int64(len(v)))
	require.NoError(t, err)
	raw := make([]byte, d.Size())
	n, err := d.ReadAt(raw, 0)
	require.NoError(t, err)
	require.Equal(t, len(raw), n)
	return raw
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  []byte
		o    *vhdx.Options
	}{
		{"odd-1MiB+512", testutil.RandomBytes(1, mib+512), nil},
		{"odd-33MiB+4096", rawBytes(33*mib+4096, []island{{33 * mib, testutil.RandomBytes(2, 4096)}}), &vhdx.Options{BlockSize: mib}},
		{"all-zero", make([]byte, 9*mib), nil},
		{"4K-sectors", rawBytes(20*mib, []island{{0, mixed(3, 2*mib)}, {12*mib + 4096, mixed(4, mib)}}), &vhdx.Options{BlockSize: 2 * mib, LogicalSectorSize: 4096, PhysicalSectorSize: 4096}},
		{"not-sector-multiple", testutil.RandomBytes(5, 3*mib+100), &vhdx.Options{BlockSize: mib}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, res := toVHDX(t, tc.raw, tc.o)
			got := readAll(t, v)
			require.Equal(t, res.VirtualSize, int64(len(got)))
			require.Equal(t, tc.raw, got[:len(tc.raw)])
			require.True(t, isZeros(got[len(tc.raw):]))
			d, err := vhdx.Open(bytes.NewReader(v), int64(len(v)))
			require.NoError(t, err)
			in := d.Info()
			require.Equal(t, res.VirtualDiskID, in.VirtualDiskID)
			require.Equal(t, 2, in.HeaderIndex)
			// Reads across block boundaries and at the end.
			buf := make([]byte, 5000)
			n, err := d.ReadAt(buf, d.Size()-1000)
			require.Equal(t, 1000, n)
			require.ErrorIs(t, err, io.EOF)
			_, err = d.ReadAt(buf, d.Size())
			require.ErrorIs(t, err, io.EOF)
		})
	}
}

func isZeros(b []byte) bool { return bytes.Count(b, []byte{0}) == len(b) }

// TestReadQemuOutput: our reader returns the raw bytes of images qemu-img
// converted to VHDX, dynamic and fixed, with several block sizes.
func TestReadQemuOutput(t *testing.T) {
	qemu := testutil.RequireTool(t, "qemu-img")
	dir := t.TempDir()
	const size = 70 * mib
	islands := []island{{0, mixed(1, 3*mib)}, {33*mib - 1000, testutil.RandomBytes(2, 5000)}, {size - 512, testutil.TextBytes(3, 512)}}
	in := makeRaw(t, dir, size, islands)
	raw := rawBytes(size, islands)
	for _, o := range []string{"", "block_size=1M", "block_size=8M", "block_size=256M", "subformat=fixed,block_size=4M"} {
		t.Run(o, func(t *testing.T) {
			out := filepath.Join(dir, "q.vhdx")
			args := []string{"convert", "-f", "raw", "-O", "vhdx"}
			if o != "" {
				args = append(args, "-o", o)
			}
			testutil.MustRun(t, dir, nil, qemu, append(args, in, out)...)
			v, err := os.ReadFile(out)
			require.NoError(t, err)
			require.Equal(t, raw, readAll(t, v))
			rep, err := vhdx.Inspect(t.Context(), bytes.NewReader(v), int64(len(v)))
			require.NoError(t, err)
			require.Empty(t, rep.Findings)

			// And our writer reproduces the disk from qemu's VHDX.
			d, err := vhdx.Open(bytes.NewReader(v), int64(len(v)))
			require.NoError(t, err)
			var ours bytes.Buffer
			_, err = vhdx.Write(t.Context(), &ours, d, d.Size(), nil)
			require.NoError(t, err)
			require.Equal(t, raw, readAll(t, ours.Bytes()))
		})
	}
}

// TestReadQemuWritten: an image qemu created and then wrote to through its
// log (the log keeps its entries, the headers' log GUID is zero again after
// a clean close) reads as qemu-img converts it to raw.
func TestReadQemuWritten(t *testing.T) {
	qemu := testutil.RequireTool(t, "qemu-img")
	qio := testutil.RequireTool(t, "qemu-io")
	dir := t.TempDir()
	img := filepath.Join(dir, "w.vhdx")
	testutil.MustRun(t, dir, nil, qemu, "create", "-f", "vhdx", "-o", "block_size=1M", img, "10M")
	testutil.MustRun(t, dir, nil, qio, "-f", "vhdx", "-c", "write -P 0x55 3M 1M", "-c", "write -P 0xaa 9437184 4096", img)
	raw := filepath.Join(dir, "w.raw")
	testutil.MustRun(t, dir, nil, qemu, "convert", "-f", "vhdx", "-O", "raw", img, raw)
	v, err := os.ReadFile(img)
	require.NoError(t, err)
	want, err := os.ReadFile(raw)
	require.NoError(t, err)
	require.Equal(t, want, readAll(t, v))
	require.Equal(t, byte(0x55), want[3*mib])
}
