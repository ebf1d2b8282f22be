package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/iso"
)

// TestISO builds the demo as a hybrid ISO and boots it the four ways a
// customer would: as a CD-ROM under OVMF and under SeaBIOS, and written to
// a USB stick under OVMF and under SeaBIOS. xorriso lists its two El
// Torito boot entries, and fogkit's own reader agrees.
func TestISO(t *testing.T) {
	kernel := testutil.TestKernel(t)
	xorriso := testutil.RequireTool(t, "xorriso")
	testutil.RequireFile(t, "isolinux.bin", "/usr/lib/ISOLINUX/isolinux.bin")
	testutil.RequireFile(t, "ldlinux.c32", "/usr/lib/syslinux/modules/bios/ldlinux.c32")
	dir := t.TempDir()
	r := runPipeline(t, filepath.Join(dir, "out"), "-kernel", kernel, "-keys", filepath.Join(dir, "keys"),
		"-epoch", strconv.FormatInt(testEpoch(), 10), "-formats", "iso")
	require.True(t, r.rec.Bootable)
	img := filepath.Join(r.out, "fogdemo.iso")
	var names []string
	for _, o := range r.rec.Outputs {
		names = append(names, o.Name)
	}
	require.Contains(t, names, "fogdemo.iso")
	require.NotContains(t, names, "fogdemo.ova", "only the ISO was asked for")
	require.NoError(t, r.rec.Verify(t.Context(), r.out))

	report := runTool(t, xorriso, "-indev", img, "-report_el_torito", "plain")
	require.Regexp(t, regexp.MustCompile(`El Torito boot img :\s+1\s+BIOS\s+y\s+none`), report)
	require.Regexp(t, regexp.MustCompile(`El Torito boot img :\s+2\s+UEFI\s+y\s+none`), report)
	f, err := os.Open(img)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	im, err := iso.Open(f, st.Size())
	require.NoError(t, err)
	require.Len(t, im.Info().Boot, 2)

	for _, c := range []struct {
		name     string
		firmware testutil.Firmware
		usb      bool
	}{
		{"cdrom-uefi", testutil.UEFI, false},
		{"usb-uefi", testutil.UEFI, true},
		{"cdrom-bios", testutil.BIOS, false},
		{"usb-bios", testutil.BIOS, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			// A blank data disk, which the appliance formats on first boot.
			data := filepath.Join(t.TempDir(), "data.raw")
			require.NoError(t, os.WriteFile(data, nil, 0o644))
			require.NoError(t, os.Truncate(data, 64<<20))
			o := testutil.BootOptions{Firmware: c.firmware, MemoryMB: 512, CDROM: img,
				Devices: []string{"-drive", "if=none,id=data,format=raw,file=" + data, "-device", "virtio-blk-pci,drive=data"},
				Marker:  "fogkit-demo: ready", Timeout: 300 * time.Second}
			if c.usb {
				o.CDROM, o.Disk, o.DiskBus, o.DiskFormat = "", img, "usb", "raw"
			}
			boot := testutil.Boot(t, o)
			require.Contains(t, boot.Console, "=== fogdemo 1.0.0 (fogkit demo appliance) ===")
		})
	}
}
