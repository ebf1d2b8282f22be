package update

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/sign"
	"github.com/stretchr/testify/require"
)

func pgpKey(t testing.TB, seed byte, name string) *sign.OpenPGPSigner {
	t.Helper()
	var s [32]byte
	s[0] = seed
	k, err := sign.GenerateOpenPGP(name, name+"@example.com", sign.PurposeUpdate,
		&sign.OpenPGPOptions{Time: time.Unix(1700000000, 0), Rand: seeded{rand.NewChaCha8(s)}})
	require.NoError(t, err)
	return k
}

func TestOpenPGPSignedEncrypted(t *testing.T) {
	vendor := pgpKey(t, 1, "acme-updates")
	product := pgpKey(t, 2, "demo-product")
	otherProduct := pgpKey(t, 3, "other-product")
	ring, err := sign.NewKeyring(vendor.Public())
	require.NoError(t, err)

	o := baseOpts(2, KindDiff)
	var a, b bytes.Buffer
	_, err = Build(t.Context(), &a, []sign.Signer{vendor}, tree(2), []Tree{tree(1)}, o)
	require.NoError(t, err)
	_, err = Build(t.Context(), &b, []sign.Signer{vendor}, tree(2), []Tree{tree(1)}, o)
	require.NoError(t, err)
	require.Equal(t, a.Bytes(), b.Bytes(), "OpenPGP-signed packages are reproducible")
	sp := memberSpans(t, a.Bytes())[MemberSig]
	require.Contains(t, string(a.Bytes()[sp[0]:sp[0]+sp[1]]), "-----BEGIN PGP SIGNATURE-----")

	o.Encrypt = OpenPGPEncrypter(product.Public())
	var enc bytes.Buffer
	_, err = Build(t.Context(), &enc, []sign.Signer{vendor}, tree(2), []Tree{tree(1)}, o)
	require.NoError(t, err)
	pkg := enc.Bytes()

	// Without the key the signature and payload digest still verify.
	vr, err := Verify(t.Context(), bytes.NewReader(pkg), int64(len(pkg)), &VerifyOptions{Keyring: ring})
	require.NoError(t, err)
	require.False(t, vr.ContentVerified)
	require.Equal(t, []string{vendor.KeyID()}, vr.KeyIDs)

	m := installed(t, testSigner(t, 1), testRing(t, testSigner(t, 1)), 1)
	wrong := applyOpts(ring)
	wrong.Decrypt = OpenPGPDecrypter(otherProduct, 0)
	refused(t, m, pkg, wrong, ErrDecrypt)
	err = refused(t, m, pkg, wrong, sign.ErrDecrypt)
	require.Contains(t, err.Error(), "decrypt")

	right := applyOpts(ring)
	right.Decrypt = OpenPGPDecrypter(product, 0)
	_, err = apply(t.Context(), m, pkg, right)
	require.NoError(t, err)
	require.Equal(t, treeDigestOf(t, versionTree(2)), currentDigest(t, m))
}

// TestGPGVerifiesManifest checks the manifest signature is a plain detached
// OpenPGP signature over manifest.json that gpgv accepts.
func TestGPGVerifiesManifest(t *testing.T) {
	gpgv := testutil.RequireTool(t, "gpgv")
	gpg := testutil.RequireTool(t, "gpg")
	vendor := pgpKey(t, 1, "acme-updates")
	var buf bytes.Buffer
	_, err := Build(t.Context(), &buf, []sign.Signer{vendor}, tree(1), nil, baseOpts(1, KindFull))
	require.NoError(t, err)
	pkg := buf.Bytes()
	dir := t.TempDir()
	spans := memberSpans(t, pkg)
	for _, name := range []string{MemberManifest, MemberSig} {
		sp := spans[name]
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), pkg[sp[0]:sp[0]+sp[1]], 0o644))
	}
	pub, err := sign.EncodePublicKey(vendor.Public())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "vendor.asc"), pub, 0o644))
	testutil.MustRun(t, dir, nil, gpg, "--batch", "--homedir", dir, "--output", filepath.Join(dir, "vendor.gpg"), "--dearmor", filepath.Join(dir, "vendor.asc"))
	testutil.MustRun(t, dir, nil, gpgv, "--homedir", dir, "--keyring", filepath.Join(dir, "vendor.gpg"), filepath.Join(dir, MemberSig), filepath.Join(dir, MemberManifest))
	// A changed manifest fails.
	mb := append([]byte(nil), pkg[spans[MemberManifest][0]:spans[MemberManifest][0]+spans[MemberManifest][1]]...)
	mb[10] ^= 1
	require.NoError(t, os.WriteFile(filepath.Join(dir, MemberManifest), mb, 0o644))
	r := testutil.Run(t, dir, nil, gpgv, "--homedir", dir, "--keyring", filepath.Join(dir, "vendor.gpg"), filepath.Join(dir, MemberSig), filepath.Join(dir, MemberManifest))
	require.NotEqual(t, 0, r.ExitCode)
}

// gpgSigner signs manifests with gpg itself, at a faked system time, so a
// package can carry a signature gpg dated inside or after a key's lifetime.
type gpgSigner struct {
	t        *testing.T
	gpg, dir string
	uid, fpr string
	at       int64 // gpg --faked-system-time, frozen ("!"): a clock that ticks on from it lets one call's key be "in the future" for the next
}

func (g gpgSigner) KeyID() string             { return g.fpr }
func (g gpgSigner) Purpose() sign.Purpose     { return sign.PurposeUpdate }
func (g gpgSigner) Algorithm() sign.Algorithm { return sign.OpenPGP }
func (g gpgSigner) run(args ...string) []byte {
	return testutil.MustRun(g.t, g.dir, nil, g.gpg, append([]string{"--homedir", g.dir, "--batch", "--no-tty",
		"--pinentry-mode", "loopback", "--passphrase", "", "--faked-system-time", strconv.FormatInt(g.at, 10) + "!"}, args...)...)
}

func (g gpgSigner) Sign(_ context.Context, msg []byte) ([]byte, error) {
	in := filepath.Join(g.dir, "manifest.json")
	if err := os.WriteFile(in, msg, 0o600); err != nil {
		return nil, err
	}
	os.Remove(in + ".asc")
	g.run("--local-user", g.uid, "--armor", "--detach-sign", "--output", in+".asc", in)
	return os.ReadFile(in + ".asc")
}

// TestOpenPGPKeyExpiry: update signatures from gpg keys with a one-day
// lifetime (on the primary key, and on a signing subkey). A signature made
// after expiry is refused; one dated inside the lifetime verifies without a
// clock (it may be backdated: nothing tells without a trusted clock) and is
// refused by OpenPGPKeyring with a clock past the expiry.
func TestOpenPGPKeyExpiry(t *testing.T) {
	gpg := testutil.RequireTool(t, "gpg")
	base, err := os.MkdirTemp("", "fkgpg") // short: gpg-agent's socket path is limited
	require.NoError(t, err)
	dir := filepath.Join(base, "h")
	require.NoError(t, os.Mkdir(dir, 0o700))
	t.Cleanup(func() {
		testutil.Run(t, base, nil, "gpgconf", "--homedir", dir, "--kill", "all")
		os.RemoveAll(base)
	})
	const t0 = 1700000000
	g := gpgSigner{t: t, gpg: gpg, dir: dir, at: t0}
	fpr := func(uid string) string {
		for _, line := range strings.Split(string(g.run("--with-colons", "--fingerprint", uid)), "\n") {
			if f := strings.Split(line, ":"); f[0] == "fpr" {
				return strings.ToLower(f[9])
			}
		}
		t.Fatalf("no fingerprint for %s", uid)
		return ""
	}
	g.run("--quick-gen-key", "Primary <p@x>", "ed25519", "sign", "1d")
	g.run("--quick-gen-key", "Subkey <s@x>", "ed25519", "cert", "never")
	g.run("--quick-add-key", fpr("s@x"), "ed25519", "sign", "1d")

	for _, uid := range []string{"p@x", "s@x"} {
		t.Run(uid, func(t *testing.T) {
			s := g
			s.t, s.uid, s.fpr = t, uid, fpr(uid)
			pub, err := sign.LoadOpenPGPPublicKey(s.run("--armor", "--export", uid), sign.PurposeUpdate)
			require.NoError(t, err)
			pkgAt := func(d time.Duration) []byte {
				s.at = t0 + int64(d/time.Second)
				var buf bytes.Buffer
				_, err := Build(t.Context(), &buf, []sign.Signer{s}, tree(1), nil, baseOpts(1, KindFull))
				require.NoError(t, err)
				return buf.Bytes()
			}
			verify := func(pkg []byte, now func() time.Time) error {
				ring, err := OpenPGPKeyring(now, pub)
				require.NoError(t, err)
				_, err = Verify(t.Context(), bytes.NewReader(pkg), int64(len(pkg)), &VerifyOptions{Keyring: ring})
				return err
			}
			clock := func(d time.Duration) func() time.Time {
				return func() time.Time { return time.Unix(t0, 0).Add(d) }
			}
			early := pkgAt(time.Hour)
			require.NoError(t, verify(early, nil), "judged at signature time")
			require.NoError(t, verify(early, clock(2*time.Hour)))
			for _, now := range []func() time.Time{clock(25 * time.Hour), time.Now} {
				err := verify(early, now)
				require.ErrorIs(t, err, ErrSignature)
				require.ErrorIs(t, err, sign.ErrExpired)
			}

			// Renewed by its owner, the key signs after the original expiry;
			// appliances holding the original key refuse.
			s.at = t0 + 7200
			if uid == "p@x" {
				s.run("--quick-set-expire", s.fpr, "0")
			} else {
				var sub string
				for _, line := range strings.Split(string(s.run("--with-colons", "--fingerprint", "--with-subkey-fingerprints", uid)), "\n") {
					if f := strings.Split(line, ":"); f[0] == "fpr" && !strings.EqualFold(f[9], s.fpr) {
						sub = f[9]
					}
				}
				s.run("--quick-set-expire", s.fpr, "0", sub)
			}
			late := pkgAt(72 * time.Hour)
			err = verify(late, nil)
			require.ErrorIs(t, err, ErrSignature)
			require.ErrorIs(t, err, sign.ErrExpired)
			renewed, err := sign.LoadOpenPGPPublicKey(s.run("--armor", "--export", uid), sign.PurposeUpdate)
			require.NoError(t, err)
			ring, err := OpenPGPKeyring(time.Now, renewed)
			require.NoError(t, err)
			_, err = Verify(t.Context(), bytes.NewReader(late), int64(len(late)), &VerifyOptions{Keyring: ring})
			require.NoError(t, err, "the renewed key verifies what it signed")
		})
	}

	_, err = OpenPGPKeyring(nil, pgpKey(t, 9, "x").Public(), nil)
	require.ErrorIs(t, err, sign.ErrMalformed)
	lic, err := sign.LoadOpenPGPPublicKey(pgpMust(sign.EncodePublicKey(pgpKey(t, 9, "x").Public())), sign.PurposeLicense)
	require.NoError(t, err)
	_, err = OpenPGPKeyring(nil, lic)
	require.ErrorIs(t, err, sign.ErrWrongPurpose)
}

func pgpMust(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
