package disk

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/vmdk"
	"github.com/stretchr/testify/require"
)

// Boot tests: rootfs-built initramfs + the cloud test kernel → Build →
// vmdk.Write → qemu (TCG) with OVMF or SeaBIOS, attached as a VMDK. They
// run in parallel: each takes 10–30 s under TCG on a loaded host.
const bootTimeout = 180 * time.Second

// testCmdline is the boot tests' kernel command line. no_timer_check: under
// TCG on a loaded host the kernel's IO-APIC timer check can fail and panic
// ("IO-APIC + timer doesn't work"), which has nothing to do with the disk.
func testCmdline(nonce string) string {
	return "console=ttyS0 panic=-1 no_timer_check fogkit.nonce=" + nonce
}

type bootCase struct {
	loader Loader
	bios   bool
	kernel []byte // nil: the test kernel from its path
	noInit bool
}

// bootVMDK builds the disk for c and converts it to a streamOptimized VMDK.
func bootVMDK(t *testing.T, c bootCase, nonce string) string {
	t.Helper()
	efi := systemdBootEFI
	if c.loader == UKI {
		efi = ukiStub
	}
	testutil.RequireFile(t, "loader "+efi, efi)
	kernel := File{Path: testutil.TestKernel(t)}
	if c.kernel != nil {
		kernel = File{R: strings.NewReader(string(c.kernel)), Size: int64(len(c.kernel))}
	}
	dir := t.TempDir()
	spec := &Spec{
		Loader:  c.loader,
		EFI:     File{Path: efi},
		Kernel:  kernel,
		Cmdline: testCmdline(nonce),
	}
	for i, b := range testInitrds(t, c.noInit) {
		spec.Initrds = append(spec.Initrds, File{Path: writeTemp(t, fmt.Sprintf("initrd%d.img", i), b)})
	}
	if c.bios {
		spec.BIOS = &BIOS{
			Syslinux: testutil.RequireTool(t, "syslinux"),
			GPTMBR:   File{Path: testutil.RequireFile(t, "gptmbr.bin", gptmbrBin)},
		}
	}
	raw := filepath.Join(dir, "disk.raw")
	res, err := BuildFile(t.Context(), spec, raw, &Options{Seed: "boot-test"})
	require.NoError(t, err)
	in, err := os.Open(raw)
	require.NoError(t, err)
	defer in.Close()
	path := filepath.Join(dir, "disk.vmdk")
	out, err := os.Create(path)
	require.NoError(t, err)
	defer out.Close()
	_, err = vmdk.Write(t.Context(), out, in, res.Layout.Size, nil)
	require.NoError(t, err)
	require.NoError(t, out.Close())

	// The inspector reads the VMDK (through vmdk.Open) as it read the raw disk.
	vf, err := os.Open(path)
	require.NoError(t, err)
	defer vf.Close()
	st, err := vf.Stat()
	require.NoError(t, err)
	vd, err := vmdk.Open(vf, st.Size())
	require.NoError(t, err)
	back, err := Inspect(vd, vd.Size())
	require.NoError(t, err)
	require.Equal(t, res, back)
	return path
}

func bootE(t *testing.T, fw testutil.Firmware, disk, marker string, timeout time.Duration) (testutil.BootResult, error) {
	t.Helper()
	qemu := testutil.RequireTool(t, "qemu-system-x86_64")
	if fw == testutil.UEFI {
		testutil.RequireFile(t, "OVMF code", testutil.OVMFCode)
		testutil.RequireFile(t, "OVMF vars", testutil.OVMFVars)
	}
	return testutil.BootE(t.Context(), qemu, t.TempDir(), testutil.BootOptions{
		Firmware: fw, Disk: disk, Marker: marker, Timeout: timeout,
	})
}

// TestBoot holds every boot as one parallel table, so that go test keeps
// both cores busy across the positive proofs and the negative controls.
func TestBoot(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    bootCase
		fw   []testutil.Firmware
	}{
		{"systemd-boot/UEFI", bootCase{loader: SystemdBoot}, []testutil.Firmware{testutil.UEFI}},
		{"UKI/UEFI", bootCase{loader: UKI}, []testutil.Firmware{testutil.UEFI}},
		{"hybrid/BIOS+UEFI", bootCase{loader: SystemdBoot, bios: true}, []testutil.Firmware{testutil.BIOS, testutil.UEFI}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			nonce := testutil.NewNonce()
			disk := bootVMDK(t, tc.c, nonce)
			for _, fw := range tc.fw {
				res, err := bootE(t, fw, disk, testutil.BootMarker(nonce), bootTimeout)
				require.NoError(t, err)
				t.Logf("firmware %d: booted in %s", fw, res.Duration.Round(time.Millisecond))
			}
		})
	}

	// The negative controls prove the boot tests can fail, and fail fast on
	// a console pattern rather than by timeout.
	t.Run("negative/no-init", func(t *testing.T) {
		t.Parallel()
		nonce := testutil.NewNonce()
		// The panic does not depend on the firmware: SeaBIOS starts faster.
		disk := bootVMDK(t, bootCase{loader: SystemdBoot, bios: true, noInit: true}, nonce)
		res, err := bootE(t, testutil.BIOS, disk, testutil.BootMarker(nonce), bootTimeout)
		require.ErrorIs(t, err, testutil.ErrBootFailed)
		require.Contains(t, err.Error(), `console shows "Kernel panic"`)
		require.NotContains(t, res.Console, testutil.BootMarker(nonce))
	})
	t.Run("negative/truncated-kernel", func(t *testing.T) {
		t.Parallel()
		kb, err := os.ReadFile(testutil.TestKernel(t))
		require.NoError(t, err)
		nonce := testutil.NewNonce()
		disk := bootVMDK(t, bootCase{loader: SystemdBoot, kernel: kb[:len(kb)/2]}, nonce)
		// OVMF refuses the image ("Error loading \vmlinuz: Unsupported", then
		// "BdsDxe: failed to start Boot0001 …") and drops to the UEFI shell:
		// the harness must fail fast on that, not wait for the timeout.
		res, err := bootE(t, testutil.UEFI, disk, testutil.BootMarker(nonce), bootTimeout)
		require.ErrorIs(t, err, testutil.ErrBootFailed)
		require.Regexp(t, `console shows "(BdsDxe: failed to start|Shell>)"`, err.Error())
		require.Less(t, res.Duration, bootTimeout, "failed by timeout, not by the console")
		require.Contains(t, res.Console, "Error loading")
		require.NotContains(t, res.Console, testutil.BootMarker(nonce))
		require.NotContains(t, res.Console, "Linux version")
	})
}
