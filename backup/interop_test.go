package backup

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/internal/testutil"
)

// The customer reads their backup with standard tools: gpg with the
// passphrase, then zstd and tar (or bsdtar) list and extract exactly the
// members the manifest names, with the same content.
func TestGPGTarInterop(t *testing.T) {
	gpg := testutil.RequireTool(t, "gpg")
	zstdBin := testutil.RequireTool(t, "zstd")
	tarBin := testutil.RequireTool(t, "tar")
	bsdtar := testutil.RequireTool(t, "bsdtar")
	base := t.TempDir()
	home := filepath.Join(base, "gnupg")
	require.NoError(t, os.Mkdir(home, 0o700))
	t.Cleanup(func() {
		if conf, err := exec.LookPath("gpgconf"); err == nil {
			testutil.Run(t, base, nil, conf, "--homedir", home, "--kill", "all")
		}
	})
	pw := filepath.Join(base, "pw")
	require.NoError(t, os.WriteFile(pw, testPass, 0o600))
	src := filepath.Join(base, "src")
	makeTree(t, src)

	for _, c := range []string{"zstd", "gzip"} {
		o := testOptions(src)
		o.Compression = c
		var buf bytes.Buffer
		m, err := Write(t.Context(), &buf, o)
		require.NoError(t, err)
		backup := filepath.Join(base, "backup-"+c+".pgp")
		require.NoError(t, os.WriteFile(backup, buf.Bytes(), 0o600))

		plain := testutil.MustRun(t, base, nil, gpg, "--homedir", home, "--batch", "--no-tty", "--pinentry-mode", "loopback",
			"--passphrase-file", pw, "--decrypt", backup)
		var tarball []byte
		if c == "zstd" {
			tarball = testutil.MustRun(t, base, plain, zstdBin, "-d", "-c")
		} else {
			tarball = plain
		}
		want := []string{headerName}
		for _, e := range m.Files {
			want = append(want, memberName(&e))
		}
		for _, e := range m.Streams {
			want = append(want, streamPrefix+e.Path)
		}
		want = append(want, manifestName)
		tool := tarBin
		if c == "gzip" {
			tool = bsdtar // reads the gzip itself
		}
		list := strings.Split(strings.TrimSpace(string(testutil.MustRun(t, base, tarball, tool, "-tf", "-"))), "\n")
		assert.Equal(t, want, list, c)

		// Extracted content matches the source tree.
		out := filepath.Join(base, "x-"+c)
		require.NoError(t, os.Mkdir(out, 0o755))
		testutil.MustRun(t, out, tarball, tool, "-xpf", "-")
		for _, e := range m.Files {
			if e.Type != TypeFile {
				continue
			}
			a, err := os.ReadFile(filepath.Join(src, e.Path))
			require.NoError(t, err)
			b, err := os.ReadFile(filepath.Join(out, "data", e.Path))
			require.NoError(t, err)
			assert.Equal(t, a, b, e.Path)
		}
		l, err := os.Readlink(filepath.Join(out, "data/db/cfg"))
		require.NoError(t, err)
		assert.Equal(t, "../config", l)
		dump, err := os.ReadFile(filepath.Join(out, "streams/db.sql"))
		require.NoError(t, err)
		assert.Contains(t, string(dump), "CREATE TABLE")
	}
}
