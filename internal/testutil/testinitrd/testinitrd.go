// Package testinitrd builds the initramfs that boot tests give a kernel:
// the test /init (testutil.TestInitPackage, built static), /dev, /proc,
// /sys and a console, gzip-compressed. It is a package of its own, beside
// testutil, because it needs rootfs, whose own tests import testutil.
package testinitrd

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/rootfs"
)

// Bytes returns the initramfs.
func Bytes(t testing.TB) []byte {
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
	return b.Bytes()
}

// File writes the initramfs to initrd.img in a new temporary directory of
// t and returns its path.
func File(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "initrd.img")
	require.NoError(t, os.WriteFile(p, Bytes(t), 0o644))
	return p
}
