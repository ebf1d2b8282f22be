package agent

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/require"
)

// gptDisk is a disk whose GPT holds, at the given 1-based indexes, ESP
// entries with the given unique GUIDs (16 raw bytes each).
func gptDisk(esps map[int][]byte) []byte {
	b := make([]byte, 64<<10)
	copy(b[512:], "EFI PART")
	binary.LittleEndian.PutUint64(b[512+72:], 2)
	binary.LittleEndian.PutUint32(b[512+80:], 128)
	binary.LittleEndian.PutUint32(b[512+84:], 128)
	for i, guid := range esps {
		e := 1024 + (i-1)*128
		copy(b[e:], espGUID)
		copy(b[e+16:], guid)
	}
	return b
}

func guidBytes(n byte) []byte {
	g := make([]byte, 16)
	for i := range g {
		g[i] = n
	}
	return g
}

func loaderVar(guid string) []byte {
	b := []byte{7, 0, 0, 0}
	for _, c := range utf16.Encode([]rune(guid)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return append(b, 0, 0)
}

func TestMountESP(t *testing.T) {
	ft := newFakeTree(t)
	ft.block(t, "vda", "", gptDisk(map[int][]byte{1: guidBytes(0x11)}), 8<<20)
	ft.block(t, "vda1", "vda", nil, 4<<20)
	ft.block(t, "vdb", "", nil, 8<<20) // data disk, no GPT
	var m mountRec
	mp := filepath.Join(t.TempDir(), "esp")
	got, err := MountESP(t.Context(), &ESPMountOptions{Mountpoint: mp, SysRoot: ft.sys, DevRoot: ft.dev, Mount: m.mount, CheckFAT: noFATCheck})
	require.NoError(t, err)
	require.Equal(t, filepath.Join(ft.dev, "vda1"), got.Device)
	require.Equal(t, "11111111-1111-1111-1111-111111111111", got.PartUUID)
	require.False(t, got.Booted)
	require.Equal(t, []mountCall{{filepath.Join(ft.dev, "vda1"), mp, "vfat", "umask=0077,shortname=mixed,iocharset=iso8859-1,errors=remount-ro"}}, m.calls)
	require.NotZero(t, m.flags&msRdonly, "mounted read-only at rest")

	require.NoError(t, got.SetWritable(true))
	require.NotZero(t, m.flags&msRemount)
	require.Zero(t, m.flags&msRdonly)
	require.NoError(t, got.SetWritable(false))
	require.NotZero(t, m.flags&msRdonly)
}

func TestMountESPPrefersTheLoadersPartition(t *testing.T) {
	ft := newFakeTree(t)
	ft.block(t, "sda", "", gptDisk(map[int][]byte{1: guidBytes(0x11)}), 8<<20)
	ft.block(t, "sda1", "sda", nil, 4<<20)
	ft.block(t, "sdb", "", gptDisk(map[int][]byte{1: guidBytes(0x22)}), 8<<20)
	ft.block(t, "sdb1", "sdb", nil, 4<<20)
	var m mountRec
	o := &ESPMountOptions{Mountpoint: filepath.Join(t.TempDir(), "esp"), SysRoot: ft.sys, DevRoot: ft.dev, Mount: m.mount, CheckFAT: noFATCheck}
	_, err := MountESP(t.Context(), o)
	require.ErrorIs(t, err, ErrESPAmbiguous, "two ESPs and no word from the loader")
	require.Empty(t, m.calls)

	vars := filepath.Join(ft.sys, "firmware", "efi", "efivars")
	require.NoError(t, os.MkdirAll(vars, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(vars, "LoaderDevicePartUUID-"+loaderVendorGUID),
		loaderVar("22222222-2222-2222-2222-222222222222"), 0o644))
	got, err := MountESP(t.Context(), o)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(ft.dev, "sdb1"), got.Device)
	require.True(t, got.Booted)
}

func TestMountESPNone(t *testing.T) {
	ft := newFakeTree(t)
	ft.block(t, "vdb", "", nil, 8<<20)
	ft.block(t, "vdb1", "vdb", nil, 4<<20)
	var m mountRec
	_, err := MountESP(t.Context(), &ESPMountOptions{Mountpoint: filepath.Join(t.TempDir(), "esp"), SysRoot: ft.sys, DevRoot: ft.dev, Mount: m.mount, CheckFAT: noFATCheck})
	require.ErrorIs(t, err, ErrNoESP)

	m2 := func(string, string, string, uintptr, string) error { return errors.New("no vfat") }
	ft.block(t, "vda", "", gptDisk(map[int][]byte{1: guidBytes(0x11)}), 8<<20)
	ft.block(t, "vda1", "vda", nil, 4<<20)
	_, err = MountESP(t.Context(), &ESPMountOptions{Mountpoint: filepath.Join(t.TempDir(), "esp"), SysRoot: ft.sys, DevRoot: ft.dev, Mount: m2, CheckFAT: noFATCheck})
	require.ErrorIs(t, err, ErrMount)
}

func TestParseLoaderPartUUID(t *testing.T) {
	require.Equal(t, "ABCDEF01-2345-6789-ABCD-EF0123456789", parseLoaderPartUUID(loaderVar("abcdef01-2345-6789-abcd-ef0123456789")))
	for _, bad := range [][]byte{nil, {1, 2, 3}, {7, 0, 0, 0, 'x'}, loaderVar("not-a-guid")} {
		require.Empty(t, parseLoaderPartUUID(bad))
	}
}

func FuzzGPTESPs(f *testing.F) {
	f.Add(gptDisk(map[int][]byte{1: guidBytes(1), 3: guidBytes(3)})[:4096])
	f.Fuzz(func(t *testing.T, b []byte) {
		m, _ := gptESPs(readerAt(b))
		for i := range m {
			if i < 1 || i > 1024 {
				t.Fatalf("partition %d", i)
			}
		}
	})
}

type readerAt []byte

func (r readerAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= int64(len(r)) {
		return 0, errors.New("EOF")
	}
	n := copy(p, r[off:])
	if n < len(p) {
		return n, errors.New("EOF")
	}
	return n, nil
}
