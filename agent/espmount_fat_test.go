package agent

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/esp"
	"github.com/fogkit/fogkit/internal/testutil"
)

// noFATCheck stands in for the FAT check on fake disks without a FAT.
func noFATCheck(string) ([]string, error) { return nil, nil }

func TestMountESPChecksTheFATFirst(t *testing.T) {
	ft := newFakeTree(t)
	ft.block(t, "vda", "", gptDisk(map[int][]byte{1: guidBytes(0x11)}), 8<<20)
	ft.block(t, "vda1", "vda", nil, 4<<20)
	var m mountRec
	var checked []string
	check := func(dev string) ([]string, error) {
		require.Empty(t, m.calls, "checked before the mount")
		checked = append(checked, dev)
		return []string{"repaired: the dirty bit is set: cleared"}, nil
	}
	o := &ESPMountOptions{Mountpoint: filepath.Join(t.TempDir(), "esp"), SysRoot: ft.sys, DevRoot: ft.dev, Mount: m.mount, CheckFAT: check}
	got, err := MountESP(t.Context(), o)
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Join(ft.dev, "vda1")}, checked)
	require.Equal(t, []string{"repaired: the dirty bit is set: cleared"}, got.Repaired)
	require.Len(t, m.calls, 1)

	boom := errors.New("read error")
	o.CheckFAT = func(string) ([]string, error) { return nil, boom }
	m.calls = nil
	_, err = MountESP(t.Context(), o)
	require.ErrorIs(t, err, boom)
	require.ErrorIs(t, err, ErrMount)
	require.Empty(t, m.calls, "not mounted when the check fails")
}

// The default check refuses a partition without a FAT32 volume.
func TestMountESPDefaultCheckRefusesGarbage(t *testing.T) {
	ft := newFakeTree(t)
	ft.block(t, "vda", "", gptDisk(map[int][]byte{1: guidBytes(0x11)}), 8<<20)
	ft.block(t, "vda1", "vda", nil, 4<<20)
	var m mountRec
	_, err := MountESP(t.Context(), &ESPMountOptions{Mountpoint: filepath.Join(t.TempDir(), "esp"), SysRoot: ft.sys, DevRoot: ft.dev, Mount: m.mount})
	require.ErrorIs(t, err, esp.ErrFAT)
	require.ErrorIs(t, err, ErrMount)
	require.Empty(t, m.calls)
}

// A power cut during an update's ESP writes leaves the dirty bit and a
// wrong free count; MountESP's default check repairs both before the
// mount and reports it, and fsck.fat agrees.
func TestMountESPRepairsADirtyESP(t *testing.T) {
	mkfs := testutil.RequireTool(t, "mkfs.fat")
	fsck := testutil.RequireTool(t, "fsck.fat")
	img := filepath.Join(t.TempDir(), "esp.img")
	out, err := exec.Command(mkfs, "-F", "32", "-s", "1", "-C", img, "34000").CombinedOutput()
	require.NoError(t, err, "%s", out)
	b, err := os.ReadFile(img)
	require.NoError(t, err)
	b[0x41] |= 1       // dirty
	b[512+488] ^= 0x02 // FSInfo free count
	require.NoError(t, os.WriteFile(img, b, 0o644))
	require.Error(t, exec.Command(fsck, "-n", img).Run(), "fsck.fat sees the damage")

	ft := newFakeTree(t)
	ft.block(t, "vda", "", gptDisk(map[int][]byte{1: guidBytes(0x11)}), 64<<20)
	ft.block(t, "vda1", "vda", b, int64(len(b)))
	var m mountRec
	got, err := MountESP(t.Context(), &ESPMountOptions{Mountpoint: filepath.Join(t.TempDir(), "esp"), SysRoot: ft.sys, DevRoot: ft.dev, Mount: m.mount})
	require.NoError(t, err)
	require.Len(t, got.Repaired, 2, "%q", got.Repaired)
	require.Contains(t, got.Repaired[1], "dirty bit")
	require.Len(t, m.calls, 1)
	out, err = exec.Command(fsck, "-n", filepath.Join(ft.dev, "vda1")).CombinedOutput()
	require.NoError(t, err, "fsck.fat is clean after the repair: %s", out)

	again, err := CheckESPDevice(filepath.Join(ft.dev, "vda1"))
	require.NoError(t, err)
	require.Empty(t, again)
}
