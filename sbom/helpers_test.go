package sbom_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/fogkit/fogkit/sbom"
)

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fakeELF is an ELF magic followed by noise: an executable that is not a
// Go binary (and not a valid ELF file either).
func fakeELF() []byte {
	return append([]byte("\x7fELF\x02\x01\x01"), testutil.RandomBytes(7, 4000)...)
}

// archive is an initramfs made with package rootfs and the contents the
// SBOM must report for its regular files.
type archive struct {
	data  []byte
	files map[string][]byte // "./path" → content
}

// makeInitramfs builds a gzip initramfs with a Go /init (when goBin is
// not nil), a non-Go ELF, text, an empty file, a hard link, a symlink, a
// directory and a device node.
func makeInitramfs(t testing.TB, goBin []byte) archive {
	t.Helper()
	b := rootfs.New(&rootfs.Options{Compression: rootfs.CompressGzip, ModTime: time.Unix(1700000000, 0)})
	files := map[string][]byte{
		"/bin/busybox":    fakeELF(),
		"/etc/hostname":   []byte("fogdemo\n"),
		"/etc/os-release": testutil.TextBytes(3, 300),
		"/var/empty":      {},
		"/srv/data.bin":   testutil.RandomBytes(5, 200<<10),
	}
	if goBin != nil {
		files["/init"] = goBin
	} else {
		files["/init"] = []byte("#!/bin/sh\nexec /bin/busybox sh\n")
	}
	for p, c := range files {
		require.NoError(t, b.AddFile(rootfs.Entry{Path: p, Mode: 0o755}, c))
	}
	require.NoError(t, b.Add(rootfs.Entry{Path: "/etc/hostname.copy", Type: rootfs.TypeHardlink, Linkname: "/etc/hostname"}))
	require.NoError(t, b.Add(rootfs.Entry{Path: "/bin/sh", Type: rootfs.TypeSymlink, Linkname: "busybox"}))
	require.NoError(t, b.Add(rootfs.Entry{Path: "/dev/console", Type: rootfs.TypeChar, Mode: 0o600, Major: 5, Minor: 1}))
	require.NoError(t, b.Add(rootfs.Entry{Path: "/proc", Type: rootfs.TypeDir, Mode: 0o555}))
	files["/etc/hostname.copy"] = files["/etc/hostname"]
	var buf bytes.Buffer
	_, err := b.WriteTo(&buf)
	require.NoError(t, err)
	a := archive{data: buf.Bytes(), files: map[string][]byte{}}
	for p, c := range files {
		a.files["."+p] = c
	}
	return a
}

// input is a typical appliance Input around an initramfs.
func input(a archive) *sbom.Input {
	return &sbom.Input{
		Name: "fogdemo", Version: "1.0.0", Supplier: "Fog Demo Inc.",
		Created: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC),
		Outputs: []sbom.File{
			{Name: "fogdemo.ova", Size: 1234, SHA256: hexSHA256([]byte("ova"))},
			{Name: "fogdemo-disk1.vmdk", Size: 1000, SHA256: hexSHA256([]byte("vmdk"))},
		},
		Initramfs: &sbom.Archive{
			File: sbom.File{Name: "initrd.img", Size: int64(len(a.data)), SHA256: hexSHA256(a.data)},
			R:    bytes.NewReader(a.data),
		},
		Packages: []sbom.Package{
			{
				Name: "linux-image-6.1.0-26-amd64", Version: "6.1.112-1", Supplier: "Organization: Debian",
				SHA256:           hexSHA256([]byte("deb")),
				FileName:         "linux-image-6.1.0-26-amd64_6.1.112-1_amd64.deb",
				DownloadLocation: "https://deb.debian.org/debian/pool/main/l/linux-signed-amd64/linux-image-6.1.0-26-amd64_6.1.112-1_amd64.deb",
				PURL:             sbom.DebianPURL("linux-image-6.1.0-26-amd64", "6.1.112-1", "amd64"),
			},
			{Name: "systemd-boot-efi", Version: "252.30-1~deb12u2", PURL: sbom.DebianPURL("systemd-boot-efi", "252.30-1~deb12u2", "amd64")},
		},
	}
}

// goBinary is the test /init of package testutil, a static Go binary
// that links modules besides the standard library.
func goBinary(t testing.TB) []byte {
	t.Helper()
	return testutil.BuildStaticInit(t, testutil.TestInitPackage)
}
