package main

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/internal/testutil"
)

var digestLine = regexp.MustCompile(`(?m)^fogkit-builder: sha256 ([0-9a-f]{64}) (\S+)\r?$`)

// TestSelfRebuild is the self-rebuild proof. On the host: assemble the
// build appliance's tree and build it with the tree's own fogkit (stage
// 2). Under qemu (TCG, one vCPU): boot that appliance, which builds the
// same tree again on its data disk (stage 3) in another kernel, file
// system, time zone, locale and umask, and prints every output's SHA-256.
// Every digest the guest prints equals the host's: the OVA, every disk in
// every format, the ISO, the license, the update package, the SBOM, the
// provenance, the boot tree and the build record. Then one byte of one
// input changes and the digests differ: the proof can fail.
func TestSelfRebuild(t *testing.T) {
	if testing.Short() {
		t.Skip("boots the build appliance, which builds itself under TCG")
	}
	testutil.RequireGo(t)
	kernel := testutil.TestKernel(t)
	efi := testutil.RequireFile(t, "systemd-boot", "/usr/lib/systemd/boot/efi/systemd-bootx64.efi")
	if kernel == "" || efi == "" {
		return
	}
	work := t.TempDir()
	app, stage2 := filepath.Join(work, "app"), filepath.Join(work, "stage2")
	require.NoError(t, Assemble(t.Context(), app, &Options{Kernel: kernel, EFI: efi}))
	t.Cleanup(func() { _ = makeWritable(app) })
	var log bytes.Buffer
	start := time.Now()
	require.NoError(t, Build(t.Context(), app, stage2, &log), "%s", &log)
	t.Logf("stage 2 (host) built in %s", time.Since(start).Round(time.Millisecond))
	for _, l := range regexp.MustCompile(`(?m)^stage .*$`).FindAllString(log.String(), -1) {
		t.Log("host:", l)
	}
	host, err := Digests(stage2)
	require.NoError(t, err)
	for _, want := range []string{"fogbuilder.ova", "fogbuilder-boot.vmdk", "fogbuilder-data.vmdk", "fogbuilder-boot.qcow2",
		"fogbuilder-boot.vhd", "fogbuilder-boot.vhdx", "fogbuilder.iso", "fogbuilder.lic", "fogbuilder-1.0.0-full.fup",
		"fogbuilder.spdx.json", "fogbuilder.intoto.jsonl", "build.json", "initrd.img"} {
		require.Contains(t, host, want)
	}

	// Stage 3: the data disk the appliance ships, writable.
	data := filepath.Join(work, "data.qcow2")
	copyForGuest(t, filepath.Join(stage2, "fogbuilder-data.qcow2"), data)
	res := testutil.Boot(t, testutil.BootOptions{
		Firmware: testutil.UEFI,
		Disk:     filepath.Join(stage2, "fogbuilder-boot.qcow2"),
		Devices:  []string{"-drive", "file=" + data + ",format=qcow2,if=virtio"},
		MemoryMB: 2048,
		Marker:   "fogkit-builder: done",
		Timeout:  40 * time.Minute,
	})
	t.Logf("stage 3 (guest, TCG, 1 vCPU): boot and build in %s", res.Duration.Round(time.Second))
	for _, l := range regexp.MustCompile(`(?m)^(stage .*|fogkit-builder: built in .*)$`).FindAllString(res.Console, -1) {
		t.Log("guest:", l)
	}
	guest := map[string]string{}
	for _, m := range digestLine.FindAllStringSubmatch(res.Console, -1) {
		guest[m[2]] = m[1]
	}
	require.NotEmpty(t, guest, "the guest printed no digests")
	assert.Equal(t, slices.Sorted(maps.Keys(host)), slices.Sorted(maps.Keys(guest)), "the guest's build wrote other files")
	same := 0
	for name, sum := range host {
		if assert.Equal(t, sum, guest[name], "%s: the guest's build differs from the host's", name) {
			same++
		}
	}
	t.Logf("stage 2 = stage 3: %d of %d files byte-identical (OVA %s…, record %s…)", same, len(host), host["fogbuilder.ova"][:16], host["build.json"][:16])

	// One byte of one input changes (the kernel): the proof can fail.
	require.NoError(t, makeWritable(app))
	k := filepath.Join(app, "kernel", "vmlinuz")
	b, err := os.ReadFile(k)
	require.NoError(t, err)
	b[len(b)/2] ^= 1
	require.NoError(t, os.WriteFile(k, b, 0o444))
	changed := filepath.Join(work, "changed")
	require.NoError(t, Build(t.Context(), app, changed, &log), "%s", &log)
	other, err := Digests(changed)
	require.NoError(t, err)
	// The tree is in the image too, so the initramfs changes with it.
	for _, name := range []string{"fogbuilder.ova", "fogbuilder-boot.vmdk", "fogbuilder-boot.qcow2", "fogbuilder.iso",
		"fogbuilder-1.0.0-full.fup", "fogbuilder.spdx.json", "fogbuilder.intoto.jsonl", "build.json", "boot-tree/vmlinuz",
		"initrd.img"} {
		assert.NotEqual(t, guest[name], other[name], "%s did not change with the kernel", name)
	}
	// What does not depend on the kernel stays: the proof is not noise.
	for _, name := range []string{"fogbuilder.lic", "fogbuilder-data.vmdk"} {
		assert.Equal(t, guest[name], other[name], "%s changed with the kernel", name)
	}
}

// copyForGuest copies a disk image the guest may write.
func copyForGuest(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dst, b, 0o644))
}

// makeWritable undoes setModes' read-only directories, so the tree can
// change and be removed.
func makeWritable(dir string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chmod(p, 0o755)
		}
		return nil
	})
}
