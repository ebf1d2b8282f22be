package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fogkit/fogkit/update"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	if os.Getenv("FOGKIT_UPDATE_EXAMPLE_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// cli runs the command as a separate process (this test binary) and
// returns its exit code, stdout and stderr.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "FOGKIT_UPDATE_EXAMPLE_MAIN=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, out.String(), errb.String()
}

func ok(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := cli(t, args...)
	require.Equal(t, 0, code, "%v: %s", args, errs)
	return out
}

func fails(t *testing.T, want string, args ...string) {
	t.Helper()
	code, _, errs := cli(t, args...)
	require.Equal(t, 1, code, "%v should fail", args)
	require.Equal(t, 1, strings.Count(errs, "\n"), "one line: %q", errs)
	require.Contains(t, errs, want)
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(c), 0o644))
	}
}

func TestCLI(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	kernel := strings.Repeat("kernel image bytes ", 2000)
	writeTree(t, p("v1"), map[string]string{"boot/vmlinuz": kernel + "1", "etc/version": "1\n", "etc/gone": "x"})
	writeTree(t, p("v2"), map[string]string{"boot/vmlinuz": kernel + "2", "etc/version": "2\n", "etc/new": "y"})
	writeTree(t, p("v3"), map[string]string{"boot/vmlinuz": kernel + "3", "etc/version": "3\n", "etc/new": "y"})

	ok(t, "keygen", "-name", "acme updates", "-key", p("update.key"), "-pub", p("update.pub"))
	ok(t, "keygen", "-name", "demo product", "-key", p("product.key"), "-pub", p("product.pub"))
	ok(t, "keygen", "-name", "evil", "-key", p("evil.key"), "-pub", p("evil.pub"))

	ok(t, "build", "-kind", "full", "-product", "demo", "-version", "v1", "-seq", "1", "-to", p("v1"), "-key", p("update.key"), "-o", p("v1.fup"))
	out := ok(t, "build", "-kind", "diff", "-product", "demo", "-version", "v2", "-seq", "2", "-to", p("v2"), "-from", p("v1"),
		"-key", p("update.key"), "-encrypt-to", p("product.pub"), "-o", p("v2.fup"))
	require.Contains(t, out, "diff demo v2 seq 2")
	ok(t, "build", "-kind", "bundle", "-product", "demo", "-version", "v3", "-seq", "3", "-to", p("v3"), "-from", p("v1")+","+p("v2"),
		"-key", p("update.key"), "-o", p("v3.fup"))

	out = ok(t, "verify", "-pub", p("update.pub"), "-product", "demo", p("v2.fup"))
	require.Contains(t, out, "content encrypted")
	out = ok(t, "verify", "-pub", p("update.pub"), "-decrypt", p("product.key"), p("v2.fup"))
	require.Contains(t, out, "content verified")
	fails(t, "another product", "verify", "-pub", p("update.pub"), "-product", "other", p("v1.fup"))
	fails(t, "signature", "verify", "-pub", p("evil.pub"), p("v1.fup"))

	target := p("target")
	ok(t, "apply", "-pub", p("update.pub"), "-target", target, p("v1.fup"))
	ok(t, "confirm", "-target", target)
	fails(t, "decrypt", "apply", "-pub", p("update.pub"), "-target", target, p("v2.fup"))
	fails(t, "decrypt", "apply", "-pub", p("update.pub"), "-decrypt", p("evil.key"), "-target", target, p("v2.fup"))
	out = ok(t, "apply", "-pub", p("update.pub"), "-decrypt", p("product.key"), "-target", target, p("v2.fup"))
	require.Contains(t, out, "applied v1 -> v2")
	fails(t, "unconfirmed", "apply", "-pub", p("update.pub"), "-target", target, p("v3.fup"))
	out = ok(t, "status", "-target", target)
	require.Contains(t, out, "pending")
	ok(t, "confirm", "-target", target)
	fails(t, "not newer", "apply", "-pub", p("update.pub"), "-target", target, p("v1.fup"))
	out = ok(t, "apply", "-pub", p("update.pub"), "-target", target, p("v3.fup"))
	require.Contains(t, out, "applied v2 -> v3")
	ok(t, "confirm", "-target", target)
	out = ok(t, "status", "-target", target)
	require.Contains(t, out, "demo v3 seq 3")
	require.Contains(t, out, "confirmed")
	fails(t, "unknown command", "bogus")
}

// payloadOffset returns where the payload member's data starts in a
// package file.
func payloadOffset(t *testing.T, pkg []byte) (int64, int64) {
	t.Helper()
	cr := &countReader{r: bytes.NewReader(pkg)}
	tr := tar.NewReader(cr)
	for {
		h, err := tr.Next()
		require.NoError(t, err)
		if h.Name == "payload" {
			return cr.n, h.Size
		}
	}
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestApplyInstalledVersionCorrupt: applying a corrupt copy of the
// installed version's package fails with a non-zero exit instead of
// reporting "already installed".
func TestApplyInstalledVersionCorrupt(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	writeTree(t, p("v1"), map[string]string{"etc/version": "1\n", "boot/vmlinuz": strings.Repeat("k", 5000)})
	ok(t, "keygen", "-key", p("update.key"), "-pub", p("update.pub"))
	ok(t, "build", "-product", "demo", "-version", "v1", "-seq", "1", "-to", p("v1"), "-key", p("update.key"), "-o", p("v1.fup"))
	target := p("target")
	ok(t, "apply", "-pub", p("update.pub"), "-target", target, p("v1.fup"))
	out := ok(t, "apply", "-pub", p("update.pub"), "-target", target, p("v1.fup"))
	require.Contains(t, out, "already installed")

	pkg, err := os.ReadFile(p("v1.fup"))
	require.NoError(t, err)
	off, size := payloadOffset(t, pkg)
	pkg[off+size/2] ^= 0x20
	require.NoError(t, os.WriteFile(p("bad.fup"), pkg, 0o644))
	fails(t, "digest mismatch", "apply", "-pub", p("update.pub"), "-target", target, p("bad.fup"))
	out = ok(t, "status", "-target", target)
	require.Contains(t, out, "demo v1 seq 1")
}

// TestBusyTarget: while another process (this test) holds the target's
// lock, apply and confirm exit non-zero with "busy" and change nothing;
// apply -wait proceeds once the lock is released.
func TestBusyTarget(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	writeTree(t, p("v1"), map[string]string{"etc/version": "1\n"})
	writeTree(t, p("v2"), map[string]string{"etc/version": "2\n"})
	ok(t, "keygen", "-key", p("update.key"), "-pub", p("update.pub"))
	ok(t, "build", "-product", "demo", "-version", "v1", "-seq", "1", "-to", p("v1"), "-key", p("update.key"), "-o", p("v1.fup"))
	ok(t, "build", "-product", "demo", "-version", "v2", "-seq", "2", "-to", p("v2"), "-key", p("update.key"), "-o", p("v2.fup"))
	target := p("target")
	ok(t, "apply", "-pub", p("update.pub"), "-target", target, p("v1.fup"))

	fsys, err := update.NewOSFS(target)
	require.NoError(t, err)
	defer fsys.Close()
	unlock, err := fsys.TryLock()
	require.NoError(t, err)
	fails(t, "busy", "apply", "-pub", p("update.pub"), "-target", target, p("v2.fup"))
	fails(t, "busy", "confirm", "-target", target)
	require.Contains(t, ok(t, "status", "-target", target), "demo v1 seq 1")

	cmd := exec.Command(os.Args[0], "apply", "-wait", "-pub", p("update.pub"), "-target", target, p("v2.fup"))
	cmd.Env = append(os.Environ(), "FOGKIT_UPDATE_EXAMPLE_MAIN=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	require.NoError(t, unlock())
	require.NoError(t, cmd.Wait(), out.String())
	require.Contains(t, out.String(), "applied v1 -> v2")
}
