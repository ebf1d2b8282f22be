package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMkdisk(t *testing.T) {
	stub := testutil.RequireFile(t, "UKI stub", "/usr/lib/systemd/boot/efi/linuxx64.efi.stub")
	dir := t.TempDir()
	kernel := make([]byte, 8192)
	copy(kernel[0x202:], "HdrS")
	kp := filepath.Join(dir, "vmlinuz")
	ip := filepath.Join(dir, "initrd.img")
	require.NoError(t, os.WriteFile(kp, kernel, 0o644))
	require.NoError(t, os.WriteFile(ip, []byte("initrd"), 0o644))
	out := filepath.Join(dir, "disk.raw")
	var stdout bytes.Buffer
	err := run([]string{"-kernel", kp, "-initrd", ip, "-cmdline", "console=ttyS0", "-loader", "uki",
		"-efi", stub, "-size", "64M", "-seed", "x", "-o", out}, &stdout)
	require.NoError(t, err)
	var res disk.Result
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &res))
	assert.Equal(t, int64(64<<20), res.Layout.Size)
	require.Len(t, res.Files, 1)
	assert.Equal(t, "EFI/BOOT/BOOTX64.EFI", res.Files[0].Path)
	back, err := disk.InspectFile(out)
	require.NoError(t, err)
	assert.Equal(t, res, *back)

	err = run([]string{"-kernel", kp, "-o", out}, &stdout)
	assert.True(t, errors.Is(err, errUsage))
	err = run([]string{"-kernel", filepath.Join(dir, "missing"), "-efi", stub, "-loader", "uki", "-o", out}, &stdout)
	assert.ErrorIs(t, err, disk.ErrMissingAsset)
}

// TestBadSize: -size goes through appliance.ParseSize; what it refuses is
// a usage error.
func TestBadSize(t *testing.T) {
	for _, in := range []string{"", "x", "-1M", "0"} {
		err := run([]string{"-kernel", "k", "-efi", "e", "-size", in, "-o", filepath.Join(t.TempDir(), "d.raw")}, io.Discard)
		if in == "" {
			assert.NotErrorIs(t, err, errUsage, "an empty -size fits the content")
			continue
		}
		assert.ErrorIs(t, err, errUsage, in)
	}
}
