package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flipByte changes one byte of a copy of src at off (from the end when
// negative) and returns the copy's path.
func flipByte(t *testing.T, src string, off int64) string {
	t.Helper()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	if off < 0 {
		off += int64(len(b))
	}
	b[off] ^= 0x01
	dst := filepath.Join(t.TempDir(), "tampered-"+filepath.Base(src))
	require.NoError(t, os.WriteFile(dst, b, 0o644))
	return dst
}

// TestKeysLicenseUpdate goes from a fresh key directory through a license
// and an update package to an applied update, and checks that tampered
// files are refused with exit 4.
func TestKeysLicenseUpdate(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	golden(t, "keys-create", ok(t, "keys", "create", "-name", "acme", "-json", keys), dir)
	exits(t, exitError, "keys", "create", keys) // not empty any more

	lic := filepath.Join(dir, "acme.lic")
	ok(t, "license", "issue", "-key", filepath.Join(keys, "license.key"), "-product", "acme", "-customer", "ACME-001",
		"-name", "Acme Corporation", "-seats", "25", "-features", "backup,cluster", "-limit", "nodes=5", "-meta", "by=test",
		"-issued", "2026-01-01", "-expires", "2027-01-01", "-grace", "14d", "-o", lic)
	pub := filepath.Join(keys, "license.pub")
	out := ok(t, "license", "verify", "-pub", pub, "-product", "acme", "-now", "2026-06-01", lic)
	assert.Contains(t, out, "status:     valid")
	golden(t, "license-verify", ok(t, "license", "verify", "-json", "-pub", pub, "-product", "acme", "-now", "2026-06-01", lic), dir)
	r := exits(t, exitWarning, "license", "verify", "-pub", pub, "-product", "acme", "-now", "2027-01-05", lic)
	assert.Contains(t, r.stdout, "grace")
	r = exits(t, exitRefused, "license", "verify", "-pub", pub, "-product", "acme", "-now", "2027-02-01", lic)
	assert.Contains(t, r.stderr, "expired")
	exits(t, exitRefused, "license", "verify", "-pub", pub, "-product", "other", "-now", "2026-06-01", lic)
	// A flipped bit in the signed payload (the first base64 line after the header).
	exits(t, exitRefused, "license", "verify", "-pub", pub, "-product", "acme", "-now", "2026-06-01", flipByte(t, lic, licPayloadOffset(t, lic)))
	out = ok(t, "license", "inspect", lic)
	assert.Contains(t, out, "UNVERIFIED")
	assert.Contains(t, out, "ACME-001")
	golden(t, "license-inspect", ok(t, "license", "inspect", "-json", lic), dir)
	golden(t, "inspect-license", ok(t, "inspect", "-json", lic), dir)
	ok(t, "inspect", "-key", pub, lic)

	// Update packages: version 1.0 and a diff to 1.1, applied in order.
	v1, v2 := filepath.Join(dir, "1.0"), filepath.Join(dir, "1.1")
	writeTree(t, v1, map[string]string{"bin/app": "version one\n", "etc/app.conf": "a=1\n"})
	writeTree(t, v2, map[string]string{"bin/app": "version two\n", "etc/app.conf": "a=1\n", "etc/new": "n\n"})
	ukey, upub := filepath.Join(keys, "update.key"), filepath.Join(keys, "update.pub")
	full, diff := filepath.Join(dir, "acme-1.0.fup"), filepath.Join(dir, "acme-1.1.fup")
	ok(t, "update", "build", "-product", "acme", "-version", "1.0", "-seq", "1", "-to", v1, "-key", ukey, "-o", full)
	golden(t, "update-build", ok(t, "update", "build", "-json", "-kind", "diff", "-product", "acme", "-version", "1.1", "-seq", "2",
		"-to", v2, "-from", v1, "-key", ukey, "-o", diff), dir)
	assert.Contains(t, ok(t, "update", "verify", "-pub", upub, "-product", "acme", full), "OK ")
	golden(t, "update-verify", ok(t, "update", "verify", "-json", "-pub", upub, diff), dir)
	exits(t, exitRefused, "update", "verify", "-pub", upub, "-product", "other", full)
	exits(t, exitRefused, "update", "verify", "-pub", upub, flipByte(t, full, -1100))
	golden(t, "inspect-update", ok(t, "inspect", "-json", full), dir)
	golden(t, "inspect-update-verified", ok(t, "inspect", "-json", "-key", upub, full), dir)

	target := filepath.Join(dir, "target")
	golden(t, "update-apply", ok(t, "update", "apply", "-json", "-pub", upub, "-target", target, full), dir)
	exits(t, exitRefused, "update", "apply", "-pub", upub, "-target", target, flipByte(t, diff, -1100))
	assert.Contains(t, ok(t, "update", "apply", "-pub", upub, "-target", target, diff), "applied 1.0 -> 1.1")
	assert.Contains(t, ok(t, "update", "apply", "-pub", upub, "-target", target, diff), "already installed")
	exits(t, exitRefused, "update", "apply", "-pub", upub, "-target", target, full) // a downgrade
}

// licPayloadOffset finds a byte inside the license's base64 payload.
func licPayloadOffset(t *testing.T, path string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	blank := 0
	for i := 1; i < len(b); i++ {
		if b[i] == '\n' && b[i-1] == '\n' {
			blank = i + 1
			break
		}
	}
	require.NotZero(t, blank, "no blank line after the license header:\n%s", b)
	return int64(blank + 10)
}

// writeTree writes files (slash paths) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	}
	// Fixed times, so that reports listing them compare with golden files.
	epoch := time.Unix(1790000000, 0)
	require.NoError(t, filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, epoch, epoch)
	}))
}
