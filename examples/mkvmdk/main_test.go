package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/stretchr/testify/require"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"20G": 20 << 30, "512M": 512 << 20, "1048576": 1 << 20, "4KiB": 4096, "1T": 1 << 40} {
		got, err := parseSize(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "G", "-1", "1X", "99999999999T"} {
		_, err := parseSize(in)
		require.Error(t, err, in)
	}
}

func TestCommand(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "mkvmdk")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)

	raw := filepath.Join(dir, "disk.raw")
	require.NoError(t, os.WriteFile(raw, testutil.TextBytes(1, 3<<20), 0o644))
	vm := filepath.Join(dir, "disk.vmdk")
	stdout, err := exec.Command(bin, "-in", raw, "-o", vm, "-level", "1", "-workers", "2").Output()
	require.NoError(t, err)
	var res struct {
		Size     int64  `json:"size"`
		SHA256   string `json:"sha256"`
		Capacity int64  `json:"capacity"`
		Grains   int64  `json:"grains"`
	}
	require.NoError(t, json.Unmarshal(stdout, &res))
	data, err := os.ReadFile(vm)
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	require.Equal(t, hex.EncodeToString(sum[:]), res.SHA256)
	require.Equal(t, int64(len(data)), res.Size)
	require.Equal(t, int64(3<<20), res.Capacity)
	require.Equal(t, int64(48), res.Grains)

	empty := filepath.Join(dir, "data.vmdk")
	stdout, err = exec.Command(bin, "-size", "20G", "-o", empty).Output()
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(stdout, &res))
	require.Equal(t, int64(20<<30), res.Capacity)
	require.Zero(t, res.Grains)

	qemu := testutil.RequireTool(t, "qemu-img")
	testutil.MustRun(t, dir, nil, qemu, "compare", "-f", "raw", "-F", "vmdk", raw, vm)
	info := testutil.MustRun(t, dir, nil, qemu, "info", "--output=json", empty)
	require.Contains(t, string(info), `"virtual-size": 21474836480`)

	for _, args := range [][]string{
		{"-in", filepath.Join(dir, "missing.raw"), "-o", filepath.Join(dir, "x.vmdk")},
		{"-size", "20Q", "-o", filepath.Join(dir, "y.vmdk")},
		{"-o", filepath.Join(dir, "z.vmdk")},
		{"-in", raw, "-o", filepath.Join(dir, "w.vmdk"), "-level", "12"},
		{"-in", raw, "-o", filepath.Join(dir, "w.vmdk"), "-level", "abc"},
		{"-bogus"},
		{"-in", raw, "-o", raw}, // the input given as the output
	} {
		cmd := exec.Command(bin, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "%v", args)
		require.Equal(t, 1, ee.ExitCode())
		require.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one line: %q", stderr.String())
	}
	got, err := os.ReadFile(raw)
	require.NoError(t, err)
	require.Equal(t, testutil.TextBytes(1, 3<<20), got, "the input survives -o naming it")
}

// FuzzParseSize: -size is outside input; any accepted size is positive,
// at most 2^62, and reads back the same as a plain byte count.
func FuzzParseSize(f *testing.F) {
	quietGC()
	for _, s := range []string{"20G", "512M", "1048576", "4KiB", "1T", "99999999999T", "-1", " 7 kb ", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err != nil {
			return
		}
		if n <= 0 || n > 1<<62 {
			t.Fatalf("parseSize(%q) = %d", s, n)
		}
		if m, err := parseSize(strconv.FormatInt(n, 10)); err != nil || m != n {
			t.Fatalf("parseSize(%q) = %d does not read back: %d, %v", s, n, m, err)
		}
	})
}
