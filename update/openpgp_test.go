package update

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
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
