package ova

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// externalChecks extracts ova with bsdtar into a fresh directory and
// reports whether `sha256sum -c` accepts the manifest (rewritten into its
// format) and whether `openssl dgst -verify` accepts the .cert signature
// with the certificate's public key.
func externalChecks(t *testing.T, ova []byte) (shaOK, sslOK bool) {
	t.Helper()
	bsdtar := testutil.RequireTool(t, "bsdtar")
	sha256sum := testutil.RequireTool(t, "sha256sum")
	openssl := testutil.RequireTool(t, "openssl")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "in.ova"), ova, 0o644))
	out := filepath.Join(dir, "x")
	require.NoError(t, os.Mkdir(out, 0o755))
	testutil.MustRun(t, out, nil, bsdtar, "-xf", "../in.ova")

	mf, err := os.ReadFile(filepath.Join(out, "app.mf"))
	require.NoError(t, err)
	var sums strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(string(mf), "\n"), "\n") {
		m := regexp.MustCompile(`^SHA256\((.+)\)= ([0-9a-f]+)$`).FindStringSubmatch(line)
		if m == nil {
			return false, false // not even parseable: sha256sum cannot check it
		}
		sums.WriteString(m[2] + "  " + m[1] + "\n")
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sums"), []byte(sums.String()), 0o644))
	shaOK = testutil.Run(t, out, nil, sha256sum, "-c", "../sums").ExitCode == 0

	cert, err := os.ReadFile(filepath.Join(out, "app.cert"))
	require.NoError(t, err)
	first, pemPart, _ := strings.Cut(string(cert), "\n")
	require.Regexp(t, `^SHA256\(app\.mf\)= [0-9a-f]+$`, first)
	sig, err := hex.DecodeString(strings.TrimPrefix(first, "SHA256(app.mf)= "))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sig.bin"), sig, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cert.pem"), []byte(pemPart), 0o644))
	pub := testutil.MustRun(t, dir, nil, openssl, "x509", "-pubkey", "-noout", "-in", "cert.pem")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pub.pem"), pub, 0o644))
	r := testutil.Run(t, dir, nil, openssl, "dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.bin", "x/app.mf")
	sslOK = r.ExitCode == 0 && strings.TrimSpace(string(r.Stdout)) == "Verified OK"
	return shaOK, sslOK
}

func TestInteropBsdtarOpenssl(t *testing.T) {
	bsdtar := testutil.RequireTool(t, "bsdtar")
	ova, res := buildOVA(t, nil)
	list := testutil.MustRun(t, "", ova, bsdtar, "-tf", "-")
	assert.Equal(t, "app.ovf\napp.mf\napp.cert\napp-disk1.vmdk\napp-disk2.vmdk\n", string(list))

	// Every header is USTAR, none is PAX ('x', 'g') or a GNU long name ('L').
	for _, e := range res.Entries {
		h := ova[e.Offset : e.Offset+blockSize]
		assert.Equal(t, "ustar\x0000", string(h[257:265]), e.Name)
		assert.NotContains(t, "xgLK", string(h[156]), e.Name)
	}
	require.Zero(t, len(ova)%blockSize)
	assert.Equal(t, make([]byte, 2*blockSize), ova[len(ova)-2*blockSize:], "two zero blocks at the end")

	// bsdtar's verbose listing: mode, owner and time as set.
	verbose := string(testutil.MustRun(t, "", ova, bsdtar, "-tvf", "-"))
	assert.Regexp(t, fmt.Sprintf(`(?m)^-rw-r--r--\s+0 0\s+0\s+%d Jan  2  2026 app-disk1\.vmdk$`, testFiles()[0].Size), verbose)

	shaOK, sslOK := externalChecks(t, ova)
	assert.True(t, shaOK, "sha256sum -c accepts the manifest")
	assert.True(t, sslOK, "openssl verifies the .cert signature")
}

func TestInteropTamper(t *testing.T) {
	good, _ := buildOVA(t, nil)
	for _, c := range tamperCases() {
		t.Run(c.name, func(t *testing.T) {
			bad := rawTar(t, c.mutate(members(t, good)))
			_, err := Verify(t.Context(), bytes.NewReader(bad), nil)
			assertFileErr(t, err, c.sentinel, c.file)
			shaOK, sslOK := externalChecks(t, bad)
			assert.Equal(t, c.shaOK, shaOK, "sha256sum -c")
			assert.Equal(t, c.sslOK, sslOK, "openssl dgst -verify")
		})
	}
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// headCapture keeps the first limit bytes written through it.
type headCapture struct {
	limit int
	buf   bytes.Buffer
}

func (h *headCapture) Write(p []byte) (int, error) {
	if room := h.limit - h.buf.Len(); room > 0 {
		h.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// sha256Of9GiBZeros is the SHA-256 of 9 GiB of zero bytes, precomputed so
// that the test streams the member without hashing it.
const sha256Of9GiBZeros = "cfbee1b311082090f6417b1026f9f83b2b3db46bc20ec64dff238d202c3782a6"

// A 9 GiB member streams through the writer into `bsdtar -tvf -` (no temp
// file) and gets a GNU header with a base-256 size, never PAX.
func TestInteropHugeMemberStreamed(t *testing.T) {
	bsdtar := testutil.RequireTool(t, "bsdtar")
	const size = int64(9 << 30)
	digest, err := hex.DecodeString(sha256Of9GiBZeros)
	require.NoError(t, err)
	big := File{Name: "big.vmdk", Size: size, Digest: digest, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(io.LimitReader(zeros{}, size)), nil
	}}
	desc := smallDescriptor([]File{big}) // no DiskSection: the zeros are no VMDK

	cmd := exec.CommandContext(t.Context(), bsdtar, "-tvf", "-")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	head := &headCapture{limit: 64 << 10}
	res, werr := Write(t.Context(), io.MultiWriter(head, stdin), desc, []File{big}, &Options{Name: "big"})
	require.NoError(t, stdin.Close())
	require.NoError(t, cmd.Wait(), "bsdtar: %s", stderr.String())
	require.NoError(t, werr)

	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.Len(t, lines, 3, stdout.String())
	assert.Contains(t, lines[0], "big.ovf")
	assert.Contains(t, lines[1], "big.mf")
	assert.Regexp(t, `\s9663676416 .*big\.vmdk$`, lines[2])

	require.Len(t, res.Entries, 3)
	hb := head.buf.Bytes()
	for _, e := range res.Entries {
		require.Less(t, e.Offset+blockSize, int64(len(hb)))
		h := hb[e.Offset : e.Offset+blockSize]
		assert.Equal(t, byte('0'), h[156], "%s: a plain regular-file entry, no PAX", e.Name)
		if e.Name == "big.vmdk" {
			assert.Equal(t, FormatGNU, e.Format)
			assert.Equal(t, "ustar  \x00", string(h[257:265]), "GNU magic")
			assert.Equal(t, byte(0x80), h[124], "base-256 size")
		} else {
			assert.Equal(t, "ustar\x0000", string(h[257:265]), "%s: USTAR magic", e.Name)
		}
	}
	assert.Equal(t, "SHA256(big.vmdk)= "+sha256Of9GiBZeros+"\n", strings.SplitAfter(string(res.Manifest), "\n")[1])
}

// OVAs packed by other tar writers: plain ustar and GNU headers verify,
// PAX (which vSphere rejects) and magic-less v7 headers do not.
func TestInteropRepacked(t *testing.T) {
	bsdtar := testutil.RequireTool(t, "bsdtar")
	gnutar := testutil.RequireTool(t, "tar")
	ova, _ := buildOVA(t, nil)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "in.ova"), ova, 0o644))
	testutil.MustRun(t, dir, nil, bsdtar, "-xf", "in.ova")
	names := []string{"app.ovf", "app.mf", "app.cert", "app-disk1.vmdk", "app-disk2.vmdk"}
	cases := []struct {
		tool, format string
		ok           bool
	}{
		{bsdtar, "ustar", true},
		{bsdtar, "gnutar", true},
		{bsdtar, "paxr", true}, // restricted pax: extended headers only when needed
		{bsdtar, "pax", false},
		{bsdtar, "v7", false},
		{gnutar, "ustar", true},
		{gnutar, "gnu", true},
		{gnutar, "posix", false},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.tool)+"-"+c.format, func(t *testing.T) {
			out := filepath.Join(dir, filepath.Base(c.tool)+"-"+c.format+".ova")
			args := append([]string{"--format", c.format, "-cf", out}, names...)
			if c.tool == gnutar {
				args = append([]string{"--format=" + c.format, "--owner=0", "--group=0", "-cf", out}, names...)
			}
			testutil.MustRun(t, dir, nil, c.tool, args...)
			data, err := os.ReadFile(out)
			require.NoError(t, err)
			// Their headers are not Write's: refused by default, naming
			// the member and the field.
			_, err = Verify(t.Context(), bytes.NewReader(data), nil)
			require.ErrorIs(t, err, ErrFormat)
			var he *HeaderError
			require.ErrorAs(t, err, &he)
			assert.Contains(t, he.File, "app.ovf")
			assert.NotEmpty(t, he.Field)
			t.Logf("default: %v", err)
			_, err = Open(bytes.NewReader(data), int64(len(data)), nil)
			require.ErrorIs(t, err, ErrFormat)

			opt := &VerifyOptions{ForeignHeaders: true, Roots: testSigner(t).Certificates()}
			rep, err := Verify(t.Context(), bytes.NewReader(data), opt)
			if c.ok {
				require.NoError(t, err)
				assert.True(t, rep.Signed)
				a, err := Open(bytes.NewReader(data), int64(len(data)), &OpenOptions{ForeignHeaders: true})
				require.NoError(t, err)
				require.NoError(t, a.Extract(t.Context(), filepath.Join(t.TempDir(), "x"), nil))
			} else {
				require.ErrorIs(t, err, ErrFormat)
			}
		})
	}
}
