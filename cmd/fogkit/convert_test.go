package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/backup"
	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/iso"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/support"
)

// TestConvertRoundTrip converts a raw disk to every format and back: the
// raw bytes come back equal, and inspect recognises each output.
func TestConvertRoundTrip(t *testing.T) {
	dir := t.TempDir()
	raw := filepath.Join(dir, "disk.raw")
	data := append(testutil.RandomBytes(19, 3<<20), make([]byte, 5<<20)...)
	require.NoError(t, os.WriteFile(raw, data, 0o644))
	kinds := map[string]string{"qcow2": kindQCOW2, "vhd": kindVHD, "vhd-dynamic": kindVHD, "vhdx": kindVHDX, "vmdk": kindVMDK, "gce": kindGCE}
	for _, to := range convertTargets {
		if to == "raw" {
			continue
		}
		t.Run(to, func(t *testing.T) {
			out := filepath.Join(dir, "disk."+to)
			golden(t, "convert-"+to, ok(t, "convert", "-json", "-to", to, raw, out), dir)
			golden(t, "inspect-"+to, ok(t, "inspect", "-json", out), dir)
			assert.Contains(t, ok(t, "inspect", out), describe(kinds[to]))
			if to == "gce" {
				return // GCE pads the disk to a whole GiB, and is no input format
			}
			back := filepath.Join(dir, "back-"+to+".raw")
			ok(t, "convert", "-to", "raw", out, back)
			got, err := os.ReadFile(back)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(data, got), "%s -> raw differs from the original", to)
		})
	}
	// Nothing half-written: a failed conversion leaves no output and no temporary file.
	bad := flipByte(t, filepath.Join(dir, "disk.qcow2"), 0)
	out := filepath.Join(dir, "never.vmdk")
	exits(t, exitError, "convert", "-to", "vmdk", filepath.Join(t.TempDir(), "missing.qcow2"), out)
	r := fogkit(t, "convert", "-to", "vmdk", bad, out)
	assert.Equal(t, exitOK, r.code, "a qcow2 without its magic is read as raw bytes: %s", r.stderr)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasSuffix(e.Name(), ".partial"), "left behind: %s", e.Name())
	}

	// The random disk is no bootable image: every cloud refuses it.
	r = exits(t, exitRefused, "cloud", "check", "-target", "gcp", "-json", filepath.Join(dir, "disk.gce"))
	golden(t, "cloud-check-gcp", r.stdout, dir)
	exits(t, exitRefused, "cloud", "check", "-target", "azure", filepath.Join(dir, "disk.vhd"))
}

// TestInspectKinds makes one file of each remaining kind with the
// packages that write them and checks what inspect says of it.
func TestInspectKinds(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	ks, err := sign.CreateKeyDir(keys, &sign.KeyDirOptions{Name: "acme"})
	require.NoError(t, err)

	// A cpio initramfs, plain and compressed.
	b := rootfs.New(nil)
	require.NoError(t, b.AddFile(rootfs.Entry{Path: "init", Mode: 0o755}, []byte("#!/bin/sh\n")))
	require.NoError(t, b.AddFile(rootfs.Entry{Path: "etc/motd", Mode: 0o644}, []byte("hello\n")))
	var cpio bytes.Buffer
	_, err = b.Write(ctx, &cpio)
	require.NoError(t, err)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o644))
		return p
	}
	golden(t, "inspect-cpio", ok(t, "inspect", "-json", write("initrd.img", cpio.Bytes())), dir)

	// A raw GPT disk with an ESP.
	kernel := make([]byte, 4096)
	copy(kernel[0x202:], "HdrS") // an x86 bzImage header
	loader := []byte("systemd-bootx64.efi stand-in")
	gpt := filepath.Join(dir, "boot.raw")
	_, err = disk.BuildFile(ctx, &disk.Spec{Loader: disk.SystemdBoot,
		EFI:     disk.File{R: bytes.NewReader(loader), Size: int64(len(loader))},
		Kernel:  disk.File{R: bytes.NewReader(kernel), Size: int64(len(kernel))},
		Initrds: []disk.File{{R: bytes.NewReader(cpio.Bytes()), Size: int64(cpio.Len())}},
		Cmdline: "console=ttyS0", Title: "Acme"}, gpt, &disk.Options{Seed: "acme-1.0", ModTime: time.Unix(1790000000, 0)})
	require.NoError(t, err)
	golden(t, "inspect-disk", ok(t, "inspect", "-json", gpt), dir)
	r := fogkit(t, "cloud", "check", "-target", "aws", gpt)
	assert.Contains(t, []int{exitOK, exitRefused}, r.code, "%s%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "for aws")

	// An ISO.
	var img bytes.Buffer
	_, err = iso.Write(ctx, &img, &iso.Spec{VolumeID: "ACME", Files: []iso.File{{Name: "readme.txt", R: strings.NewReader("hi\n"), Size: 3}}}, &iso.Options{Seed: "t"})
	require.NoError(t, err)
	golden(t, "inspect-iso", ok(t, "inspect", "-json", write("acme.iso", img.Bytes())), dir)

	// Support bundles: encrypted to the vendor's support key, and plain.
	pub, err := sign.LoadOpenPGPPublicKey(ks.SupportPublic, sign.PurposeSupport)
	require.NoError(t, err)
	now := func() time.Time { return time.Unix(1790000000, 0) }
	src := []support.Source{support.Bytes("app/app.log", []byte("start\npassword=hunter2hunter2\n"))}
	var enc, plain bytes.Buffer
	_, err = support.Write(ctx, &enc, &support.Options{Product: "acme", Version: "2.0", Recipients: []*sign.OpenPGPPublicKey{pub}, Sources: src, Now: now})
	require.NoError(t, err)
	_, err = support.Write(ctx, &plain, &support.Options{Product: "acme", Version: "2.0", Plain: true, Sources: src, Now: now})
	require.NoError(t, err)
	bundle := write("bundle.tar.zst.gpg", enc.Bytes())
	supportKey := filepath.Join(keys, sign.SupportKeyFile)
	assert.Contains(t, ok(t, "inspect", bundle), "support bundle")
	golden(t, "inspect-support", ok(t, "inspect", "-json", "-key", supportKey, bundle), dir)
	golden(t, "inspect-support-plain", ok(t, "inspect", "-json", write("bundle.tar.zst", plain.Bytes())), dir)
	x := filepath.Join(dir, "x")
	golden(t, "support-open", ok(t, "support", "open", "-json", "-key", supportKey, "-x", x, bundle), dir)
	got, err := os.ReadFile(filepath.Join(x, "app", "app.log"))
	require.NoError(t, err)
	assert.NotContains(t, string(got), "hunter2hunter2")
	exits(t, exitRefused, "support", "open", "-key", supportKey, flipByte(t, bundle, -40))

	// A backup with a passphrase.
	data := filepath.Join(dir, "data")
	writeTree(t, data, map[string]string{"notes.txt": "hello\n"})
	var bk bytes.Buffer
	_, err = backup.Write(ctx, &bk, &backup.Options{Product: "acme", Version: "2.0", Sequence: 2, Dir: data, Passphrase: []byte("a long passphrase")})
	require.NoError(t, err)
	bkFile := write("acme.fogbak", bk.Bytes())
	pass := write("pass", []byte("a long passphrase\n"))
	assert.Contains(t, ok(t, "inspect", bkFile), "backup")
	golden(t, "inspect-backup", ok(t, "inspect", "-json", bkFile), dir)
	golden(t, "backup-verify", ok(t, "backup", "verify", "-json", "-passphrase-file", pass, bkFile), dir)
	exits(t, exitRefused, "backup", "verify", "-passphrase-file", write("wrong", []byte("another one\n")), bkFile)
	// A damaged backup fails (4 when the decryption's integrity check
	// catches it, 1 when the decompressor meets the garbage first).
	r = fogkit(t, "backup", "verify", "-passphrase-file", pass, flipByte(t, bkFile, -30))
	assert.Contains(t, []int{exitError, exitRefused}, r.code, r.stderr)

	// Unknown content is an error, whatever the name says.
	exits(t, exitError, "inspect", write("fake.ova", []byte("not an archive at all")))
}
