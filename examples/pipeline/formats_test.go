package main

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/cloud"
	"github.com/fogkit/fogkit/internal/testutil"
)

// TestFormats builds the demo in every disk format at once and checks that
// each holds the same boot disk (qemu-img compares them with the OVA's
// VMDK), that qemu-img finds every image clean, that the GCE archive is
// what GNU tar extracts, and that the appliance boots under OVMF from each
// of the qcow2, VHD and VHDX boot disks with that format's data disk.
func TestFormats(t *testing.T) {
	kernel := testutil.TestKernel(t)
	qemuImg := testutil.RequireTool(t, "qemu-img")
	gnuTar := testutil.RequireTool(t, "tar")
	dir := t.TempDir()
	r := runPipeline(t, filepath.Join(dir, "out"), "-kernel", kernel, "-keys", filepath.Join(dir, "keys"),
		"-epoch", strconv.FormatInt(testEpoch(), 10), "-formats", "ova,qcow2,vhd,vhdx,gce")
	require.True(t, r.rec.Bootable)
	var names []string
	for _, o := range r.rec.Outputs {
		names = append(names, o.Name)
	}
	for _, want := range []string{"fogdemo.ova", "fogdemo-boot.qcow2", "fogdemo-data.qcow2", "fogdemo-boot.vhd",
		"fogdemo-data.vhd", "fogdemo-boot.vhdx", "fogdemo-data.vhdx", "fogdemo-gce.tar.gz"} {
		require.Contains(t, names, want, "every output is in the build record")
	}
	require.NoError(t, r.rec.Verify(t.Context(), r.out))

	out := func(name string) string { return filepath.Join(r.out, name) }
	vmdkBoot, vmdkData := out("fogdemo-boot.vmdk"), out("fogdemo-data.vmdk")
	qemuFormat := map[string]string{".qcow2": "qcow2", ".vhd": "vpc", ".vhdx": "vhdx"}
	for _, ext := range []string{".qcow2", ".vhd", ".vhdx"} {
		f := qemuFormat[ext]
		for _, role := range []string{"boot", "data"} {
			img := out("fogdemo-" + role + ext)
			ref := map[string]string{"boot": vmdkBoot, "data": vmdkData}[role]
			if f != "vpc" { // qemu-img check has no VHD support
				runTool(t, qemuImg, "check", "-f", f, img)
			}
			runTool(t, qemuImg, "compare", "-f", f, "-F", "vmdk", img, ref)
		}
	}
	info := runTool(t, qemuImg, "info", "-f", "qcow2", out("fogdemo-boot.qcow2"))
	require.Contains(t, info, "compat: 1.1")
	require.Contains(t, info, "compression type: zlib")

	// GCE: GNU tar extracts disk.raw (the only member, an old-GNU header)
	// and it is the boot disk, padded to a whole GiB.
	gz, err := os.Open(out("fogdemo-gce.tar.gz"))
	require.NoError(t, err)
	defer gz.Close()
	zr, err := gzip.NewReader(gz)
	require.NoError(t, err)
	hdr, err := tar.NewReader(zr).Next()
	require.NoError(t, err)
	require.Equal(t, "disk.raw", hdr.Name)
	require.Equal(t, tar.FormatGNU, hdr.Format)
	require.Zero(t, hdr.Size%(1<<30))
	xdir := filepath.Join(dir, "gce")
	require.NoError(t, os.Mkdir(xdir, 0o755))
	runTool(t, gnuTar, "-xzSf", out("fogdemo-gce.tar.gz"), "-C", xdir)
	runTool(t, qemuImg, "compare", "-f", "raw", "-F", "vmdk", filepath.Join(xdir, "disk.raw"), vmdkBoot)

	// Each cloud's checks pass on the output meant for it.
	for target, name := range map[cloud.Target]string{cloud.AWS: "fogdemo-boot.vmdk", cloud.Azure: "fogdemo-boot.vhd", cloud.GCP: "fogdemo-gce.tar.gz"} {
		rep, err := cloud.CheckFile(t.Context(), target, out(name), nil)
		require.NoError(t, err, name)
		require.True(t, rep.OK(), "%s for %s: %v %v", name, target, rep.Findings, rep.Unchecked)
		require.Equal(t, cloud.UEFI, rep.Firmware)
	}

	// Each format boots, with its own data disk (a writable copy).
	for _, ext := range []string{".qcow2", ".vhd", ".vhdx"} {
		t.Run("boot"+ext, func(t *testing.T) {
			f := qemuFormat[ext]
			data := filepath.Join(t.TempDir(), "data"+ext)
			copyTo(t, out("fogdemo-data"+ext), data)
			boot := testutil.Boot(t, testutil.BootOptions{Firmware: testutil.UEFI, Disk: out("fogdemo-boot" + ext), MemoryMB: 512,
				Devices: []string{"-drive", "if=none,id=data,format=" + f + ",file=" + data, "-device", "virtio-blk-pci,drive=data"},
				Marker:  "fogkit-demo: ready", Timeout: 300 * time.Second})
			require.Contains(t, boot.Console, "=== fogdemo 1.0.0 (fogkit demo appliance) ===")
			require.Regexp(t, `drivers: \d+ loaded, 0 failed; disks: vda vdb`, boot.Console)
		})
	}
}

func runTool(t *testing.T, prog string, args ...string) string {
	t.Helper()
	b, err := exec.Command(prog, args...).CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", filepath.Base(prog), strings.Join(args, " "), b)
	return string(b)
}

func copyTo(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	require.NoError(t, err)
	defer in.Close()
	o, err := os.Create(dst)
	require.NoError(t, err)
	_, err = io.Copy(o, in)
	require.NoError(t, err)
	require.NoError(t, o.Close())
}
