package sign_test

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/sign"
)

func TestPAE(t *testing.T) {
	// The example of the DSSE protocol's specification.
	require.Equal(t, "DSSEv1 29 http://example.com/HelloWorld 11 hello world",
		string(sign.PAE("http://example.com/HelloWorld", []byte("hello world"))))
	require.Equal(t, "DSSEv1 0  0 ", string(sign.PAE("", nil)))
}

func TestDSSE(t *testing.T) {
	ctx := t.Context()
	s, err := sign.GenerateEd25519(nil, sign.PurposeProvenance)
	require.NoError(t, err)
	sig, err := s.SignDSSE(ctx, "application/vnd.in-toto+json", []byte("{}"))
	require.NoError(t, err)

	// A plain Ed25519 signature over PAE, as any DSSE verifier checks it,
	// and not the prefixed one Sign makes.
	require.True(t, ed25519.Verify(s.Public().Key(), sign.PAE("application/vnd.in-toto+json", []byte("{}")), sig))
	raw, err := s.Sign(ctx, []byte("{}"))
	require.NoError(t, err)
	require.NotEqual(t, raw, sig)

	id, err := s.Public().VerifyDSSE(ctx, "application/vnd.in-toto+json", []byte("{}"), sig)
	require.NoError(t, err)
	require.Equal(t, s.KeyID(), id)

	cases := []struct {
		name, typ, payload string
		sig                []byte
		want               error
	}{
		{"other payload", "application/vnd.in-toto+json", "{ }", sig, sign.ErrBadSignature},
		{"other type", "application/json", "{}", sig, sign.ErrBadSignature},
		{"short signature", "application/vnd.in-toto+json", "{}", sig[:63], sign.ErrBadSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Public().VerifyDSSE(ctx, c.typ, []byte(c.payload), c.sig)
			require.ErrorIs(t, err, c.want)
		})
	}

	ring, err := sign.NewKeyring(s.Public())
	require.NoError(t, err)
	require.NoError(t, ring.VerifyDSSE(ctx, sign.PurposeProvenance, s.KeyID(), "application/vnd.in-toto+json", []byte("{}"), sig))
	require.ErrorIs(t, ring.VerifyDSSE(ctx, sign.PurposeUpdate, s.KeyID(), "application/vnd.in-toto+json", []byte("{}"), sig), sign.ErrWrongPurpose)
	require.ErrorIs(t, ring.VerifyDSSE(ctx, sign.PurposeProvenance, "00112233445566778899aabbccddeeff", "application/vnd.in-toto+json", []byte("{}"), sig), sign.ErrUnknownKey)
	require.NoError(t, ring.Revoke(s.KeyID()))
	require.ErrorIs(t, ring.VerifyDSSE(ctx, sign.PurposeProvenance, s.KeyID(), "application/vnd.in-toto+json", []byte("{}"), sig), sign.ErrRevoked)

	// License keys sign with their prefix only.
	lic, err := sign.GenerateEd25519(nil, sign.PurposeLicense)
	require.NoError(t, err)
	_, err = lic.SignDSSE(ctx, "application/vnd.in-toto+json", []byte("{}"))
	require.ErrorIs(t, err, sign.ErrWrongPurpose)
	_, err = lic.Public().VerifyDSSE(ctx, "application/vnd.in-toto+json", []byte("{}"), sig)
	require.ErrorIs(t, err, sign.ErrWrongPurpose)

	var nilSigner *sign.Ed25519Signer
	_, err = nilSigner.SignDSSE(ctx, "x", nil)
	require.ErrorIs(t, err, sign.ErrMalformed)
}

func TestKeyDirProvenanceKey(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "keys")
	ks, err := sign.CreateKeyDir(dir, &sign.KeyDirOptions{Name: "acme"})
	require.NoError(t, err)
	require.NotNil(t, ks.Provenance)
	require.Equal(t, sign.PurposeProvenance, ks.Provenance.Purpose())
	require.Equal(t, sign.Ed25519, ks.Provenance.Algorithm())
	st, err := os.Stat(filepath.Join(dir, sign.ProvenanceKeyFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	// provenance.pub verifies what provenance.key signs as DSSE.
	pub, err := sign.LoadPublicKey(ks.ProvenancePublic, sign.PurposeProvenance)
	require.NoError(t, err)
	sig, err := ks.Provenance.(sign.DSSESigner).SignDSSE(ctx, "t", []byte("p"))
	require.NoError(t, err)
	_, err = pub.(sign.DSSEVerifier).VerifyDSSE(ctx, "t", []byte("p"), sig)
	require.NoError(t, err)
	require.NotEqual(t, ks.License.KeyID(), ks.Provenance.KeyID())

	// A directory made before the provenance key existed still loads.
	require.NoError(t, os.Remove(filepath.Join(dir, sign.ProvenanceKeyFile)))
	require.NoError(t, os.Remove(filepath.Join(dir, sign.ProvenancePublicFile)))
	old, err := sign.LoadKeyDir(dir)
	require.NoError(t, err)
	require.Nil(t, old.Provenance)
	require.Nil(t, old.ProvenancePublic)
	require.NotNil(t, old.Support)

	// Half a pair is refused.
	require.NoError(t, os.WriteFile(filepath.Join(dir, sign.ProvenancePublicFile), ks.ProvenancePublic, 0o644))
	_, err = sign.LoadKeyDir(dir)
	require.ErrorIs(t, err, sign.ErrKeyDir)

	// So is the public half of another key, and an OpenPGP key.
	lic, err := os.ReadFile(filepath.Join(dir, sign.LicenseKeyFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, sign.ProvenanceKeyFile), lic, 0o600))
	_, err = sign.LoadKeyDir(dir)
	require.ErrorIs(t, err, sign.ErrKeyDir)
	require.ErrorContains(t, err, "not the public half")
	upd, err := os.ReadFile(filepath.Join(dir, sign.UpdateKeyFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, sign.ProvenanceKeyFile), upd, 0o600))
	_, err = sign.LoadKeyDir(dir)
	require.ErrorIs(t, err, sign.ErrKeyDir)
}

func TestAddProvenanceKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	ks, err := sign.CreateKeyDir(dir, &sign.KeyDirOptions{Name: "acme"})
	require.NoError(t, err)
	_, err = sign.AddProvenanceKey(dir)
	require.ErrorIs(t, err, sign.ErrKeyDir, "a directory with a provenance key keeps it")

	require.NoError(t, os.Remove(filepath.Join(dir, sign.ProvenanceKeyFile)))
	require.NoError(t, os.Remove(filepath.Join(dir, sign.ProvenancePublicFile)))
	added, err := sign.AddProvenanceKey(dir)
	require.NoError(t, err)
	require.NotNil(t, added.Provenance)
	require.NotEqual(t, ks.Provenance.KeyID(), added.Provenance.KeyID())
	require.Equal(t, ks.License.KeyID(), added.License.KeyID(), "the other keys stay")
	require.Equal(t, ks.Update.KeyID(), added.Update.KeyID())
	st, err := os.Stat(filepath.Join(dir, sign.ProvenanceKeyFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 10, "no temporary files left")
	again, err := sign.LoadKeyDir(dir)
	require.NoError(t, err)
	require.Equal(t, added.Provenance.KeyID(), again.Provenance.KeyID())

	// A directory that does not load is left alone.
	require.NoError(t, os.Remove(filepath.Join(dir, sign.ProvenancePublicFile)))
	_, err = sign.AddProvenanceKey(dir)
	require.ErrorIs(t, err, sign.ErrKeyDir)
}
