package support

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/sign"
)

// gpgHome is a throw-away gpg home (short path: gpg-agent's socket name
// has a length limit); its agent is stopped at the end of the test.
type gpgHome struct {
	t   *testing.T
	dir string
	gpg string
}

func newGPGHome(t *testing.T) *gpgHome {
	g := &gpgHome{t: t, gpg: testutil.RequireTool(t, "gpg")}
	base, err := os.MkdirTemp("", "fksup")
	require.NoError(t, err)
	g.dir = filepath.Join(base, "h")
	require.NoError(t, os.Mkdir(g.dir, 0o700))
	t.Cleanup(func() {
		if conf, err := exec.LookPath("gpgconf"); err == nil {
			testutil.Run(t, base, nil, conf, "--homedir", g.dir, "--kill", "all")
		}
		os.RemoveAll(base)
	})
	return g
}

func (g *gpgHome) run(args ...string) []byte {
	g.t.Helper()
	return testutil.MustRun(g.t, g.dir, nil, g.gpg, append([]string{"--homedir", g.dir, "--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", ""}, args...)...)
}

// The vendor's key made by gpg; the bundle decrypted by gpg and listed by
// bsdtar gives exactly the index's members; Open reads the same bundle
// with a second, fogkit-made recipient key and with gpg's secret key.
func TestInteropGPGBsdtar(t *testing.T) {
	g := newGPGHome(t)
	bsdtar := testutil.RequireTool(t, "bsdtar")
	zstdTool := testutil.RequireTool(t, "zstd")
	gnutar := testutil.RequireTool(t, "tar")

	g.run("--quick-gen-key", "Vendor Support <s@example.com>", "ed25519", "sign", "never")
	var fpr string
	for l := range strings.SplitSeq(string(g.run("--list-keys", "--with-colons")), "\n") {
		if f := strings.Split(l, ":"); len(f) > 9 && f[0] == "fpr" && fpr == "" {
			fpr = f[9]
		}
	}
	require.NotEmpty(t, fpr)
	// Without an encryption subkey the key cannot take a bundle.
	signOnly, err := sign.LoadOpenPGPPublicKey(g.run("--armor", "--export", fpr), sign.PurposeSupport)
	require.NoError(t, err)
	_, err = Write(t.Context(), io.Discard, &Options{Sources: []Source{Bytes("a", []byte("x"))}, Recipients: []*sign.OpenPGPPublicKey{signOnly}})
	require.ErrorIs(t, err, sign.ErrUnsupported)
	g.run("--quick-add-key", fpr, "cv25519", "encr", "never")
	gpgPub, err := sign.LoadOpenPGPPublicKey(g.run("--armor", "--export", fpr), sign.PurposeSupport)
	require.NoError(t, err)
	second := supportKey()

	srcs := append(sampleSources(t), Bytes("deep/er/path/with a space.txt", []byte("spaced\n")),
		Bytes("long/"+strings.Repeat("n", 120)+"/name.txt", []byte("long\n")))
	for _, comp := range []string{CompressionZstd, CompressionGzip} {
		t.Run(comp, func(t *testing.T) {
			var buf bytes.Buffer
			idx, err := Write(t.Context(), &buf, &Options{Sources: srcs, Compression: comp, Now: testNow,
				Recipients: []*sign.OpenPGPPublicKey{gpgPub, second.Public()}})
			require.NoError(t, err)
			dir := t.TempDir()
			enc := filepath.Join(dir, "bundle.pgp")
			require.NoError(t, os.WriteFile(enc, buf.Bytes(), 0o600))
			plain := filepath.Join(dir, "bundle.tar")
			g.run("--output", plain, "--decrypt", enc)

			want := []string{}
			for _, f := range idx.Files {
				want = append(want, f.Path)
			}
			want = append(want, IndexName)
			list := testutil.MustRun(t, dir, nil, bsdtar, "-tf", plain)
			assert.Equal(t, want, strings.Split(strings.TrimSuffix(string(list), "\n"), "\n"))
			verbose := testutil.MustRun(t, dir, nil, bsdtar, "-tvf", plain)
			for _, l := range strings.Split(strings.TrimSpace(string(verbose)), "\n") {
				assert.True(t, strings.HasPrefix(l, "-rw-r--r--  0 0      0 "), l)
			}
			flag := "-z"
			if comp == CompressionZstd {
				testutil.MustRun(t, dir, nil, zstdTool, "-q", "-t", plain)
				flag = "--zstd"
			}
			list = testutil.MustRun(t, dir, nil, gnutar, flag, "-tf", plain)
			assert.Equal(t, want, strings.Split(strings.TrimSuffix(string(list), "\n"), "\n"), "GNU tar")
			// bsdtar extracts what Open reads.
			out := filepath.Join(dir, "x")
			require.NoError(t, os.Mkdir(out, 0o755))
			testutil.MustRun(t, dir, nil, bsdtar, "-xf", plain, "-C", out)
			b, err := Open(t.Context(), bytes.NewReader(buf.Bytes()), second, nil)
			require.NoError(t, err)
			for _, n := range want {
				got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(n)))
				require.NoError(t, err)
				mine, err := b.ReadFile(n)
				require.NoError(t, err)
				assert.Equal(t, mine, got, n)
			}
		})
	}

	// gpg's secret key opens the bundle too.
	sec, err := sign.LoadOpenPGPSigner(g.run("--armor", "--export-secret-keys", fpr), sign.PurposeSupport, nil)
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = Write(t.Context(), &buf, &Options{Sources: srcs, Recipients: []*sign.OpenPGPPublicKey{gpgPub}})
	require.NoError(t, err)
	b, err := Open(t.Context(), &buf, sec, nil)
	require.NoError(t, err)
	assert.Len(t, b.Files(), len(srcs)+2)
}
