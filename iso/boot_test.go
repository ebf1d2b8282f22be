package iso_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/internal/testutil/testinitrd"
	"github.com/fogkit/fogkit/iso"
	"github.com/fogkit/fogkit/rootfs"
)

// Boot tests: the test kernel and an initramfs with the test /init, in an
// ISO whose EFI image is the ESP of a disk built by the disk package (a UKI
// as \EFI\BOOT\BOOTX64.EFI) and whose BIOS boot is isolinux; qemu (TCG)
// boots it four ways. One guest runs at a time (the harness's lock).
const (
	bootTimeout = 240 * time.Second
	ukiStub     = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
)

// espImage builds a UKI disk with the disk package and returns its ESP
// partition as a FAT image file.
func espImage(t *testing.T, kernel, initrd, cmdline string) string {
	t.Helper()
	raw := filepath.Join(t.TempDir(), "disk.raw")
	res, err := disk.BuildFile(t.Context(), &disk.Spec{Loader: disk.UKI, EFI: disk.File{Path: ukiStub},
		Kernel: disk.File{Path: kernel}, Initrds: []disk.File{{Path: initrd}}, Cmdline: cmdline},
		raw, &disk.Options{Seed: "iso-boot"})
	require.NoError(t, err)
	p := res.Layout.Partitions[0]
	f, err := os.Open(raw)
	require.NoError(t, err)
	defer f.Close()
	out := filepath.Join(t.TempDir(), "esp.img")
	o, err := os.Create(out)
	require.NoError(t, err)
	defer o.Close()
	_, err = io.Copy(o, io.NewSectionReader(f, p.Offset, p.Size))
	require.NoError(t, err)
	require.NoError(t, o.Close())
	return out
}

func bootISO(t *testing.T, nonce string) string {
	t.Helper()
	kernel := testutil.TestKernel(t)
	testutil.RequireFile(t, "UKI stub", ukiStub)
	spec, _ := hybridSpec(t)
	if kernel == "" {
		t.SkipNow()
	}
	cmdline := "console=ttyS0 panic=-1 no_timer_check fogkit.nonce=" + nonce
	initrd := testinitrd.File(t)
	cfg := fmt.Sprintf("SERIAL 0 115200\nDEFAULT linux\nPROMPT 0\nTIMEOUT 1\nLABEL linux\n  KERNEL /boot/vmlinuz\n  INITRD /boot/initrd.img\n  APPEND %s\n", cmdline)
	spec.EFI = &iso.File{Path: espImage(t, kernel, initrd, cmdline)}
	spec.Files = []iso.File{
		{Name: "isolinux/ldlinux.c32", Path: ldlinuxC32},
		{Name: "isolinux/isolinux.cfg", R: bytes.NewReader([]byte(cfg)), Size: int64(len(cfg))},
		{Name: "boot/vmlinuz", Path: kernel},
		{Name: "boot/initrd.img", Path: initrd},
	}
	path := filepath.Join(t.TempDir(), "boot.iso")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	res, err := iso.Write(t.Context(), f, spec, &iso.Options{Seed: nonce})
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Zero(t, res.Boot[1].Sectors, "an ESP of 33 MiB or more: the count is 0, OVMF reads to the volume's end")
	return path
}

func TestBoot(t *testing.T) {
	qemu := testutil.RequireTool(t, "qemu-system-x86_64")
	testutil.RequireFile(t, "OVMF code", testutil.OVMFCode)
	testutil.RequireFile(t, "OVMF vars", testutil.OVMFVars)
	nonce := testutil.NewNonce()
	img := bootISO(t, nonce)
	// The harness always attaches BootOptions.Disk as a virtio disk: the
	// CD-ROM and USB boots give it a blank one (no boot signature, no file
	// system) and attach the ISO themselves, first in the boot order.
	blank := writeFile(t, "blank.raw", make([]byte, 1<<20))
	cdrom := []string{"-drive", "if=none,id=cd,media=cdrom,readonly=on,format=raw,file=" + img,
		"-device", "ide-cd,drive=cd,bootindex=0"}
	// edk2 looks for El Torito before MBR partitions on any disk, so the
	// USB boot gets a copy whose catalog fails its checksum: only the
	// hybrid MBR's 0xEF partition is left to boot from.
	noCatalog := noElTorito(t, img)
	usb := []string{"-device", "qemu-xhci,id=xhci", "-drive", "if=none,id=usb,readonly=on,format=raw,file=" + noCatalog,
		"-device", "usb-storage,bus=xhci.0,drive=usb,bootindex=0"}
	for _, c := range []struct {
		name    string
		fw      testutil.Firmware
		disk    string
		devices []string
		want    string // proof of the path taken
	}{
		{"SeaBIOS/CD-ROM/isolinux", testutil.BIOS, blank, cdrom, "ISOLINUX 6"},
		{"OVMF/CD-ROM/El Torito EFI", testutil.UEFI, blank, cdrom, "UEFI QEMU DVD-ROM"},
		{"OVMF/USB disk/MBR 0xEF partition", testutil.UEFI, blank, usb, "USB HARDDRIVE"},
		// SeaBIOS reads no El Torito from a disk: this is isohdpfx.bin
		// loading isolinux.bin from the address at MBR byte 432.
		{"SeaBIOS/hard disk/isohdpfx", testutil.BIOS, img, nil, "ISOLINUX 6"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Logf("interop: qemu-system-x86_64 %s", c.name)
			res, err := testutil.BootE(t.Context(), qemu, t.TempDir(), testutil.BootOptions{Firmware: c.fw, Disk: c.disk,
				Devices: c.devices, Marker: testutil.BootMarker(nonce), Timeout: bootTimeout})
			require.NoError(t, err)
			require.Contains(t, res.Console, c.want)
			t.Logf("booted in %s", res.Duration.Round(time.Millisecond))
		})
	}
}

// noElTorito copies the image with its boot catalog's validation entry
// broken (and checks that Open refuses it for that).
func noElTorito(t *testing.T, img string) string {
	t.Helper()
	b, err := os.ReadFile(img)
	require.NoError(t, err)
	info := openBytes(t, b).Info()
	b[int64(info.CatalogLBA)*2048+4] ^= 0xff // the ID string, under the checksum
	_, err = iso.Open(bytes.NewReader(b), int64(len(b)))
	require.ErrorIs(t, err, iso.ErrChecksum)
	return writeFile(t, "no-eltorito.iso", b)
}

// TestLinuxMounts boots the generic test kernel with an initramfs that
// mounts the image (attached as a virtio disk) as iso9660 and prints every
// file's path, size and SHA-256: Linux must see the Rock Ridge names and
// the bytes given to Write.
func TestLinuxMounts(t *testing.T) {
	kernel, modDir, release := testutil.DriverKernel(t)
	if kernel == "" {
		return
	}
	b := rootfs.New(nil)
	require.NoError(t, b.AddFile(rootfs.Entry{Path: "/init", Mode: 0o755}, testutil.BuildStaticInit(t, "./iso/testdata/mountinit")))
	_, err := b.AddModules(t.Context(), os.DirFS(modDir), []string{"virtio_pci", "virtio_blk", "isofs"},
		&rootfs.ModuleOptions{Release: release})
	require.NoError(t, err)
	var initrd bytes.Buffer
	_, err = b.WriteTo(&initrd)
	require.NoError(t, err)

	files := map[string][]byte{
		"boot/vmlinuz":          testutil.RandomBytes(21, 1<<20+3),
		"isolinux/isolinux.cfg": []byte("default linux\n"),
		"docs/Read Me.txt":      []byte("mixed case and a space\n"),
		"a/b/c/d/e/deep.bin":    testutil.RandomBytes(22, 5000),
		"empty":                 {},
	}
	spec := &iso.Spec{EFI: &iso.File{R: bytes.NewReader(make([]byte, 64<<10)), Size: 64 << 10}}
	for _, n := range []string{"a/b/c/d/e/deep.bin", "boot/vmlinuz", "docs/Read Me.txt", "empty", "isolinux/isolinux.cfg"} {
		spec.Files = append(spec.Files, iso.File{Name: n, R: bytes.NewReader(files[n]), Size: int64(len(files[n]))})
	}
	files["boot/efi.img"] = make([]byte, 64<<10)
	var img bytes.Buffer
	_, err = iso.Write(t.Context(), &img, spec, &iso.Options{ModTime: modTime})
	require.NoError(t, err)
	path := writeFile(t, "mount.iso", img.Bytes())

	nonce := testutil.NewNonce()
	t.Logf("interop: Linux isofs")
	res := testutil.Boot(t, testutil.BootOptions{Kernel: kernel, Initrd: writeFile(t, "initrd.img", initrd.Bytes()),
		Append: "fogkit.nonce=" + nonce, MemoryMB: 512,
		Devices: []string{"-drive", "file=" + path + ",if=virtio,format=raw,readonly=on"},
		Marker:  testutil.BootMarker(nonce), Timeout: bootTimeout})
	console := strings.ReplaceAll(res.Console, "\r", "")
	require.Contains(t, console, "MOUNT ok", console)
	require.Contains(t, console, "vda: vda1 vda2", "the kernel reads the hybrid MBR")
	got := map[string]string{}
	for _, l := range strings.Split(console, "\n") {
		if f, ok := strings.CutPrefix(l, "FILE "); ok {
			i := strings.LastIndexByte(f, ' ')
			j := strings.LastIndexByte(f[:i], ' ')
			got[f[:j]] = f[j+1:]
		}
	}
	want := map[string]string{}
	for n, b := range files {
		sum := sha256.Sum256(b)
		want[n] = fmt.Sprintf("%d %s", len(b), hex.EncodeToString(sum[:]))
	}
	require.Equal(t, want, got, "Rock Ridge names (mixed case, a space) and contents")
}
