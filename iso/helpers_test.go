package iso_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/iso"
)

// Host files the interop and boot tests use (Debian: isolinux, syslinux-common).
const (
	isolinuxBin = "/usr/lib/ISOLINUX/isolinux.bin"
	isohdpfxBin = "/usr/lib/ISOLINUX/isohdpfx.bin"
	ldlinuxC32  = "/usr/lib/syslinux/modules/bios/ldlinux.c32"
)

var modTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeLoader is a stand-in for isolinux.bin: what matters to the writer is
// its length and bytes (the boot info table goes over 8..63).
func fakeLoader() []byte { return testutil.RandomBytes(7, 6000) }

// smallSpec returns a spec with readers (fresh ones at every call: a
// reader is consumed by Write) for a fake loader, a fake EFI image and a
// few files, one in a deep directory and one empty.
func smallSpec() *iso.Spec {
	r := func(b []byte) iso.File { return iso.File{R: bytes.NewReader(b), Size: int64(len(b))} }
	efi := r(testutil.RandomBytes(3, 70000))
	loader := r(fakeLoader())
	files := []iso.File{
		{Name: "boot/vmlinuz", R: bytes.NewReader(testutil.RandomBytes(4, 100000)), Size: 100000},
		{Name: "boot/initrd.img", R: bytes.NewReader(testutil.RandomBytes(5, 5000)), Size: 5000},
		{Name: "isolinux/isolinux.cfg", R: bytes.NewReader([]byte("default linux\n")), Size: 14},
		{Name: "a/b/c/deep.txt", R: bytes.NewReader([]byte("deep")), Size: 4},
		{Name: "empty", R: bytes.NewReader(nil), Size: 0},
	}
	return &iso.Spec{VolumeID: "FOGKIT_TEST", Files: files, EFI: &efi,
		BIOS: &iso.BIOS{Loader: loader, HybridMBR: bytes.Repeat([]byte{0x90}, 440)}}
}

func smallFiles() map[string][]byte {
	return map[string][]byte{
		"BOOT/VMLINUZ":          testutil.RandomBytes(4, 100000),
		"BOOT/INITRD.IMG":       testutil.RandomBytes(5, 5000),
		"ISOLINUX/ISOLINUX.CFG": []byte("default linux\n"),
		"A/B/C/DEEP.TXT":        []byte("deep"),
		"EMPTY":                 {},
		"BOOT/EFI.IMG":          testutil.RandomBytes(3, 70000),
	}
}

func write(t testing.TB, spec *iso.Spec, o *iso.Options) ([]byte, *iso.Result) {
	t.Helper()
	var buf bytes.Buffer
	res, err := iso.Write(t.Context(), &buf, spec, o)
	require.NoError(t, err)
	require.Equal(t, int64(buf.Len()), res.Size)
	return buf.Bytes(), res
}

func writeFile(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

func openBytes(t testing.TB, b []byte) *iso.Image {
	t.Helper()
	im, err := iso.Open(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	return im
}
