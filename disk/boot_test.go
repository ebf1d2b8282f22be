package disk

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/stretchr/testify/require"
)

const bootTimeout = 180 * time.Second

// bootDisk builds a disk for a boot test and returns its path (raw).
func bootDisk(t *testing.T, loader Loader, bios bool, kernel File, initrd []byte) string {
	t.Helper()
	efi := systemdBootEFI
	if loader == UKI {
		efi = ukiStub
	}
	testutil.RequireFile(t, "loader "+efi, efi)
	spec := &Spec{
		Loader:  loader,
		EFI:     File{Path: efi},
		Kernel:  kernel,
		Initrds: []File{{Path: writeTemp(t, "initrd.cpio", initrd)}},
	}
	if bios {
		spec.BIOS = &BIOS{
			Syslinux: testutil.RequireTool(t, "syslinux"),
			GPTMBR:   File{Path: testutil.RequireFile(t, "gptmbr.bin", gptmbrBin)},
		}
	}
	return spec2disk(t, spec)
}

var lastNonce string

func spec2disk(t *testing.T, spec *Spec) string {
	t.Helper()
	spec.Cmdline = "console=ttyS0 panic=-1 fogkit.nonce=" + lastNonce
	out := filepath.Join(t.TempDir(), "disk.raw")
	_, err := BuildFile(t.Context(), spec, out, nil)
	require.NoError(t, err)
	return out
}

func bootE(t *testing.T, fw testutil.Firmware, disk, nonce string, timeout time.Duration) (testutil.BootResult, error) {
	t.Helper()
	qemu := testutil.RequireTool(t, "qemu-system-x86_64")
	if fw == testutil.UEFI {
		testutil.RequireFile(t, "OVMF code", testutil.OVMFCode)
		testutil.RequireFile(t, "OVMF vars", testutil.OVMFVars)
	}
	return testutil.BootE(t.Context(), qemu, t.TempDir(), testutil.BootOptions{
		Firmware: fw, Disk: disk, DiskFormat: "raw", Marker: testutil.BootMarker(nonce), Timeout: timeout,
	})
}

func TestBootSystemdBootRaw(t *testing.T) {
	kernel := testutil.TestKernel(t)
	nonce := testutil.NewNonce()
	lastNonce = nonce
	disk := bootDisk(t, SystemdBoot, false, File{Path: kernel}, testInitramfs(t, false))
	res, err := bootE(t, testutil.UEFI, disk, nonce, bootTimeout)
	require.NoError(t, err)
	t.Logf("booted in %s", res.Duration)
	_ = context.Background
	_ = errors.New
	_ = os.Stat
}
