package sign

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seedReader is a deterministic byte stream for key generation in tests.
type seedReader struct{ x uint64 }

func (s *seedReader) Read(p []byte) (int, error) {
	for i := range p {
		s.x ^= s.x << 13
		s.x ^= s.x >> 7
		s.x ^= s.x << 17
		p[i] = byte(s.x)
	}
	return len(p), nil
}

func seeded(n uint64) *seedReader { return &seedReader{x: n*0x9e3779b97f4a7c15 + 1} }

var testTime = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
	rsaErr  error
)

// testRSA returns the fixed 3072-bit test key in testdata (generating one
// per run is slow, and fuzz workers would each pay for it).
func testRSA(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	rsaOnce.Do(func() {
		var b []byte
		if b, rsaErr = os.ReadFile("testdata/rsa3072.key"); rsaErr != nil {
			return
		}
		var k any
		if k, rsaErr = parsePrivateKeyPEM(b); rsaErr == nil {
			rsaKey = k.(*rsa.PrivateKey)
		}
	})
	require.NoError(t, rsaErr)
	return rsaKey
}

func testEd25519(t testing.TB, seed uint64, p Purpose) *Ed25519Signer {
	t.Helper()
	s, err := GenerateEd25519(seeded(seed), p)
	require.NoError(t, err)
	return s
}

func testX509(t testing.TB, p Purpose) *X509Signer {
	t.Helper()
	key := testRSA(t)
	cert, err := SelfSignedCertificate(key, &CertOptions{CommonName: "fogkit test", Organization: "fogkit"})
	require.NoError(t, err)
	s, err := NewX509Signer(key, []*x509.Certificate{cert}, p)
	require.NoError(t, err)
	return s
}

func testPGP(t testing.TB, seed uint64, p Purpose) *OpenPGPSigner {
	t.Helper()
	s, err := GenerateOpenPGP("fogkit test", "test@example.com", p, &OpenPGPOptions{Time: testTime, Rand: seeded(seed)})
	require.NoError(t, err)
	return s
}

func TestRoundTripAllSchemes(t *testing.T) {
	ctx := t.Context()
	msg := []byte("hello, appliance\n")
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), seeded(9))
	require.NoError(t, err)
	ecCert, err := SelfSignedCertificate(ecKey, nil)
	require.NoError(t, err)
	ecSigner, err := NewX509Signer(ecKey, []*x509.Certificate{ecCert}, PurposeOVA)
	require.NoError(t, err)

	signers := map[string]Signer{
		"ed25519": testEd25519(t, 1, PurposeLicense),
		"x509":    testX509(t, PurposeOVA),
		"ecdsa":   ecSigner,
		"openpgp": testPGP(t, 2, PurposeUpdate),
	}
	for name, s := range signers {
		t.Run(name, func(t *testing.T) {
			sig, err := s.Sign(ctx, msg)
			require.NoError(t, err)

			privFile, err := EncodePrivateKey(s, nil)
			require.NoError(t, err)
			var pub PublicKey
			switch s := s.(type) {
			case *Ed25519Signer:
				pub = s.Public()
			case *X509Signer:
				pub = s.Public()
			case *OpenPGPSigner:
				pub = s.Public()
			}
			pubFile, err := EncodePublicKey(pub)
			require.NoError(t, err)
			loadedPub, err := LoadPublicKey(pubFile, s.Purpose())
			require.NoError(t, err)
			assert.Equal(t, s.KeyID(), loadedPub.KeyID())
			assert.Equal(t, s.Algorithm(), loadedPub.Algorithm())

			id, err := loadedPub.Verify(ctx, msg, sig)
			require.NoError(t, err)
			assert.Equal(t, s.KeyID(), id)

			_, err = loadedPub.Verify(ctx, append([]byte("x"), msg...), sig)
			require.ErrorIs(t, err, ErrBadSignature)

			// Reload the private key (with the certificate for X.509).
			if xs, ok := s.(*X509Signer); ok {
				privFile = append(privFile, EncodeCertificates(xs.Certificates())...)
			}
			loaded, err := LoadSigner(privFile, s.Purpose(), nil)
			require.NoError(t, err)
			assert.Equal(t, s.KeyID(), loaded.KeyID())
			sig2, err := loaded.Sign(ctx, msg)
			require.NoError(t, err)
			_, err = pub.Verify(ctx, msg, sig2)
			require.NoError(t, err)
			if name != "ecdsa" {
				assert.Equal(t, sig, sig2, "deterministic signature")
			}
		})
	}
}

func TestOpenPGPEncryptDecrypt(t *testing.T) {
	ctx := t.Context()
	alice := testPGP(t, 3, PurposeUpdate)
	bob := testPGP(t, 4, PurposeUpdate)
	plain := bytes.Repeat([]byte("update payload "), 1000)
	for _, armor := range []bool{false, true} {
		var ct bytes.Buffer
		require.NoError(t, Encrypt(ctx, &ct, bytes.NewReader(plain), []*OpenPGPPublicKey{alice.Public()}, &EncryptOptions{Armor: armor, Compress: true, Signer: bob}))
		var out bytes.Buffer
		require.NoError(t, Decrypt(ctx, &out, bytes.NewReader(ct.Bytes()), alice, &DecryptOptions{SignedBy: []*OpenPGPPublicKey{bob.Public()}}))
		assert.Equal(t, plain, out.Bytes())

		out.Reset()
		err := Decrypt(ctx, &out, bytes.NewReader(ct.Bytes()), bob, nil)
		require.ErrorIs(t, err, ErrDecrypt)

		out.Reset()
		err = Decrypt(ctx, &out, bytes.NewReader(ct.Bytes()), alice, &DecryptOptions{MaxSize: 100})
		require.ErrorIs(t, err, ErrTooLarge)
		assert.True(t, errors.Is(err, ErrTooLarge))
	}
}

func TestGenerateRSA(t *testing.T) {
	k, err := GenerateRSA(nil, 0)
	require.NoError(t, err)
	assert.Equal(t, DefaultRSABits, k.N.BitLen())
	s, err := NewX509Signer(k, []*x509.Certificate{must509(SelfSignedCertificate(k, nil))}, PurposeOVA)
	require.NoError(t, err)
	sig, err := s.Sign(t.Context(), []byte("m"))
	require.NoError(t, err)
	assert.Len(t, sig, 384)
	_, err = GenerateRSA(nil, 16384)
	require.ErrorIs(t, err, ErrUnsupported)
}

func must509(c *x509.Certificate, err error) *x509.Certificate {
	if err != nil {
		panic(err)
	}
	return c
}
