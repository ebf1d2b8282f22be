package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// signPGPAt makes a detached armored signature at time at with the
// primary key, bypassing the signer's validity checks (to forge the
// signatures a verifier must refuse).
func signPGPAt(t *testing.T, s *OpenPGPSigner, msg []byte, at time.Time, notations ...*packet.Notation) []byte {
	t.Helper()
	pk := s.entity.PrimaryKey
	sig := &packet.Signature{
		Version: pk.Version, SigType: packet.SigTypeBinary, PubKeyAlgo: pk.PubKeyAlgo, Hash: crypto.SHA256,
		CreationTime: at, IssuerKeyId: &pk.KeyId, IssuerFingerprint: pk.Fingerprint, Notations: notations,
	}
	cfg := pgpConfig(at, false, nil)
	h, err := sig.PrepareSign(cfg)
	require.NoError(t, err)
	h.Write(msg)
	require.NoError(t, sig.Sign(h, s.entity.PrivateKey, cfg))
	var b bytes.Buffer
	w, err := armor.Encode(&b, pgpSignatureBlock, nil)
	require.NoError(t, err)
	require.NoError(t, sig.Serialize(w))
	require.NoError(t, w.Close())
	return b.Bytes()
}

func keyErrorID(t *testing.T, err error) string {
	t.Helper()
	var ke *KeyError
	require.True(t, errors.As(err, &ke), "want a *KeyError, got %T: %v", err, err)
	return ke.KeyID
}

func TestEveryErrorReachable(t *testing.T) {
	ctx := t.Context()
	lic := testEd25519(t, 30, PurposeLicense)
	msg := []byte("message")
	licSig, err := lic.Sign(ctx, msg)
	require.NoError(t, err)

	t.Run("malformed", func(t *testing.T) {
		for _, in := range [][]byte{nil, []byte("garbage"), []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
			[]byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n")} {
			_, err := LoadPublicKey(in, PurposeLicense)
			require.ErrorIs(t, err, ErrMalformed, "%q", in)
			_, err = LoadSigner(in, PurposeLicense, nil)
			require.ErrorIs(t, err, ErrMalformed, "%q", in)
		}
		_, err := ParseCertificates([]byte("no certificate here"))
		require.ErrorIs(t, err, ErrMalformed)
		_, err = NewEd25519Signer(lic.PrivateKey(), "Bad Purpose")
		require.ErrorIs(t, err, ErrMalformed)
		_, err = GenerateOpenPGP("a<b>", "x@y", PurposeUpdate, nil)
		require.ErrorIs(t, err, ErrMalformed)
		_, err = NewX509Signer(testRSA(t), nil, PurposeOVA)
		require.ErrorIs(t, err, ErrMalformed, "no certificate")
		other, err := SelfSignedCertificate(testEd25519(t, 31, PurposeOVA).PrivateKey(), nil)
		require.NoError(t, err)
		_, err = NewX509Signer(testRSA(t), []*x509.Certificate{other}, PurposeOVA)
		require.ErrorIs(t, err, ErrMalformed, "certificate of another key")
		// A public key where a private key is expected and vice versa.
		pub, _ := EncodePublicKey(lic.Public())
		_, err = LoadSigner(pub, PurposeLicense, nil)
		require.ErrorIs(t, err, ErrMalformed)
		priv, _ := EncodePrivateKey(lic, nil)
		_, err = LoadPublicKey(priv, PurposeLicense)
		require.ErrorIs(t, err, ErrMalformed)
		pgpPriv, _ := EncodePrivateKey(testPGP(t, 32, PurposeUpdate), nil)
		_, err = LoadPublicKey(pgpPriv, PurposeUpdate)
		require.ErrorIs(t, err, ErrMalformed)
		// Two OpenPGP keys in one file.
		a, _ := EncodePublicKey(testPGP(t, 33, PurposeUpdate).Public())
		b, _ := EncodePublicKey(testPGP(t, 34, PurposeUpdate).Public())
		ab := append(dearmorT(t, a), dearmorT(t, b)...)
		_, err = LoadPublicKey(ab, PurposeUpdate)
		require.ErrorIs(t, err, ErrMalformed)
		// A signature that is not OpenPGP.
		_, err = testPGP(t, 33, PurposeUpdate).Public().Verify(ctx, msg, []byte("-----BEGIN PGP SIGNATURE-----\n\n!!!!\n-----END PGP SIGNATURE-----\n"))
		require.Error(t, err)
	})

	t.Run("unknown key", func(t *testing.T) {
		ring, err := NewKeyring()
		require.NoError(t, err)
		_, err = ring.Verify(ctx, PurposeLicense, msg, licSig)
		require.ErrorIs(t, err, ErrUnknownKey)
		_, err = ring.Lookup("0123", PurposeLicense)
		require.ErrorIs(t, err, ErrUnknownKey)
		assert.Equal(t, "0123", keyErrorID(t, err))
		a, b := testPGP(t, 35, PurposeUpdate), testPGP(t, 36, PurposeUpdate)
		sig, err := a.Sign(ctx, msg)
		require.NoError(t, err)
		_, err = b.Public().Verify(ctx, msg, sig)
		require.ErrorIs(t, err, ErrUnknownKey)
		assert.Equal(t, b.KeyID(), keyErrorID(t, err))
		ring, _ = NewKeyring(b.Public())
		_, err = ring.Verify(ctx, PurposeUpdate, msg, sig)
		require.ErrorIs(t, err, ErrUnknownKey)
	})

	t.Run("bad signature", func(t *testing.T) {
		bad := bytes.Clone(licSig)
		bad[10] ^= 1
		_, err := lic.Public().Verify(ctx, msg, bad)
		require.ErrorIs(t, err, ErrBadSignature)
		assert.Equal(t, lic.KeyID(), keyErrorID(t, err))
		ring, _ := NewKeyring(lic.Public())
		_, err = ring.Verify(ctx, PurposeLicense, msg, bad)
		require.ErrorIs(t, err, ErrBadSignature)
	})

	t.Run("wrong purpose", func(t *testing.T) {
		ring, _ := NewKeyring(lic.Public(), testEd25519(t, 37, PurposeUpdate).Public())
		_, err := ring.Lookup(lic.KeyID(), PurposeUpdate)
		require.ErrorIs(t, err, ErrWrongPurpose)
		_, err = ring.Verify(ctx, PurposeUpdate, msg, licSig)
		require.ErrorIs(t, err, ErrWrongPurpose)
		require.ErrorIs(t, ring.VerifyKey(ctx, PurposeUpdate, lic.KeyID(), msg, licSig), ErrWrongPurpose)
		// An OpenPGP signature made for updates, checked by the same key
		// loaded for another purpose.
		s := testPGP(t, 38, PurposeUpdate)
		sig, _ := s.Sign(ctx, msg)
		pub, _ := EncodePublicKey(s.Public())
		asOVA, err := LoadPublicKey(pub, PurposeOVA)
		require.NoError(t, err)
		_, err = asOVA.Verify(ctx, msg, sig)
		require.ErrorIs(t, err, ErrWrongPurpose)
	})

	t.Run("revoked", func(t *testing.T) {
		ring, _ := NewKeyring(lic.Public())
		require.NoError(t, ring.Revoke(lic.KeyID()))
		_, err := ring.Verify(ctx, PurposeLicense, msg, licSig)
		require.ErrorIs(t, err, ErrRevoked)
		assert.Equal(t, lic.KeyID(), keyErrorID(t, err))
		require.ErrorIs(t, ring.VerifyKey(ctx, PurposeLicense, lic.KeyID(), msg, licSig), ErrRevoked)
		// An OpenPGP key carrying its own revocation signature.
		s := testPGP(t, 39, PurposeUpdate)
		sig, _ := s.Sign(ctx, msg)
		rev := *s.entity
		require.NoError(t, rev.Revoke(packet.KeyCompromised, "lost", pgpConfig(testTime.Add(time.Hour), false, nil)))
		pub, err := armorEntity(&rev, false)
		require.NoError(t, err)
		k, err := LoadPublicKey(pub, PurposeUpdate)
		require.NoError(t, err)
		_, err = k.Verify(ctx, msg, sig)
		require.ErrorIs(t, err, ErrRevoked)
	})

	t.Run("expired", func(t *testing.T) {
		s, err := GenerateOpenPGP("exp", "exp@example.com", PurposeUpdate, &OpenPGPOptions{Time: testTime, Lifetime: 24 * time.Hour, Rand: seeded(40)})
		require.NoError(t, err)
		_, err = s.WithTime(testTime.Add(12*time.Hour)).Sign(ctx, msg)
		require.NoError(t, err)
		_, err = s.WithTime(testTime.Add(48*time.Hour)).Sign(ctx, msg)
		require.ErrorIs(t, err, ErrExpired)
		_, err = s.WithTime(testTime.Add(-time.Hour)).Sign(ctx, msg)
		require.ErrorIs(t, err, ErrExpired, "before the key existed")

		late := signPGPAt(t, s, msg, testTime.Add(48*time.Hour))
		_, err = s.Public().Verify(ctx, msg, late)
		require.ErrorIs(t, err, ErrExpired)
		ring, _ := NewKeyring(testPGP(t, 41, PurposeUpdate).Public(), s.Public())
		_, err = ring.Verify(ctx, PurposeUpdate, msg, late)
		require.ErrorIs(t, err, ErrExpired)
		// Made while the key was valid, it verifies after expiry too.
		early := signPGPAt(t, s, msg, testTime.Add(time.Hour))
		_, err = s.Public().Verify(ctx, msg, early)
		require.NoError(t, err)

		cert, err := SelfSignedCertificate(testRSA(t), &CertOptions{NotBefore: testTime, NotAfter: testTime.AddDate(1, 0, 0)})
		require.NoError(t, err)
		require.NoError(t, CheckValidity(cert, testTime.AddDate(0, 6, 0)))
		require.ErrorIs(t, CheckValidity(cert, testTime.AddDate(2, 0, 0)), ErrExpired)
		require.ErrorIs(t, CheckValidity(cert, testTime.AddDate(-1, 0, 0)), ErrExpired)
	})

	t.Run("too large", func(t *testing.T) {
		huge := bytes.Repeat([]byte("A"), MaxKeyFileSize+1)
		copy(huge, "-----BEGIN PUBLIC KEY-----\n")
		for _, f := range []func() error{
			func() error { _, err := LoadPublicKey(huge, PurposeLicense); return err },
			func() error { _, err := LoadSigner(huge, PurposeLicense, nil); return err },
			func() error { _, err := ParseCertificates(huge); return err },
			func() error { _, err := LoadX509Signer(huge, nil, PurposeOVA); return err },
			func() error { _, err := LoadOpenPGPPublicKey(huge, PurposeUpdate); return err },
		} {
			require.ErrorIs(t, f(), ErrTooLarge)
		}
		bigMsg := make([]byte, MaxMessageSize+1)
		_, err := lic.Sign(ctx, bigMsg)
		require.ErrorIs(t, err, ErrTooLarge)
		_, err = lic.Public().Verify(ctx, bigMsg, licSig)
		require.ErrorIs(t, err, ErrTooLarge)
		_, err = testX509(t, PurposeOVA).Public().Verify(ctx, bigMsg, licSig)
		require.ErrorIs(t, err, ErrTooLarge)
		_, err = testPGP(t, 42, PurposeUpdate).Public().Verify(ctx, bigMsg, licSig)
		require.ErrorIs(t, err, ErrTooLarge)
		bigSig := make([]byte, MaxSignatureSize+1)
		_, err = testPGP(t, 42, PurposeUpdate).Public().Verify(ctx, msg, bigSig)
		require.ErrorIs(t, err, ErrTooLarge)
		_, err = testX509(t, PurposeOVA).Public().Verify(ctx, msg, bigSig)
		require.ErrorIs(t, err, ErrTooLarge)
		ring, _ := NewKeyring(lic.Public())
		_, err = ring.Verify(ctx, PurposeLicense, msg, bigSig)
		require.ErrorIs(t, err, ErrTooLarge)
		// A compression bomb stops at the cap, with the output bounded.
		s := testPGP(t, 47, PurposeUpdate)
		var bomb bytes.Buffer
		require.NoError(t, Encrypt(ctx, &bomb, bytes.NewReader(make([]byte, 16<<20)), []*OpenPGPPublicKey{s.Public()}, &EncryptOptions{Compress: true}))
		require.Less(t, bomb.Len(), 1<<20)
		var out bytes.Buffer
		err = Decrypt(ctx, &out, bytes.NewReader(bomb.Bytes()), s, &DecryptOptions{MaxSize: 1 << 20})
		require.ErrorIs(t, err, ErrTooLarge)
		require.LessOrEqual(t, out.Len(), 1<<20)
		// An endless input stops too.
		err = Decrypt(ctx, &bytes.Buffer{}, endless{}, s, &DecryptOptions{MaxSize: 1 << 10})
		require.Error(t, err)
		// Many certificates.
		cert := EncodeCertificates(testX509(t, PurposeOVA).Certificates())
		_, err = ParseCertificates(bytes.Repeat(cert, MaxCertificates+1))
		require.ErrorIs(t, err, ErrTooLarge)
	})

	t.Run("unsupported", func(t *testing.T) {
		_, err := GenerateRSA(nil, 1024)
		require.ErrorIs(t, err, ErrUnsupported)
		_, err = NewX509Signer(testEd25519(t, 43, PurposeOVA).PrivateKey(), nil, PurposeOVA)
		require.ErrorIs(t, err, ErrUnsupported)
		_, err = EncodePrivateKey(lic, []byte("pass"))
		require.ErrorIs(t, err, ErrUnsupported)
		k1024, err := rsa.GenerateKey(rand.Reader, 1024)
		require.NoError(t, err)
		_, err = SelfSignedCertificate(k1024, nil)
		require.ErrorIs(t, err, ErrUnsupported)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "weak"}, NotBefore: testTime, NotAfter: testTime.Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k1024.PublicKey, k1024)
		require.NoError(t, err)
		weak, err := x509.ParseCertificate(der)
		require.NoError(t, err)
		_, err = NewX509PublicKey(weak, PurposeOVA)
		require.ErrorIs(t, err, ErrUnsupported)
		_, err = LoadPublicKey(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), PurposeOVA)
		require.ErrorIs(t, err, ErrUnsupported)
		keyDER, _ := x509.MarshalPKCS8PrivateKey(k1024)
		_, err = LoadSigner(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), PurposeOVA, nil)
		require.ErrorIs(t, err, ErrUnsupported)
		_, err = LoadSigner([]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), PurposeOVA, nil)
		require.ErrorIs(t, err, ErrUnsupported)
		// An RSA key without its certificate cannot sign through LoadSigner.
		rsaDER, _ := x509.MarshalPKCS8PrivateKey(testRSA(t))
		_, err = LoadSigner(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: rsaDER}), PurposeOVA, nil)
		require.ErrorIs(t, err, ErrUnsupported)
		require.Contains(t, err.Error(), "LoadX509Signer")
		ec, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
		_, err = SelfSignedCertificate(ec, nil)
		require.ErrorIs(t, err, ErrUnsupported)
	})

	t.Run("decrypt", func(t *testing.T) {
		s := testPGP(t, 44, PurposeUpdate)
		priv, err := EncodePrivateKey(s, []byte("right"))
		require.NoError(t, err)
		_, err = LoadSigner(priv, PurposeUpdate, []byte("wrong"))
		require.ErrorIs(t, err, ErrDecrypt)
		_, err = LoadSigner(priv, PurposeUpdate, nil)
		require.ErrorIs(t, err, ErrDecrypt)
		back, err := LoadSigner(priv, PurposeUpdate, []byte("right"))
		require.NoError(t, err)
		assert.Equal(t, s.KeyID(), back.KeyID())

		var ct bytes.Buffer
		require.NoError(t, Encrypt(ctx, &ct, strings.NewReader("secret"), []*OpenPGPPublicKey{s.Public()}, nil))
		err = Decrypt(ctx, &bytes.Buffer{}, bytes.NewReader(ct.Bytes()), testPGP(t, 45, PurposeUpdate), nil)
		require.ErrorIs(t, err, ErrDecrypt)
		// A flipped ciphertext byte fails the integrity check.
		for _, off := range []int{ct.Len() - 5, ct.Len() / 2} {
			bad := bytes.Clone(ct.Bytes())
			bad[off] ^= 0x40
			var out bytes.Buffer
			err = Decrypt(ctx, &out, bytes.NewReader(bad), s, nil)
			require.Error(t, err)
			require.True(t, errors.Is(err, ErrDecrypt) || errors.Is(err, ErrMalformed), "%v", err)
		}
	})

	t.Run("context", func(t *testing.T) {
		c, cancel := context.WithCancel(ctx)
		cancel()
		_, err := lic.Sign(c, msg)
		require.ErrorIs(t, err, context.Canceled)
		_, err = testPGP(t, 46, PurposeUpdate).Public().Verify(c, msg, licSig)
		require.ErrorIs(t, err, context.Canceled)
	})
}

func dearmorT(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := dearmor(b, pgpPublicBlock)
	require.NoError(t, err)
	return out
}

func TestWrongLengthKeysNoPanic(t *testing.T) {
	ctx := t.Context()
	edPub := testEd25519(t, 50, PurposeLicense).Public()
	xPub := testX509(t, PurposeOVA).Public()
	for n := 0; n <= 130; n++ {
		b := bytes.Repeat([]byte{7}, n)
		if n != ed25519.PublicKeySize {
			_, err := NewEd25519PublicKey(b, PurposeLicense)
			require.ErrorIs(t, err, ErrMalformed, n)
		}
		if n != ed25519.PrivateKeySize {
			_, err := NewEd25519Signer(b, PurposeLicense)
			require.ErrorIs(t, err, ErrMalformed, n)
		}
		// Signatures of every length.
		_, err := edPub.Verify(ctx, []byte("m"), b)
		require.Error(t, err)
		_, err = xPub.Verify(ctx, []byte("m"), b)
		require.ErrorIs(t, err, ErrBadSignature)
		_, err = xPub.VerifyDigest(ctx, b, nil)
		if n != 32 {
			require.ErrorIs(t, err, ErrMalformed)
		}
	}
	// A zero-value public key and nil keys.
	var zero Ed25519PublicKey
	_, err := zero.Verify(ctx, []byte("m"), make([]byte, 64))
	require.Error(t, err)
	_, err = NewX509PublicKey(nil, PurposeOVA)
	require.ErrorIs(t, err, ErrMalformed)
	_, err = EncodePublicKey(nil)
	require.ErrorIs(t, err, ErrMalformed)
	_, err = EncodePrivateKey(nil, nil)
	require.ErrorIs(t, err, ErrMalformed)
	_, err = NewX509Signer(nil, nil, PurposeOVA)
	require.ErrorIs(t, err, ErrMalformed)
	_, err = SelfSignedCertificate(nil, nil)
	require.ErrorIs(t, err, ErrMalformed)
	// SPKI with a truncated Ed25519 key inside.
	der, _ := x509.MarshalPKIXPublicKey(ed25519.PublicKey(make([]byte, 32)))
	der[len(der)-33]-- // BIT STRING length
	_, err = LoadPublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der[:len(der)-1]}), PurposeLicense)
	require.ErrorIs(t, err, ErrMalformed)
}

func TestZeroValuesNoPanic(t *testing.T) {
	ctx := t.Context()
	m := []byte("m")
	var (
		es  Ed25519Signer
		ep  Ed25519PublicKey
		xs  X509Signer
		xp  X509PublicKey
		ps  OpenPGPSigner
		pp  OpenPGPPublicKey
		err error
	)
	_, err = es.Sign(ctx, m)
	require.ErrorIs(t, err, ErrMalformed)
	_, err = ep.Verify(ctx, m, make([]byte, 64))
	require.ErrorIs(t, err, ErrMalformed)
	_, err = xs.Sign(ctx, m)
	require.ErrorIs(t, err, ErrMalformed)
	_, err = xp.Verify(ctx, m, make([]byte, 256))
	require.ErrorIs(t, err, ErrUnsupported)
	_, err = ps.Sign(ctx, m)
	require.ErrorIs(t, err, ErrMalformed)
	_, err = pp.Verify(ctx, m, []byte("sig"))
	require.ErrorIs(t, err, ErrMalformed)
	require.ErrorIs(t, Encrypt(ctx, &bytes.Buffer{}, bytes.NewReader(m), []*OpenPGPPublicKey{&pp}, nil), ErrMalformed)
	require.ErrorIs(t, Decrypt(ctx, &bytes.Buffer{}, bytes.NewReader(m), &ps, nil), ErrMalformed)
	require.ErrorIs(t, Encrypt(ctx, &bytes.Buffer{}, bytes.NewReader(m), nil, nil), ErrMalformed)
}

func TestZeroValuesEncode(t *testing.T) {
	for _, s := range []Signer{&Ed25519Signer{}, &X509Signer{}, &OpenPGPSigner{}} {
		_, err := EncodePrivateKey(s, nil)
		require.ErrorIs(t, err, ErrMalformed, "%T", s)
	}
	for _, k := range []PublicKey{&Ed25519PublicKey{}, &X509PublicKey{}, &OpenPGPPublicKey{}} {
		_, err := EncodePublicKey(k)
		require.ErrorIs(t, err, ErrMalformed, "%T", k)
	}
	assert.Nil(t, (&Ed25519Signer{}).Public())
	assert.Nil(t, (&X509Signer{}).Public())
	assert.Nil(t, (&OpenPGPSigner{}).Public())
}

// endless is an io.Reader that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0xa5
	}
	return len(p), nil
}

// TestNilSignersDoNotPanic: a typed nil passed as a Signer gets errors.
func TestNilSignersDoNotPanic(t *testing.T) {
	for _, s := range []Signer{(*Ed25519Signer)(nil), (*X509Signer)(nil), (*OpenPGPSigner)(nil)} {
		require.NotPanics(t, func() {
			_ = s.KeyID()
			_ = s.Purpose()
			_, err := s.Sign(t.Context(), []byte("m"))
			require.ErrorIs(t, err, ErrMalformed)
		}, "%T", s)
	}
}
