package appliance_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/appliance"
	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/iso"
	"github.com/fogkit/fogkit/qcow2"
	"github.com/fogkit/fogkit/vhd"
	"github.com/fogkit/fogkit/vhdx"
	"github.com/fogkit/fogkit/vmdk"
)

func TestParseFormats(t *testing.T) {
	f, err := appliance.ParseFormats(" OVA,qcow2,,iso,qcow2 ")
	require.NoError(t, err)
	require.Equal(t, []appliance.Format{appliance.FormatOVA, appliance.FormatQCOW2, appliance.FormatISO}, f)
	for _, bad := range []string{"", ",", "ova,raw", "vmdk"} {
		_, err := appliance.ParseFormats(bad)
		require.ErrorIs(t, err, appliance.ErrSpec, "%q", bad)
	}
}

func TestFormatsSpecErrors(t *testing.T) {
	s := testSpec()
	s.Formats = []appliance.Format{"ova", "raw", "ova"}
	err := s.Validate()
	require.ErrorIs(t, err, appliance.ErrSpec)
	require.Contains(t, err.Error(), `unknown format "raw"`)
	require.Contains(t, err.Error(), `"ova" listed twice`)
}

// TestFormatsBuildTwiceSameDisk builds a bootable appliance in every disk
// format twice: each output is byte-identical between the builds, each is
// in the record, Verify runs each format's checker, and every format reads
// back (through fogkit's own readers) as the same boot disk as the VMDK.
// Without the OVA in Formats, no VMDK, OVF or OVA is written.
func TestFormatsBuildTwiceSameDisk(t *testing.T) {
	kernel := testutil.TestKernel(t)
	efi := testutil.RequireFile(t, "systemd-boot", "/usr/lib/systemd/boot/efi/systemd-bootx64.efi")
	if kernel == "" || efi == "" {
		return
	}
	spec := func(formats ...appliance.Format) *appliance.Spec {
		s := testSpec()
		s.Kernel, s.EFI, s.Modules, s.Cmdline, s.ESPSize = kernel, efi, []string{}, "console=ttyS0", 64<<20
		s.Formats = formats
		return s
	}
	all := []appliance.Format{appliance.FormatOVA, appliance.FormatQCOW2, appliance.FormatVHD, appliance.FormatVHDX, appliance.FormatGCE, appliance.FormatISO}
	withISO := func(s *appliance.Spec) *appliance.Spec {
		s.ISOLinux = &appliance.ISOLinux{
			Loader:    testutil.RequireFile(t, "isolinux.bin", appliance.HostIsolinuxPlaces[0]),
			Ldlinux:   testutil.RequireFile(t, "ldlinux.c32", appliance.HostLdlinuxPlaces[0]),
			HybridMBR: testutil.RequireFile(t, "isohdpfx.bin", appliance.HostHybridMBRPlaces[0]),
		}
		return s
	}
	a, b := t.TempDir(), t.TempDir()
	ra, rb := build(t, a, withISO(spec(all...))), build(t, b, withISO(spec(all...)))
	require.Equal(t, ra.Outputs, rb.Outputs)
	for _, name := range append(outputNames(ra), "build.json") {
		x, err := os.ReadFile(filepath.Join(a, name))
		require.NoError(t, err)
		y, err := os.ReadFile(filepath.Join(b, name))
		require.NoError(t, err)
		require.True(t, bytes.Equal(x, y), "%s differs between two builds", name)
	}
	require.NoError(t, ra.Verify(context.Background(), a))

	ref := readDisk(t, filepath.Join(a, "acme-boot.vmdk"))
	for _, name := range []string{"acme-boot.qcow2", "acme-boot.vhd", "acme-boot.vhdx"} {
		got := readDisk(t, filepath.Join(a, name))
		require.GreaterOrEqual(t, len(got), len(ref), name)
		require.True(t, bytes.Equal(ref, got[:len(ref)]), "%s holds another disk", name)
		require.Zero(t, bytes.Count(got[len(ref):], []byte{0})-len(got[len(ref):]), "%s pads with zeros", name)
	}
	// A damaged image fails Verify through the format's checker even with
	// its digest corrected in the record.
	for i, o := range ra.Outputs {
		if filepath.Ext(o.Path) != ".qcow2" || o.Name != "acme-boot.qcow2" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(a, o.Path))
		require.NoError(t, err)
		data[47] ^= 0x10 // the L1 table offset, no longer cluster-aligned
		require.NoError(t, os.WriteFile(filepath.Join(a, o.Path), data, 0o644))
		r2 := *ra
		r2.Outputs = append([]appliance.Artifact(nil), ra.Outputs...)
		r2.Outputs[i].SHA256 = sha256hex(data)
		require.ErrorIs(t, r2.Verify(context.Background(), a), appliance.ErrRecord)
	}

	// The ISO boots the same kernel and initramfs: under BIOS from its
	// ISO 9660 tree, under UEFI from its EFI image.
	isoFile, err := os.Open(filepath.Join(a, "acme.iso"))
	require.NoError(t, err)
	defer isoFile.Close()
	st, err := isoFile.Stat()
	require.NoError(t, err)
	im, err := iso.Open(isoFile, st.Size())
	require.NoError(t, err)
	require.Len(t, im.Info().Boot, 2)
	for name, want := range map[string]string{"boot/vmlinuz": kernel, "boot/initrd.img": filepath.Join(a, "initrd.img")} {
		got, err := im.ReadFile(name)
		require.NoError(t, err)
		w, err := os.ReadFile(want)
		require.NoError(t, err)
		require.True(t, bytes.Equal(w, got), name)
	}
	cfg, err := im.ReadFile("isolinux/isolinux.cfg")
	require.NoError(t, err)
	require.Contains(t, string(cfg), "APPEND console=ttyS0 fogkit.slot=1")

	c := t.TempDir()
	rc := build(t, c, spec(appliance.FormatQCOW2))
	for _, o := range rc.Outputs {
		require.NotContains(t, []string{".vmdk", ".ovf", ".ova"}, filepath.Ext(o.Path), "only qcow2 was asked for")
	}
	require.FileExists(t, filepath.Join(c, "acme-boot.qcow2"))
}

// readDisk reads a whole virtual disk through fogkit's reader for its
// format and checks it holds a GPT disk with an ESP.
func readDisk(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	var r interface {
		ReadAt([]byte, int64) (int, error)
		Size() int64
	}
	switch filepath.Ext(path) {
	case ".vmdk":
		r, err = vmdk.Open(f, st.Size())
	case ".qcow2":
		r, err = qcow2.Open(f, st.Size())
	case ".vhd":
		r, err = vhd.Open(f, st.Size())
	case ".vhdx":
		r, err = vhdx.Open(f, st.Size())
	}
	require.NoError(t, err, path)
	buf := make([]byte, r.Size())
	_, err = r.ReadAt(buf, 0)
	require.NoError(t, err, path)
	_, err = disk.Open(bytes.NewReader(buf), int64(len(buf)))
	require.NoError(t, err, path)
	return buf
}
