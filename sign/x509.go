package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"time"
)

// DefaultRSABits is the size of keys GenerateRSA makes when asked for 0 bits.
const DefaultRSABits = 3072

// RSA key sizes this package accepts for signing and verification.
const (
	MinRSABits = 2048
	MaxRSABits = 8192
)

// GenerateRSA makes an RSA key of bits bits (DefaultRSABits when 0) for
// X.509 signing. Sizes outside [MinRSABits, MaxRSABits] give ErrUnsupported.
//
// Since Go 1.26 the standard library draws RSA keys from its own secure
// source and ignores rand, so the key is never reproducible; rand is kept for
// older toolchains and may be nil (crypto/rand).
func GenerateRSA(rnd io.Reader, bits int) (*rsa.PrivateKey, error) {
	if bits == 0 {
		bits = DefaultRSABits
	}
	if bits < MinRSABits || bits > MaxRSABits {
		return nil, fmt.Errorf("%w: RSA key of %d bits (want %d to %d)", ErrUnsupported, bits, MinRSABits, MaxRSABits)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	return rsa.GenerateKey(rnd, bits)
}

// CertOptions describe a self-signed code-signing certificate. The zero
// value is usable; nothing in it depends on the clock.
type CertOptions struct {
	// CommonName is the subject's CN; "fogkit code signing" when empty.
	CommonName string `json:"commonName,omitempty"`
	// Organization is the subject's O; none when empty.
	Organization string `json:"organization,omitempty"`
	// NotBefore is the start of validity; the zero time means Unix 0
	// (1970-01-01T00:00:00Z).
	NotBefore time.Time `json:"notBefore,omitempty"`
	// NotAfter is the end of validity; the zero time means
	// 9999-12-31T23:59:59Z, RFC 5280's "no well-defined expiration".
	NotAfter time.Time `json:"notAfter,omitempty"`
	// Serial is the serial number; nil derives a positive 127-bit serial
	// from the SHA-256 of the public key, so the same key gives the same
	// certificate.
	Serial *big.Int `json:"serial,omitempty"`
}

// DefaultCommonName is the subject CN of certificates made with an empty
// CertOptions.CommonName.
const DefaultCommonName = "fogkit code signing"

// SelfSignedCertificate makes a self-signed certificate for key with the
// code-signing extended key usage (what OVA signatures use). Output is
// byte-for-byte deterministic for RSA and Ed25519 keys given the same key
// and options; ECDSA certificate signatures are randomised by the algorithm.
// o is never modified; nil means defaults.
func SelfSignedCertificate(key crypto.Signer, o *CertOptions) (*x509.Certificate, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: nil key", ErrMalformed)
	}
	var opt CertOptions
	if o != nil {
		opt = *o
	}
	pub := key.Public()
	if err := checkX509PublicKey(pub); err != nil {
		if _, ok := pub.(ed25519.PublicKey); !ok {
			return nil, err
		}
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	if opt.CommonName == "" {
		opt.CommonName = DefaultCommonName
	}
	if opt.NotBefore.IsZero() {
		opt.NotBefore = time.Unix(0, 0)
	}
	if opt.NotAfter.IsZero() {
		opt.NotAfter = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	}
	if !opt.NotAfter.After(opt.NotBefore) {
		return nil, fmt.Errorf("%w: certificate NotAfter %s is not after NotBefore %s", ErrMalformed, opt.NotAfter, opt.NotBefore)
	}
	serial := opt.Serial
	if serial == nil {
		sum := sha256.Sum256(spki)
		sum[0] &= 0x7f
		sum[0] |= 0x40 // never zero, always 16 bytes
		serial = new(big.Int).SetBytes(sum[:16])
	} else if serial.Sign() <= 0 {
		return nil, fmt.Errorf("%w: certificate serial must be positive", ErrMalformed)
	}
	var spkiInfo struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &spkiInfo); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	ski := sha1.Sum(spkiInfo.PublicKey.Bytes) // RFC 5280 4.2.1.2 method 1
	subject := pkix.Name{CommonName: opt.CommonName}
	if opt.Organization != "" {
		subject.Organization = []string{opt.Organization}
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		Issuer:                subject,
		NotBefore:             opt.NotBefore.UTC(),
		NotAfter:              opt.NotAfter.UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		IsCA:                  false,
		SubjectKeyId:          ski[:],
		AuthorityKeyId:        ski[:],
	}
	if _, ok := pub.(*rsa.PublicKey); ok {
		tmpl.SignatureAlgorithm = x509.SHA256WithRSA
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		return nil, fmt.Errorf("sign: create certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// X509Signer signs with any crypto.Signer (a key in memory, a KMS or an
// HSM) that has a certificate. Sign returns the raw RSA PKCS#1 v1.5
// signature (or ASN.1 ECDSA signature) over SHA-256(message): exactly what
// `openssl dgst -sha256 -sign` makes and what OVA .cert files carry. No
// purpose prefix is folded in, because the formats fix the signed bytes; the
// purpose is bound through the key only.
type X509Signer struct {
	key     crypto.Signer
	chain   []*x509.Certificate
	purpose Purpose
	id      string
}

// NewX509Signer binds key and its certificate chain (leaf first; the leaf
// must hold key's public key) to purpose. Keys must be RSA (2048 to 8192
// bits) or ECDSA (P-256, P-384, P-521); others give ErrUnsupported.
func NewX509Signer(key crypto.Signer, chain []*x509.Certificate, purpose Purpose) (*X509Signer, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: nil key", ErrMalformed)
	}
	if err := purpose.Valid(); err != nil {
		return nil, err
	}
	pub := key.Public()
	if err := checkX509PublicKey(pub); err != nil {
		return nil, err
	}
	if len(chain) == 0 || chain[0] == nil {
		return nil, fmt.Errorf("%w: an X.509 signer needs its leaf certificate", ErrMalformed)
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	leafSPKI, err := x509.MarshalPKIXPublicKey(chain[0].PublicKey)
	if err != nil || !bytes.Equal(spki, leafSPKI) {
		return nil, fmt.Errorf("%w: the leaf certificate does not hold the signer's public key", ErrMalformed)
	}
	for i, c := range chain {
		if c == nil {
			return nil, fmt.Errorf("%w: certificate %d is nil", ErrMalformed, i)
		}
	}
	return &X509Signer{key: key, chain: append([]*x509.Certificate(nil), chain...), purpose: purpose, id: KeyIDFromBytes(spki)}, nil
}

// LoadX509Signer reads a private key PEM (PKCS#8 "PRIVATE KEY", PKCS#1
// "RSA PRIVATE KEY" or SEC 1 "EC PRIVATE KEY") and a certificate chain PEM
// (leaf first) and binds them to purpose.
func LoadX509Signer(keyPEM, certPEM []byte, purpose Purpose) (*X509Signer, error) {
	if len(keyPEM) > MaxKeyFileSize || len(certPEM) > MaxKeyFileSize {
		return nil, fmt.Errorf("%w: key file over %d bytes", ErrTooLarge, MaxKeyFileSize)
	}
	key, err := parsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, err
	}
	cs, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: private key of type %T", ErrUnsupported, key)
	}
	chain, err := ParseCertificates(certPEM)
	if err != nil {
		return nil, err
	}
	return NewX509Signer(cs, chain, purpose)
}

func (s *X509Signer) KeyID() string {
	if s == nil {
		return ""
	}
	return s.id
}

func (s *X509Signer) Purpose() Purpose {
	if s == nil {
		return ""
	}
	return s.purpose
}

func (s *X509Signer) Algorithm() Algorithm { return X509 }

// Signer returns the underlying crypto.Signer.
func (s *X509Signer) Signer() crypto.Signer { return s.key }

// Certificates returns the chain, leaf first.
func (s *X509Signer) Certificates() []*x509.Certificate {
	return append([]*x509.Certificate(nil), s.chain...)
}

// Public returns the verification key (the leaf certificate); nil for a
// zero X509Signer.
func (s *X509Signer) Public() *X509PublicKey {
	if s.key == nil || len(s.chain) == 0 {
		return nil
	}
	return &X509PublicKey{cert: s.chain[0], key: s.key.Public(), purpose: s.purpose, id: s.id}
}

// Sign returns the signature over SHA-256(message): RSA PKCS#1 v1.5
// (deterministic) or ECDSA ASN.1 (randomised).
func (s *X509Signer) Sign(ctx context.Context, message []byte) ([]byte, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil signer", ErrMalformed)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(message) > MaxMessageSize {
		return nil, fmt.Errorf("%w: message of %d bytes", ErrTooLarge, len(message))
	}
	sum := sha256.Sum256(message)
	return s.SignDigest(ctx, sum[:])
}

// SignDigest signs a SHA-256 digest the caller computed, for messages too
// big to hold in memory.
func (s *X509Signer) SignDigest(ctx context.Context, digest []byte) ([]byte, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil signer", ErrMalformed)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.key == nil {
		return nil, fmt.Errorf("%w: X.509 signer without a key", ErrMalformed)
	}
	if len(digest) != sha256.Size {
		return nil, fmt.Errorf("%w: SHA-256 digest has %d bytes, want %d", ErrMalformed, len(digest), sha256.Size)
	}
	sig, err := s.key.Sign(rand.Reader, digest, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("sign: x509 signer %s: %w", s.id, err)
	}
	return sig, nil
}

// X509PublicKey verifies X509Signer signatures with a certificate's key.
type X509PublicKey struct {
	cert    *x509.Certificate // nil when loaded from a bare SPKI key
	key     crypto.PublicKey
	purpose Purpose
	id      string
}

// NewX509PublicKey binds cert's RSA or ECDSA key to purpose. The
// certificate's validity dates and chain are not checked here: that is the
// caller's policy (an OVA certificate is usually self-signed); see
// CheckValidity.
func NewX509PublicKey(cert *x509.Certificate, purpose Purpose) (*X509PublicKey, error) {
	if cert == nil {
		return nil, fmt.Errorf("%w: nil certificate", ErrMalformed)
	}
	k, err := newX509PublicKey(cert.PublicKey, purpose)
	if err != nil {
		return nil, err
	}
	k.cert = cert
	return k, nil
}

func newX509PublicKey(pub crypto.PublicKey, purpose Purpose) (*X509PublicKey, error) {
	if err := purpose.Valid(); err != nil {
		return nil, err
	}
	if err := checkX509PublicKey(pub); err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	return &X509PublicKey{key: pub, purpose: purpose, id: KeyIDFromBytes(spki)}, nil
}

func (k *X509PublicKey) KeyID() string        { return k.id }
func (k *X509PublicKey) Purpose() Purpose     { return k.purpose }
func (k *X509PublicKey) Algorithm() Algorithm { return X509 }

// Certificate returns the certificate, or nil when the key was loaded from
// a bare "PUBLIC KEY" PEM.
func (k *X509PublicKey) Certificate() *x509.Certificate { return k.cert }

// Key returns the *rsa.PublicKey or *ecdsa.PublicKey.
func (k *X509PublicKey) Key() crypto.PublicKey { return k.key }

// Verify checks signature over SHA-256(message).
func (k *X509PublicKey) Verify(ctx context.Context, message, signature []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if len(message) > MaxMessageSize {
		return "", fmt.Errorf("%w: message of %d bytes", ErrTooLarge, len(message))
	}
	sum := sha256.Sum256(message)
	return k.VerifyDigest(ctx, sum[:], signature)
}

// VerifyDigest checks signature over a SHA-256 digest the caller computed.
func (k *X509PublicKey) VerifyDigest(ctx context.Context, digest, signature []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if len(digest) != sha256.Size {
		return "", fmt.Errorf("%w: SHA-256 digest has %d bytes, want %d", ErrMalformed, len(digest), sha256.Size)
	}
	if len(signature) > MaxSignatureSize {
		return "", fmt.Errorf("%w: signature of %d bytes", ErrTooLarge, len(signature))
	}
	var ok bool
	switch pub := k.key.(type) {
	case *rsa.PublicKey:
		ok = len(signature) == pub.Size() && rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, signature) == nil
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(pub, digest, signature)
	default:
		return "", &KeyError{KeyID: k.id, Err: fmt.Errorf("%w: key of type %T", ErrUnsupported, k.key)}
	}
	if !ok {
		return "", &KeyError{KeyID: k.id, Err: ErrBadSignature}
	}
	return k.id, nil
}

// CheckValidity returns ErrExpired (in a *KeyError) when t lies outside
// cert's NotBefore..NotAfter.
func CheckValidity(cert *x509.Certificate, t time.Time) error {
	if cert == nil {
		return fmt.Errorf("%w: nil certificate", ErrMalformed)
	}
	if t.Before(cert.NotBefore) || t.After(cert.NotAfter) {
		spki, _ := x509.MarshalPKIXPublicKey(cert.PublicKey)
		return &KeyError{KeyID: KeyIDFromBytes(spki), Err: fmt.Errorf("%w: certificate valid %s to %s, not at %s",
			ErrExpired, cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339), t.UTC().Format(time.RFC3339))}
	}
	return nil
}

// EncodeCertificates returns certs as concatenated "CERTIFICATE" PEM blocks.
func EncodeCertificates(certs []*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		if c == nil {
			continue
		}
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// MaxCertificates caps how many certificates ParseCertificates reads.
const MaxCertificates = 16

// ParseCertificates reads every "CERTIFICATE" PEM block in pemBytes, in
// order; text around the blocks and blocks of other types are skipped (an
// OVA .cert file starts with a signature line). No certificate gives
// ErrMalformed.
func ParseCertificates(pemBytes []byte) ([]*x509.Certificate, error) {
	if len(pemBytes) > MaxKeyFileSize {
		return nil, fmt.Errorf("%w: certificate file of %d bytes (max %d)", ErrTooLarge, len(pemBytes), MaxKeyFileSize)
	}
	var certs []*x509.Certificate
	rest := pemBytes
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if len(certs) == MaxCertificates {
			return nil, fmt.Errorf("%w: more than %d certificates", ErrTooLarge, MaxCertificates)
		}
		if len(block.Bytes) > maxPEMCertBlock {
			return nil, fmt.Errorf("%w: certificate %d: PEM block of %d bytes (max %d)", ErrTooLarge, len(certs), len(block.Bytes), maxPEMCertBlock)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate %d: %v", ErrMalformed, len(certs), err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%w: no CERTIFICATE PEM block", ErrMalformed)
	}
	return certs, nil
}

// checkX509PublicKey accepts RSA keys of MinRSABits..MaxRSABits and ECDSA
// keys on the NIST curves.
func checkX509PublicKey(pub crypto.PublicKey) error {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if p == nil || p.N == nil {
			return fmt.Errorf("%w: nil RSA key", ErrMalformed)
		}
		if bits := p.N.BitLen(); bits < MinRSABits || bits > MaxRSABits {
			return fmt.Errorf("%w: RSA key of %d bits (want %d to %d)", ErrUnsupported, bits, MinRSABits, MaxRSABits)
		}
		if p.E < 3 || p.E%2 == 0 {
			return fmt.Errorf("%w: RSA exponent %d", ErrMalformed, p.E)
		}
		return nil
	case *ecdsa.PublicKey:
		if p == nil || p.Curve == nil {
			return fmt.Errorf("%w: nil ECDSA key", ErrMalformed)
		}
		switch p.Curve.Params().Name {
		case "P-256", "P-384", "P-521":
			return nil
		}
		return fmt.Errorf("%w: ECDSA curve %s", ErrUnsupported, p.Curve.Params().Name)
	}
	return fmt.Errorf("%w: X.509 signing needs an RSA or ECDSA key, not %T", ErrUnsupported, pub)
}
