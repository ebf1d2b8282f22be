package iso_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/internal/testutil"
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

func testInitrd(t *testing.T) string {
	t.Helper()
	init := testutil.BuildStaticInit(t, testutil.TestInitPackage)
	r := rootfs.New(&rootfs.Options{Compression: rootfs.CompressGzip})
	for _, d := range []string{"/dev", "/proc", "/sys"} {
		require.NoError(t, r.Add(rootfs.Entry{Path: d, Type: rootfs.TypeDir, Mode: 0o755}))
	}
	require.NoError(t, r.Add(rootfs.Entry{Path: "/dev/console", Type: rootfs.TypeChar, Mode: 0o600, Major: 5, Minor: 1}))
	require.NoError(t, r.AddFile(rootfs.Entry{Path: "/init", Mode: 0o755}, init))
	var b bytes.Buffer
	_, err := r.WriteTo(&b)
	require.NoError(t, err)
	return writeFile(t, "initrd.img", b.Bytes())
}

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
	initrd := testInitrd(t)
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
