package qcow2_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/qcow2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type qemuInfo struct {
	VirtualSize    int64  `json:"virtual-size"`
	Format         string `json:"format"`
	ClusterSize    int64  `json:"cluster-size"`
	FormatSpecific struct {
		Type string `json:"type"`
		Data struct {
			Compat          string `json:"compat"`
			CompressionType string `json:"compression-type"`
			RefcountBits    int    `json:"refcount-bits"`
			Corrupt         bool   `json:"corrupt"`
			ExtendedL2      bool   `json:"extended-l2"`
		} `json:"data"`
	} `json:"format-specific"`
}

// TestQemuAcceptsOurs: qemu-img check is clean, compare finds the raw
// input, info shows the expected fields.
func TestQemuAcceptsOurs(t *testing.T) {
	qemu := testutil.RequireTool(t, "qemu-img")
	cases := sizes()
	cases["mixed 64 MiB"] = mixed(14, 64<<20)
	for name, raw := range cases {
		for _, comp := range compressions {
			t.Run(name+"/"+comp, func(t *testing.T) {
				dir := t.TempDir()
				rawPath := filepath.Join(dir, "in.raw")
				require.NoError(t, os.WriteFile(rawPath, raw, 0o644))
				q, _ := toQcow2(t, raw, &qcow2.Options{Compression: comp})
				qPath := filepath.Join(dir, "out.qcow2")
				require.NoError(t, os.WriteFile(qPath, q, 0o644))

				res := testutil.Run(t, dir, nil, qemu, "check", "-f", "qcow2", qPath)
				require.Equal(t, 0, res.ExitCode, "check: %s %s", res.Stdout, res.Stderr)
				assert.Contains(t, string(res.Stdout), "No errors were found")

				res = testutil.Run(t, dir, nil, qemu, "compare", "-f", "raw", "-F", "qcow2", rawPath, qPath)
				require.Equal(t, 0, res.ExitCode, "compare: %s %s", res.Stdout, res.Stderr)

				res = testutil.Run(t, dir, nil, qemu, "info", "--output=json", "-f", "qcow2", qPath)
				require.Equal(t, 0, res.ExitCode, "info: %s", res.Stderr)
				var info qemuInfo
				require.NoError(t, json.Unmarshal(res.Stdout, &info))
				assert.Equal(t, "qcow2", info.Format)
				assert.Equal(t, int64(len(padded(raw))), info.VirtualSize)
				assert.Equal(t, int64(65536), info.ClusterSize)
				assert.Equal(t, "1.1", info.FormatSpecific.Data.Compat)
				assert.Equal(t, 16, info.FormatSpecific.Data.RefcountBits)
				want := "zlib"
				if comp == qcow2.CompressionZstd {
					want = "zstd"
				}
				assert.Equal(t, want, info.FormatSpecific.Data.CompressionType)
				assert.False(t, info.FormatSpecific.Data.Corrupt)

				// qemu-img's own conversion back to raw gives the input.
				back := filepath.Join(dir, "back.raw")
				res = testutil.Run(t, dir, nil, qemu, "convert", "-f", "qcow2", "-O", "raw", qPath, back)
				require.Equal(t, 0, res.ExitCode, "convert: %s", res.Stderr)
				got, err := os.ReadFile(back)
				require.NoError(t, err)
				assert.True(t, bytes.Equal(padded(raw), got), "qemu reads other bytes")
			})
		}
	}
}

// TestWeReadQemus: Open returns the raw bytes of qemu-img convert's
// output, plain and compressed (zlib and zstd), and Inspect finds nothing.
func TestWeReadQemus(t *testing.T) {
	qemu := testutil.RequireTool(t, "qemu-img")
	cases := sizes()
	cases["mixed 64 MiB"] = mixed(15, 64<<20)
	variants := map[string][]string{
		"plain":      {"-O", "qcow2"},
		"zlib":       {"-O", "qcow2", "-c"},
		"zstd":       {"-O", "qcow2", "-c", "-o", "compression_type=zstd"},
		"compat0.10": {"-O", "qcow2", "-o", "compat=0.10"},
		"4k":         {"-O", "qcow2", "-c", "-o", "cluster_size=4096"},
	}
	for name, raw := range cases {
		for vname, args := range variants {
			t.Run(name+"/"+vname, func(t *testing.T) {
				dir := t.TempDir()
				rawPath := filepath.Join(dir, "in.raw")
				require.NoError(t, os.WriteFile(rawPath, raw, 0o644))
				qPath := filepath.Join(dir, "q.qcow2")
				res := testutil.Run(t, dir, nil, qemu, append(append([]string{"convert", "-f", "raw"}, args...), rawPath, qPath)...)
				require.Equal(t, 0, res.ExitCode, "convert: %s", res.Stderr)
				q, err := os.ReadFile(qPath)
				require.NoError(t, err)
				got := readAll(t, q)
				assert.True(t, bytes.Equal(padded(raw), got), "guest bytes differ")
				rep, err := qcow2.Inspect(t.Context(), bytes.NewReader(q), int64(len(q)))
				require.NoError(t, err)
				assert.Empty(t, rep.Findings)
			})
		}
	}
}
