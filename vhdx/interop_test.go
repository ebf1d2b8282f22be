package vhdx_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/vhdx"
	"github.com/stretchr/testify/require"
)

type qemuInfo struct {
	VirtualSize int64  `json:"virtual-size"`
	Format      string `json:"format"`
	ClusterSize int64  `json:"cluster-size"`
}

// TestQemuCheckCompare: qemu-img check finds no error in our output and
// qemu-img compare finds it equal to the raw input.
func TestQemuCheckCompare(t *testing.T) {
	qemu := testutil.RequireTool(t, "qemu-img")
	cases := []struct {
		name    string
		size    int64
		islands []island
		o       *vhdx.Options
	}{
		{"odd-1MiB+512", mib + 512, []island{{0, testutil.RandomBytes(1, mib+512)}}, nil},
		{"odd-33MiB+4096", 33*mib + 4096, []island{{0, testutil.TextBytes(2, 4096)}, {33 * mib, testutil.RandomBytes(3, 4096)}}, nil},
		{"all-zero", 40 * mib, nil, nil},
		{"full-random", 6 * mib, []island{{0, testutil.RandomBytes(4, 6*mib)}}, &vhdx.Options{BlockSize: mib}},
		{"mixed-1MiB-blocks", 50 * mib, []island{{0, mixed(5, 3*mib)}, {30 * mib, mixed(6, 5*mib)}, {50*mib - 4096, testutil.RandomBytes(7, 4096)}}, &vhdx.Options{BlockSize: mib}},
		// qemu reads only 512-byte logical sectors.
		{"mixed-512-physical", 20 * mib, []island{{0, mixed(8, 2*mib)}, {12*mib + 4096, mixed(9, mib)}}, &vhdx.Options{BlockSize: 2 * mib, PhysicalSectorSize: 512}},
		{"odd-not-sector", 3*mib + 100, []island{{3 * mib, testutil.RandomBytes(10, 100)}}, &vhdx.Options{BlockSize: mib}},
		{"many-chunks", 300 * mib, []island{{0, testutil.TextBytes(11, 4096)}, {299 * mib, testutil.RandomBytes(12, mib)}}, &vhdx.Options{BlockSize: mib}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := makeRaw(t, dir, tc.size, tc.islands)
			out := filepath.Join(dir, "out.vhdx")
			f, err := os.Open(in)
			require.NoError(t, err)
			defer f.Close()
			o, err := os.Create(out)
			require.NoError(t, err)
			res, err := vhdx.Write(t.Context(), o, f, tc.size, tc.o)
			require.NoError(t, err)
			require.NoError(t, o.Close())
			if tc.size%512 != 0 {
				// qemu-img compares the raw file as it is; pad it to the
				// virtual size, whose tail reads as zeros.
				require.NoError(t, os.Truncate(in, res.VirtualSize))
			}

			r := testutil.Run(t, dir, nil, qemu, "check", "-f", "vhdx", out)
			require.Equal(t, 0, r.ExitCode, "qemu-img check: %s %s", r.Stdout, r.Stderr)
			testutil.MustRun(t, dir, nil, qemu, "compare", "-f", "raw", "-F", "vhdx", in, out)
			var info qemuInfo
			require.NoError(t, json.Unmarshal(testutil.MustRun(t, dir, nil, qemu, "info", "-f", "vhdx", "--output=json", out), &info))
			require.Equal(t, "vhdx", info.Format)
			require.Equal(t, res.VirtualSize, info.VirtualSize)
			require.Equal(t, int64(res.BlockSize), info.ClusterSize)
		})
	}
}
