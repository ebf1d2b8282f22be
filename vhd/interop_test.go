package vhd_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/vhd"
)

// qemu-img reads our VHDs as the raw input: its virtual size is ours to
// the byte (the default creator app makes qemu use the size field, without
// force_size), "compare" finds them equal, and "check" (which qemu
// supports for vpc in no version so far) is run only to record that.
func TestQemuReadsOurs(t *testing.T) {
	qemu := testutil.RequireTool(t, "qemu-img")
	dir := t.TempDir()
	for _, typ := range []string{vhd.TypeFixed, vhd.TypeDynamic} {
		for _, roundUp := range []bool{false, true} {
			for _, kind := range []string{"zero", "full", "mixed"} {
				for _, s := range sizes[:4] {
					raw := image(s.size, kind)
					img, res := write(t, raw, &vhd.Options{Type: typ, RoundUp: roundUp})
					name := strings.Join([]string{typ, kind, s.name}, "-")
					rawP := filepath.Join(dir, name+".raw")
					vhdP := filepath.Join(dir, name+".vhd")
					// qemu compares the common part and wants the rest zero:
					// the padded raw is what the disk holds.
					require.NoError(t, os.WriteFile(rawP, padded(raw, res.VirtualSize), 0o644))
					require.NoError(t, os.WriteFile(vhdP, img, 0o644))
					var info struct {
						VirtualSize int64  `json:"virtual-size"`
						Format      string `json:"format"`
					}
					out := testutil.MustRun(t, dir, nil, qemu, "info", "-f", "vpc", "--output=json", vhdP)
					require.NoError(t, json.Unmarshal(out, &info))
					assert.Equal(t, res.VirtualSize, info.VirtualSize, name)
					testutil.MustRun(t, dir, nil, qemu, "compare", "-f", "raw", "-F", "vpc", rawP, vhdP)
					if r := testutil.Run(t, dir, nil, qemu, "check", "-f", "vpc", vhdP); r.ExitCode != 0 && r.ExitCode != 63 {
						t.Errorf("qemu-img check %s: exit %d: %s", name, r.ExitCode, r.Stderr)
					}
				}
			}
		}
	}
}

// Our reader reads qemu-img's own VHDs (fixed and dynamic, with and
// without force_size) and returns the original bytes; Inspect finds
// nothing wrong with them.
func TestWeReadQemus(t *testing.T) {
	qemu := testutil.RequireTool(t, "qemu-img")
	dir := t.TempDir()
	for _, sub := range []string{"fixed", "dynamic"} {
		for _, force := range []bool{false, true} {
			for _, kind := range []string{"zero", "full", "mixed"} {
				for _, s := range sizes[:4] {
					raw := image(s.size, kind)
					name := strings.Join([]string{sub, kind, s.name}, "-")
					rawP := filepath.Join(dir, name+".raw")
					vhdP := filepath.Join(dir, name+".vhd")
					require.NoError(t, os.WriteFile(rawP, raw, 0o644))
					opt := "subformat=" + sub
					if force {
						opt += ",force_size=on"
					}
					testutil.MustRun(t, dir, nil, qemu, "convert", "-f", "raw", "-O", "vpc", "-o", opt, rawP, vhdP)
					img, err := os.ReadFile(vhdP)
					require.NoError(t, err)
					got := readAll(t, img)
					if force {
						require.Equal(t, (int64(len(raw))+511)/512*512, int64(len(got)), name)
					}
					// Without force_size qemu rounds the size to its CHS
					// geometry (up); the extra reads as zeros.
					n := min(len(got), len(raw))
					require.True(t, bytes.Equal(raw[:n], got[:n]), name)
					require.True(t, isZeros(got[n:]) && isZeros(raw[n:]), name)
					rep, err := vhd.Inspect(t.Context(), bytes.NewReader(img), int64(len(img)))
					require.NoError(t, err, name)
					assert.Equal(t, sub, rep.Type)
					for _, f := range rep.Findings {
						// qemu's geometry for sizes past CHS is its own.
						assert.Equal(t, "footer.geometry", f.Rule, "%s: %s", name, f)
					}
					// Which Azure takes: it sizes by the footer's size field.
					for _, f := range vhd.CheckAzure(rep) {
						assert.NotEqual(t, "azure.spec", f.Rule, "%s: %s", name, f)
					}
				}
			}
		}
	}
}

// qemu-img converts our VHDs back to the raw bytes, exact size included.
func TestQemuConvertsOursBack(t *testing.T) {
	qemu := testutil.RequireTool(t, "qemu-img")
	dir := t.TempDir()
	raw := image(3<<20+512, "mixed")
	for _, typ := range []string{vhd.TypeFixed, vhd.TypeDynamic} {
		img, _ := write(t, raw, &vhd.Options{Type: typ})
		vhdP := filepath.Join(dir, typ+".vhd")
		outP := filepath.Join(dir, typ+".raw")
		require.NoError(t, os.WriteFile(vhdP, img, 0o644))
		testutil.MustRun(t, dir, nil, qemu, "convert", "-f", "vpc", "-O", "raw", vhdP, outP)
		got, err := os.ReadFile(outP)
		require.NoError(t, err)
		require.True(t, bytes.Equal(raw, got), typ)
	}
}

func isZeros(b []byte) bool { return bytes.Count(b, []byte{0}) == len(b) }

// The creator app decides how qemu sizes a VHD: with a name it does not
// know ("fgkt") it believes the CHS geometry, which covers less than the
// disk; the open option force_size_calc=current_size (force_size is the create option) makes it use the size field, and then the disk
// compares equal again.
func TestQemuCreatorApp(t *testing.T) {
	qemu := testutil.RequireTool(t, "qemu-img")
	dir := t.TempDir()
	raw := image(3<<20+512, "full")
	for _, typ := range []string{vhd.TypeFixed, vhd.TypeDynamic} {
		img, res := write(t, raw, &vhd.Options{Type: typ, CreatorApp: "fgkt"})
		rawP := filepath.Join(dir, typ+".raw")
		vhdP := filepath.Join(dir, typ+".vhd")
		require.NoError(t, os.WriteFile(rawP, raw, 0o644))
		require.NoError(t, os.WriteFile(vhdP, img, 0o644))
		var info struct {
			VirtualSize int64 `json:"virtual-size"`
		}
		require.NoError(t, json.Unmarshal(testutil.MustRun(t, dir, nil, qemu, "info", "-f", "vpc", "--output=json", vhdP), &info))
		assert.Equal(t, res.Geometry.Sectors()*512, info.VirtualSize, typ)
		assert.Less(t, info.VirtualSize, res.VirtualSize)
		spec := `json:{"driver":"vpc","force_size_calc":"current_size","file":{"driver":"file","filename":"` + vhdP + `"}}`
		testutil.MustRun(t, dir, nil, qemu, "compare", "-f", "raw", rawP, spec)
	}
}
