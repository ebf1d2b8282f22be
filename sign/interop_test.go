package sign

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gpgHome is a throw-away gpg home directory; its agent is stopped at the
// end of the test.
type gpgHome struct {
	t    *testing.T
	dir  string
	gpg  string
	gpgv string
}

func newGPGHome(t *testing.T) *gpgHome {
	t.Helper()
	g := &gpgHome{t: t, gpg: testutil.RequireTool(t, "gpg"), gpgv: testutil.RequireTool(t, "gpgv")}
	base, err := os.MkdirTemp("", "fkgpg")
	require.NoError(t, err)
	g.dir = filepath.Join(base, "h")
	require.NoError(t, os.Mkdir(g.dir, 0o700))
	// The cheapest passphrase hashing gpg allows: without it gpg-agent spends
	// seconds calibrating before protecting a key.
	require.NoError(t, os.WriteFile(filepath.Join(g.dir, "gpg-agent.conf"), []byte("s2k-count 65536\n"), 0o600))
	t.Cleanup(func() {
		if conf, err := lookTool("gpgconf"); err == nil {
			testutil.Run(t, base, nil, conf, "--homedir", g.dir, "--kill", "all")
		}
		os.RemoveAll(base)
	})
	return g
}

// run runs gpg in batch mode with the home directory and fails on error.
func (g *gpgHome) run(stdin []byte, args ...string) []byte {
	g.t.Helper()
	return testutil.MustRun(g.t, g.dir, stdin, g.gpg, append([]string{"--homedir", g.dir, "--batch", "--no-tty", "--pinentry-mode", "loopback"}, args...)...)
}

func (g *gpgHome) file(name string, data []byte) string {
	g.t.Helper()
	p := filepath.Join(g.dir, name)
	require.NoError(g.t, os.WriteFile(p, data, 0o600))
	return p
}

// fingerprint returns the lower-case fingerprint of the primary key that
// matches uid.
func (g *gpgHome) fingerprint(uid string) string {
	g.t.Helper()
	out := g.run(nil, "--with-colons", "--fingerprint", uid)
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "fpr:") {
			f := strings.Split(line, ":")
			return strings.ToLower(f[9])
		}
	}
	g.t.Fatalf("no fingerprint for %s in %s", uid, out)
	return ""
}

func TestGPGVerifiesOurSignature(t *testing.T) {
	g := newGPGHome(t)
	ctx := t.Context()
	s := testPGP(t, 10, PurposeUpdate)
	msg := testutil.RandomBytes(10, 100_000)
	sig, err := s.Sign(ctx, msg)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(sig, []byte("-----BEGIN PGP SIGNATURE-----\n")), "%s", sig)

	pub, err := EncodePublicKey(s.Public())
	require.NoError(t, err)
	g.run(nil, "--import", g.file("pub.asc", pub))
	assert.Equal(t, s.KeyID(), g.fingerprint("test@example.com"))
	ring := filepath.Join(g.dir, "pub.gpg")
	g.run(nil, "--output", ring, "--export", s.KeyID())

	msgPath := g.file("msg.bin", msg)
	sigPath := g.file("msg.bin.asc", sig)
	r := testutil.Run(t, g.dir, nil, g.gpgv, "--homedir", g.dir, "--keyring", ring, sigPath, msgPath)
	require.Equal(t, 0, r.ExitCode, "gpgv: %s", r.Stderr)
	assert.Contains(t, string(r.Stderr), "Good signature")

	flipped := bytes.Clone(msg)
	flipped[len(flipped)/2] ^= 0x01
	g.file("msg.bin", flipped)
	r = testutil.Run(t, g.dir, nil, g.gpgv, "--homedir", g.dir, "--keyring", ring, sigPath, msgPath)
	require.NotEqual(t, 0, r.ExitCode, "gpgv accepted a flipped byte: %s", r.Stderr)
	assert.Contains(t, string(r.Stderr), "BAD signature")
}

func TestGPGSignatureVerifiesHere(t *testing.T) {
	g := newGPGHome(t)
	ctx := t.Context()
	g.run(nil, "--passphrase", "", "--quick-gen-key", "T <t@x>", "ed25519", "sign", "never")
	fpr := g.fingerprint("t@x")
	pubFile := g.run(nil, "--armor", "--export", fpr)
	pub, err := LoadPublicKey(pubFile, PurposeUpdate)
	require.NoError(t, err)
	require.Equal(t, fpr, pub.KeyID())

	// The binary export loads too.
	bin := g.run(nil, "--export", fpr)
	pubBin, err := LoadPublicKey(bin, PurposeUpdate)
	require.NoError(t, err)
	require.Equal(t, fpr, pubBin.KeyID())

	msg := testutil.TextBytes(11, 50_000)
	msgPath := g.file("msg.txt", msg)
	g.run(nil, "--passphrase", "", "--armor", "--detach-sign", "--output", msgPath+".asc", msgPath)
	sig, err := os.ReadFile(msgPath + ".asc")
	require.NoError(t, err)

	id, err := pub.Verify(ctx, msg, sig)
	require.NoError(t, err)
	assert.Equal(t, fpr, id)
	_, err = pubBin.Verify(ctx, msg, sig)
	require.NoError(t, err)

	bad := bytes.Clone(msg)
	bad[0] ^= 0x20
	_, err = pub.Verify(ctx, bad, sig)
	require.ErrorIs(t, err, ErrBadSignature)

	// A binary (unarmored) gpg signature verifies too.
	g.run(nil, "--passphrase", "", "--detach-sign", "--output", msgPath+".sig", msgPath)
	binSig, err := os.ReadFile(msgPath + ".sig")
	require.NoError(t, err)
	_, err = pub.Verify(ctx, msg, binSig)
	require.NoError(t, err)

	// In a keyring beside one of our keys, gpg's key is the one that verifies.
	ring, err := NewKeyring(testPGP(t, 12, PurposeUpdate).Public(), pub)
	require.NoError(t, err)
	id, err = ring.Verify(ctx, PurposeUpdate, msg, sig)
	require.NoError(t, err)
	assert.Equal(t, fpr, id)
}

func TestGPGPrivateKeysBothWays(t *testing.T) {
	g := newGPGHome(t)
	ctx := t.Context()
	msg := []byte("signed by a key gpg made, with a passphrase\n")

	// A passphrase-protected key made by gpg signs here; gpgv checks it.
	g.run(nil, "--passphrase", "gpg-secret", "--quick-gen-key", "G <g@x>", "ed25519", "sign", "never")
	fpr := g.fingerprint("g@x")
	sec := g.run(nil, "--passphrase", "gpg-secret", "--armor", "--export-secret-keys", fpr)
	_, err := LoadSigner(sec, PurposeUpdate, nil)
	require.ErrorIs(t, err, ErrDecrypt, "encrypted key without passphrase")
	_, err = LoadSigner(sec, PurposeUpdate, []byte("wrong"))
	require.ErrorIs(t, err, ErrDecrypt)
	s, err := LoadSigner(sec, PurposeUpdate, []byte("gpg-secret"))
	require.NoError(t, err)
	require.Equal(t, fpr, s.KeyID())
	sig, err := s.(*OpenPGPSigner).WithTime(testTime.AddDate(5, 0, 0)).Sign(ctx, msg)
	require.NoError(t, err)
	ring := filepath.Join(g.dir, "g.gpg")
	g.run(nil, "--output", ring, "--export", fpr)
	r := testutil.Run(t, g.dir, nil, g.gpgv, "--homedir", g.dir, "--keyring", ring, g.file("sig.asc", sig), g.file("msg", msg))
	require.Equal(t, 0, r.ExitCode, "gpgv: %s", r.Stderr)

	// Our passphrase-protected key imports into gpg, which signs with it.
	ours := testPGP(t, 13, PurposeUpdate)
	priv, err := EncodePrivateKey(ours, []byte("our-secret"))
	require.NoError(t, err)
	g.run(nil, "--passphrase", "our-secret", "--import", g.file("ours.asc", priv))
	g.run(nil, "--passphrase", "our-secret", "--local-user", ours.KeyID(), "--armor", "--detach-sign", "--output", filepath.Join(g.dir, "msg.asc"), filepath.Join(g.dir, "msg"))
	gsig, err := os.ReadFile(filepath.Join(g.dir, "msg.asc"))
	require.NoError(t, err)
	_, err = ours.Public().Verify(ctx, msg, gsig)
	require.NoError(t, err)
}

func TestGPGDecryptsOurMessage(t *testing.T) {
	g := newGPGHome(t)
	ctx := t.Context()
	s := testPGP(t, 14, PurposeUpdate)
	priv, err := EncodePrivateKey(s, nil)
	require.NoError(t, err)
	g.run(nil, "--import", g.file("priv.asc", priv))

	plain := testutil.RandomBytes(14, 300_000)
	for _, o := range []*EncryptOptions{nil, {Armor: true, Compress: true}, {Signer: s}} {
		var ct bytes.Buffer
		require.NoError(t, Encrypt(ctx, &ct, bytes.NewReader(plain), []*OpenPGPPublicKey{s.Public()}, o))
		out := filepath.Join(g.dir, "out.bin")
		os.Remove(out)
		r := testutil.Run(t, g.dir, nil, g.gpg, "--homedir", g.dir, "--batch", "--no-tty", "--status-fd", "2",
			"--output", out, "--decrypt", g.file("msg.gpg", ct.Bytes()))
		require.Equal(t, 0, r.ExitCode, "gpg --decrypt: %s", r.Stderr)
		assert.Contains(t, string(r.Stderr), "[GNUPG:] DECRYPTION_OKAY")
		if o != nil && o.Signer != nil {
			assert.Contains(t, string(r.Stderr), "[GNUPG:] GOODSIG")
		}
		got, err := os.ReadFile(out)
		require.NoError(t, err)
		require.Equal(t, plain, got)
	}
}

func TestGPGEncryptsToUs(t *testing.T) {
	g := newGPGHome(t)
	ctx := t.Context()
	s := testPGP(t, 15, PurposeUpdate)
	pub, err := EncodePublicKey(s.Public())
	require.NoError(t, err)
	g.run(nil, "--import", g.file("pub.asc", pub))

	plain := testutil.TextBytes(15, 200_000) // gpg compresses it
	in := g.file("plain.txt", plain)
	for _, armor := range []bool{false, true} {
		args := []string{"--trust-model", "always", "--output", in + ".gpg", "--yes", "--encrypt", "-r", s.KeyID()}
		if armor {
			args = append([]string{"--armor"}, args...)
		}
		g.run(nil, append(args, in)...)
		ct, err := os.ReadFile(in + ".gpg")
		require.NoError(t, err)

		var out bytes.Buffer
		require.NoError(t, Decrypt(ctx, &out, bytes.NewReader(ct), s, nil))
		require.Equal(t, plain, out.Bytes())

		// The size cap holds on gpg's compressed message.
		out.Reset()
		err = Decrypt(ctx, &out, bytes.NewReader(ct), s, &DecryptOptions{MaxSize: 1000})
		require.ErrorIs(t, err, ErrTooLarge)
		assert.LessOrEqual(t, out.Len(), 1000)

		// Another key cannot read it.
		err = Decrypt(ctx, &bytes.Buffer{}, bytes.NewReader(ct), testPGP(t, 16, PurposeUpdate), nil)
		require.ErrorIs(t, err, ErrDecrypt)
	}
}

func TestOpenSSLEd25519(t *testing.T) {
	openssl := testutil.RequireTool(t, "openssl")
	ctx := t.Context()
	dir := t.TempDir()
	s := testEd25519(t, 20, PurposeLicense)
	msg := []byte(`{"customer":"ACME","seats":10}`)
	sig, err := s.Sign(ctx, msg)
	require.NoError(t, err)
	pub, err := EncodePublicKey(s.Public())
	require.NoError(t, err)
	write(t, dir, "pub.pem", pub)
	write(t, dir, "prefixed.bin", append(PurposeLicense.Prefix(), msg...))
	write(t, dir, "sig.bin", sig)
	out := testutil.MustRun(t, dir, nil, openssl, "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "prefixed.bin", "-sigfile", "sig.bin")
	assert.Contains(t, string(out), "Signature Verified Successfully")

	// Without the prefix the signature does not verify.
	write(t, dir, "bare.bin", msg)
	r := testutil.Run(t, dir, nil, openssl, "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "bare.bin", "-sigfile", "sig.bin")
	assert.NotEqual(t, 0, r.ExitCode)

	// A key made by openssl loads here; openssl's signature verifies here.
	testutil.MustRun(t, dir, nil, openssl, "genpkey", "-algorithm", "ed25519", "-out", "k.pem")
	testutil.MustRun(t, dir, nil, openssl, "pkey", "-in", "k.pem", "-pubout", "-out", "kpub.pem")
	testutil.MustRun(t, dir, nil, openssl, "pkeyutl", "-sign", "-inkey", "k.pem", "-rawin", "-in", "prefixed.bin", "-out", "osig.bin")
	kpem := read(t, dir, "k.pem")
	os2, err := LoadSigner(kpem, PurposeLicense, nil)
	require.NoError(t, err)
	kpub, err := LoadPublicKey(read(t, dir, "kpub.pem"), PurposeLicense)
	require.NoError(t, err)
	require.Equal(t, os2.KeyID(), kpub.KeyID())
	_, err = kpub.Verify(ctx, msg, read(t, dir, "osig.bin"))
	require.NoError(t, err)
	ours, err := os2.Sign(ctx, msg)
	require.NoError(t, err)
	assert.Equal(t, read(t, dir, "osig.bin"), ours, "Ed25519 is deterministic: same bytes as openssl")
}

func TestOpenSSLX509(t *testing.T) {
	openssl := testutil.RequireTool(t, "openssl")
	ctx := t.Context()
	dir := t.TempDir()
	s := testX509(t, PurposeOVA)
	manifest := []byte("SHA256(app.ovf)= 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n")
	sig, err := s.Sign(ctx, manifest)
	require.NoError(t, err)
	write(t, dir, "app.mf", manifest)
	write(t, dir, "sig", sig)
	write(t, dir, "cert.pem", EncodeCertificates(s.Certificates()))

	text := string(testutil.MustRun(t, dir, nil, openssl, "x509", "-in", "cert.pem", "-noout", "-text"))
	assert.Contains(t, text, "Code Signing")
	assert.Contains(t, text, "Digital Signature")
	assert.Contains(t, text, "CA:FALSE")
	assert.Contains(t, text, "sha256WithRSAEncryption")
	assert.Contains(t, text, "Public-Key: (3072 bit)")
	assert.Contains(t, text, "Not Before: Jan  1 00:00:00 1970 GMT")
	assert.Contains(t, text, "Not After : Dec 31 23:59:59 9999 GMT")
	assert.Contains(t, text, "CN = fogkit test")
	testutil.MustRun(t, dir, nil, openssl, "verify", "-CAfile", "cert.pem", "-partial_chain", "-purpose", "any", "cert.pem")

	pubPEM := testutil.MustRun(t, dir, nil, openssl, "x509", "-in", "cert.pem", "-pubkey", "-noout")
	write(t, dir, "pub.pem", pubPEM)
	out := testutil.MustRun(t, dir, nil, openssl, "dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig", "app.mf")
	assert.Contains(t, string(out), "Verified OK")
	write(t, dir, "app.mf", append([]byte("X"), manifest[1:]...))
	r := testutil.Run(t, dir, nil, openssl, "dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig", "app.mf")
	assert.NotEqual(t, 0, r.ExitCode, "openssl accepted a changed manifest")
	write(t, dir, "app.mf", manifest)

	// openssl's key and certificate sign here; openssl's signature verifies here.
	testutil.MustRun(t, dir, nil, openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "okey.pem",
		"-out", "ocert.pem", "-days", "1", "-subj", "/CN=openssl", "-addext", "extendedKeyUsage=codeSigning")
	os2, err := LoadX509Signer(read(t, dir, "okey.pem"), read(t, dir, "ocert.pem"), PurposeOVA)
	require.NoError(t, err)
	osig, err := os2.Sign(ctx, manifest)
	require.NoError(t, err)
	write(t, dir, "osig", osig)
	testutil.MustRun(t, dir, nil, openssl, "x509", "-in", "ocert.pem", "-pubkey", "-noout", "-out", "opub.pem")
	out = testutil.MustRun(t, dir, nil, openssl, "dgst", "-sha256", "-verify", "opub.pem", "-signature", "osig", "app.mf")
	assert.Contains(t, string(out), "Verified OK")
	testutil.MustRun(t, dir, nil, openssl, "dgst", "-sha256", "-sign", "okey.pem", "-out", "osig2", "app.mf")
	assert.Equal(t, read(t, dir, "osig2"), osig, "PKCS#1 v1.5 is deterministic: same bytes as openssl")
	ocert, err := LoadPublicKey(read(t, dir, "ocert.pem"), PurposeOVA)
	require.NoError(t, err)
	_, err = ocert.Verify(ctx, manifest, read(t, dir, "osig2"))
	require.NoError(t, err)
	// The bare SPKI key openssl printed verifies as well.
	opub, err := LoadPublicKey(read(t, dir, "opub.pem"), PurposeOVA)
	require.NoError(t, err)
	assert.Equal(t, ocert.KeyID(), opub.KeyID())
	_, err = opub.Verify(ctx, manifest, osig)
	require.NoError(t, err)

	// ECDSA (P-256) signatures verify with openssl too.
	testutil.MustRun(t, dir, nil, openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", "eckey.pem", "-out", "eccert.pem", "-days", "1", "-subj", "/CN=ec")
	ec, err := LoadSigner(append(read(t, dir, "eckey.pem"), read(t, dir, "eccert.pem")...), PurposeOVA, nil)
	require.NoError(t, err)
	ecsig, err := ec.Sign(ctx, manifest)
	require.NoError(t, err)
	write(t, dir, "ecsig", ecsig)
	testutil.MustRun(t, dir, nil, openssl, "x509", "-in", "eccert.pem", "-pubkey", "-noout", "-out", "ecpub.pem")
	out = testutil.MustRun(t, dir, nil, openssl, "dgst", "-sha256", "-verify", "ecpub.pem", "-signature", "ecsig", "app.mf")
	assert.Contains(t, string(out), "Verified OK")
}

func write(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o600))
}

func read(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	return b
}

func lookTool(name string) (string, error) { return exec.LookPath(name) }

func TestGPGSignsAndEncryptsToUs(t *testing.T) {
	g := newGPGHome(t)
	ctx := t.Context()
	ours := testPGP(t, 17, PurposeUpdate)
	pub, err := EncodePublicKey(ours.Public())
	require.NoError(t, err)
	g.run(nil, "--import", g.file("pub.asc", pub))
	g.run(nil, "--passphrase", "", "--quick-gen-key", "Vendor <v@x>", "ed25519", "sign", "never")
	vendor, err := LoadOpenPGPPublicKey(g.run(nil, "--armor", "--export", "v@x"), PurposeUpdate)
	require.NoError(t, err)

	plain := testutil.TextBytes(17, 10_000)
	in := g.file("plain.txt", plain)
	g.run(nil, "--passphrase", "", "--trust-model", "always", "--local-user", "v@x", "--output", in+".gpg",
		"--sign", "--encrypt", "-r", ours.KeyID(), in)
	ct, err := os.ReadFile(in + ".gpg")
	require.NoError(t, err)

	var out bytes.Buffer
	require.NoError(t, Decrypt(ctx, &out, bytes.NewReader(ct), ours, &DecryptOptions{SignedBy: []*OpenPGPPublicKey{vendor}}))
	require.Equal(t, plain, out.Bytes())
	err = Decrypt(ctx, &bytes.Buffer{}, bytes.NewReader(ct), ours, &DecryptOptions{SignedBy: []*OpenPGPPublicKey{testPGP(t, 18, PurposeUpdate).Public()}})
	require.ErrorIs(t, err, ErrUnknownKey)
}

// colons returns the fields of gpg --with-colons lines of the given record
// type (pub, sub, fpr...), in order.
func (g *gpgHome) colons(typ string, args ...string) [][]string {
	g.t.Helper()
	var out [][]string
	for _, line := range strings.Split(string(g.run(nil, append([]string{"--with-colons"}, args...)...)), "\n") {
		if f := strings.Split(line, ":"); f[0] == typ {
			out = append(out, f)
		}
	}
	return out
}

// TestGPGRevokeSigningSubkey: gpg signs from a subkey and names it, in
// upper case, in its output; whatever form of it an operator pastes into
// Revoke revokes the key, and an id that names no key is an error.
func TestGPGRevokeSigningSubkey(t *testing.T) {
	g := newGPGHome(t)
	ctx := t.Context()
	g.run(nil, "--passphrase", "", "--quick-gen-key", "Sub Signer <sub@x>", "ed25519", "cert", "never")
	fpr := g.fingerprint("sub@x")
	g.run(nil, "--passphrase", "", "--quick-add-key", fpr, "ed25519", "sign", "never")
	g.run(nil, "--passphrase", "", "--quick-add-key", fpr, "cv25519", "encr", "never")
	msg := []byte("signed by a subkey\n")
	msgPath := g.file("msg", msg)
	g.run(nil, "--passphrase", "", "--armor", "--detach-sign", "--output", msgPath+".asc", msgPath)
	sig, err := os.ReadFile(msgPath + ".asc")
	require.NoError(t, err)

	// What gpg shows: the signing subkey in the verify output, fingerprints
	// in groups of four, 0x-prefixed long key ids.
	status := string(testutil.MustRun(t, g.dir, nil, g.gpg, "--homedir", g.dir, "--batch", "--status-fd", "1", "--verify", msgPath+".asc", msgPath))
	var validSig []string
	for _, line := range strings.Split(status, "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[1] == "VALIDSIG" {
			validSig = f
		}
	}
	require.NotNil(t, validSig, "%s", status)
	signingSub := validSig[2]
	require.Equal(t, strings.ToUpper(fpr), validSig[len(validSig)-1], "VALIDSIG ends with the primary fingerprint")
	require.NotEqual(t, strings.ToUpper(fpr), signingSub, "gpg signed with the subkey")
	human := string(g.run(nil, "--keyid-format", "0xlong", "--fingerprint", "--with-subkey-fingerprints", "sub@x"))
	var groupedSub, longSub string
	lines := strings.Split(human, "\n")
	for i, line := range lines {
		if strings.HasPrefix(line, "sub ") && strings.Contains(line, "[S]") {
			longSub = strings.Fields(line)[1][strings.Index(strings.Fields(line)[1], "/")+1:]
			// "      Key fingerprint = C6D9 314C ...  4756 DCF6 ..."
			_, groupedSub, _ = strings.Cut(lines[i+1], "= ")
		}
	}
	require.True(t, strings.HasPrefix(longSub, "0x"), "%s", human)
	require.Equal(t, signingSub, strings.ReplaceAll(groupedSub, " ", ""), "%s", human)
	var encSub string
	for _, f := range g.colons("fpr", "--fingerprint", "--with-subkey-fingerprints", "sub@x") {
		if f[9] != strings.ToUpper(fpr) && f[9] != signingSub {
			encSub = f[9]
		}
	}
	require.NotEmpty(t, encSub)

	pub, err := LoadPublicKey(g.run(nil, "--armor", "--export", fpr), PurposeUpdate)
	require.NoError(t, err)
	ours := testPGP(t, 19, PurposeUpdate)
	for name, id := range map[string]string{
		"signing subkey as gpg --verify names it": signingSub,
		"signing subkey fingerprint, grouped":     groupedSub,
		"signing subkey 0x long key id":           longSub,
		"primary fingerprint, upper case":         strings.ToUpper(fpr),
		"primary fingerprint, lower case":         fpr,
		"encryption subkey fingerprint":           encSub,
	} {
		t.Run(name, func(t *testing.T) {
			ring, err := NewKeyring(pub, ours.Public())
			require.NoError(t, err)
			got, err := ring.Verify(ctx, PurposeUpdate, msg, sig)
			require.NoError(t, err)
			require.Equal(t, fpr, got)
			require.NoError(t, ring.Revoke(id), "%q", id)
			_, err = ring.Verify(ctx, PurposeUpdate, msg, sig)
			require.ErrorIs(t, err, ErrRevoked, "Revoke(%q) did not revoke the key", id)
			assert.Equal(t, fpr, keyErrorID(t, err))
			ourSig, err := ours.Sign(ctx, msg)
			require.NoError(t, err)
			_, err = ring.Verify(ctx, PurposeUpdate, msg, ourSig)
			require.NoError(t, err, "the other key stays usable")
		})
	}

	ring, err := NewKeyring(ours.Public())
	require.NoError(t, err)
	require.ErrorIs(t, ring.Revoke(signingSub), ErrUnknownKey, "a key not on the ring")
	require.ErrorIs(t, ring.Revoke(signingSub[:len(signingSub)-1]), ErrMalformed)
	require.ErrorIs(t, ring.Revoke(signingSub[len(signingSub)-8:]), ErrMalformed, "32-bit short key id")
}

// TestGPGKeyExpiry pins down what Verify checks about OpenPGP key expiry,
// with keys gpg made with a one-day lifetime (on the primary key, and on a
// signing subkey) and signatures gpg made at faked times:
//   - judged at the signature's time, always: a signature made after the
//     key or subkey expired is refused with ErrExpired;
//   - a signature dated inside the lifetime verifies without a clock, even
//     when it was in truth made later (backdated): nothing tells them apart
//     without a trusted clock;
//   - with WithClock, a key or subkey expired by the clock's time is
//     refused, so the backdated signature is refused; a key renewed by its
//     owner (a new self-signature) verifies again.
func TestGPGKeyExpiry(t *testing.T) {
	g := newGPGHome(t)
	ctx := t.Context()
	const t0 = 1700000000 // 2023-11-14T22:13:20Z
	at := func(d time.Duration) string { return fmt.Sprint(t0 + int64(d/time.Second)) }
	clock := func(d time.Duration) func() time.Time {
		return func() time.Time { return time.Unix(t0, 0).Add(d) }
	}
	gpgAt := func(d time.Duration, args ...string) []byte {
		return g.run(nil, append([]string{"--faked-system-time", at(d), "--passphrase", ""}, args...)...)
	}
	msg := []byte("manifest\n")
	msgPath := g.file("msg", msg)
	signAt := func(d time.Duration, uid string) []byte {
		out := filepath.Join(g.dir, "sig-"+at(d)+"-"+uid)
		gpgAt(d, "--local-user", uid, "--armor", "--detach-sign", "--output", out, msgPath)
		sig, err := os.ReadFile(out)
		require.NoError(t, err)
		return sig
	}
	load := func(uid string) *OpenPGPPublicKey {
		k, err := LoadOpenPGPPublicKey(g.run(nil, "--armor", "--export", uid), PurposeUpdate)
		require.NoError(t, err)
		return k
	}

	// Key P: the primary key signs and expires one day after creation.
	gpgAt(0, "--quick-gen-key", "Primary Expiry <p@x>", "ed25519", "sign", "1d")
	pFpr := g.fingerprint("p@x")
	// Key S: a certify-only primary that never expires, and a signing
	// subkey that expires one day after creation.
	gpgAt(0, "--quick-gen-key", "Subkey Expiry <s@x>", "ed25519", "cert", "never")
	sFpr := g.fingerprint("s@x")
	gpgAt(0, "--quick-add-key", sFpr, "ed25519", "sign", "1d")
	var sSub string
	for _, f := range g.colons("fpr", "--fingerprint", "--with-subkey-fingerprints", "s@x") {
		if !strings.EqualFold(f[9], sFpr) {
			sSub = f[9]
		}
	}
	require.NotEmpty(t, sSub)

	pKey, sKey := load("p@x"), load("s@x")
	// Signed an hour in, inside the lifetime: a legitimate old signature and
	// one backdated by whoever holds the key later look the same.
	pEarly, sEarly := signAt(time.Hour, "p@x"), signAt(time.Hour, "s@x")

	// The owners renew both keys (never expire) and sign after the original
	// expiry; a verifier still holding the original public keys refuses.
	gpgAt(2*time.Hour, "--quick-set-expire", pFpr, "0")
	gpgAt(2*time.Hour, "--quick-set-expire", sFpr, "0", sSub)
	pLate, sLate := signAt(72*time.Hour, "p@x"), signAt(72*time.Hour, "s@x")
	pRenewed, sRenewed := load("p@x"), load("s@x")

	for _, c := range []struct {
		name       string
		key        *OpenPGPPublicKey
		sig        []byte
		clock      func() time.Time
		wantErr    error
		wantReason string
	}{
		{"primary: inside lifetime, no clock", pKey, pEarly, nil, nil, ""},
		{"subkey: inside lifetime, no clock", sKey, sEarly, nil, nil, ""},
		{"primary: made after expiry", pKey, pLate, nil, ErrExpired, "primary key not valid"},
		{"subkey: made after expiry", sKey, sLate, nil, ErrExpired, "signing subkey " + sSub},
		{"primary: clock inside lifetime", pKey, pEarly, clock(2 * time.Hour), nil, ""},
		{"subkey: clock inside lifetime", sKey, sEarly, clock(2 * time.Hour), nil, ""},
		{"primary: clock after expiry", pKey, pEarly, clock(48 * time.Hour), ErrExpired, "by the verifier's clock"},
		{"subkey: clock after expiry", sKey, sEarly, clock(48 * time.Hour), ErrExpired, "by the verifier's clock"},
		{"primary: real clock", pKey, pEarly, time.Now, ErrExpired, "by the verifier's clock"},
		{"subkey: real clock", sKey, sEarly, time.Now, ErrExpired, "by the verifier's clock"},
		{"primary: renewed key, late signature", pRenewed, pLate, time.Now, nil, ""},
		{"subkey: renewed key, late signature", sRenewed, sLate, time.Now, nil, ""},
		// gpg 2.2 exports only the renewal self-signature, so the renewed
		// key does not vouch for signatures made before the renewal (see
		// beforeRenewal for exports that keep the old one).
		{"primary: renewed key, signature before renewal", pRenewed, pEarly, nil, beforeRenewal(pRenewed, false), "self-signature is dated"},
		{"subkey: renewed key, signature before renewal", sRenewed, sEarly, nil, beforeRenewal(sRenewed, true), "binding signature is dated"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := c.key
			if c.clock != nil {
				k = k.WithClock(c.clock)
			}
			id, err := k.Verify(ctx, msg, c.sig)
			if c.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, k.KeyID(), id)
				return
			}
			require.ErrorIs(t, err, c.wantErr)
			assert.Contains(t, err.Error(), c.wantReason)
			assert.Equal(t, k.KeyID(), keyErrorID(t, err))
			// A keyring reports the same refusal.
			ring, err2 := NewKeyring(testPGP(t, 21, PurposeUpdate).Public(), k)
			require.NoError(t, err2)
			_, err2 = ring.Verify(ctx, PurposeUpdate, msg, c.sig)
			require.ErrorIs(t, err2, c.wantErr)
		})
	}
}

// TestGPGRSAKeyLimits: the RSA size limit applies to OpenPGP keys too; the
// packet checks that run before go-crypto accept gpg's RSA keys, public and
// secret, plain and passphrase-protected; gpg's DSA keys are refused.
func TestGPGRSAKeyLimits(t *testing.T) {
	g := newGPGHome(t)
	ctx := t.Context()
	g.run(nil, "--passphrase", "", "--quick-gen-key", "R <r@x>", "rsa2048", "sign", "never")
	g.run(nil, "--passphrase", "", "--quick-add-key", g.fingerprint("r@x"), "rsa2048", "encr", "never")
	fpr := g.fingerprint("r@x")
	pub, err := LoadPublicKey(g.run(nil, "--armor", "--export", fpr), PurposeUpdate)
	require.NoError(t, err)
	s, err := LoadSigner(g.run(nil, "--passphrase", "", "--armor", "--export-secret-keys", fpr), PurposeUpdate, nil)
	require.NoError(t, err)
	sig, err := s.Sign(ctx, []byte("m"))
	require.NoError(t, err)
	_, err = pub.Verify(ctx, []byte("m"), sig)
	require.NoError(t, err)
	enc, err := EncodePrivateKey(s, []byte("pw"))
	require.NoError(t, err)
	back, err := LoadSigner(enc, PurposeUpdate, []byte("pw"))
	require.NoError(t, err, "an encrypted RSA secret key passes the size bound")
	require.Equal(t, fpr, back.KeyID())

	g.run(nil, "--passphrase", "", "--quick-gen-key", "Small <small@x>", "rsa1024", "sign", "never")
	small := g.fingerprint("small@x")
	_, err = LoadPublicKey(g.run(nil, "--armor", "--export", small), PurposeUpdate)
	require.ErrorIs(t, err, ErrUnsupported)
	assert.Contains(t, err.Error(), "1024 bits")
	_, err = LoadSigner(g.run(nil, "--passphrase", "", "--armor", "--export-secret-keys", small), PurposeUpdate, nil)
	require.ErrorIs(t, err, ErrUnsupported)

	g.run(nil, "--passphrase", "", "--quick-gen-key", "D <d@x>", "dsa2048", "sign", "never")
	_, err = LoadPublicKey(g.run(nil, "--armor", "--export", g.fingerprint("d@x")), PurposeUpdate)
	require.ErrorIs(t, err, ErrUnsupported)
}

// beforeRenewal is what verifying a signature made before a key's renewal
// gives with the renewed key: ErrExpired when the export holds only the
// renewal's self-signature (or subkey binding), as gpg 2.2 writes it;
// success when the export keeps the earlier one too, which was in force
// when the signature was made.
func beforeRenewal(k *OpenPGPPublicKey, subkey bool) error {
	n := 0
	if subkey {
		for _, sk := range k.entity.Subkeys {
			n = max(n, len(sk.Bindings))
		}
	} else {
		for _, id := range k.entity.Identities {
			n = max(n, len(id.SelfCertifications))
		}
	}
	if n > 1 {
		return nil
	}
	return ErrExpired
}
