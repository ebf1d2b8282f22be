package sign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Purpose names what a key may sign. A key is bound to exactly one purpose,
// and raw signatures fold the purpose into the signed bytes (see Prefix), so
// a signature made for one purpose never verifies for another.
type Purpose string

// The purposes fogkit itself uses. Callers may define others that pass
// Purpose.Valid.
const (
	PurposeLicense Purpose = "license"
	PurposeUpdate  Purpose = "update"
	PurposeOVA     Purpose = "ova"
	// PurposeSupport marks the vendor's OpenPGP key that support bundles
	// are encrypted to. It signs nothing; the appliance only encrypts to it.
	PurposeSupport Purpose = "support"
	// PurposeProvenance marks the vendor's Ed25519 key that signs build
	// provenance (in-toto statements in DSSE envelopes). Its signatures
	// are plain Ed25519 over DSSE's PAE, without Prefix: see SignDSSE.
	PurposeProvenance Purpose = "provenance"
)

// Valid reports whether p is a usable purpose: 1 to 32 characters of
// [a-z0-9-].
func (p Purpose) Valid() error {
	if len(p) == 0 || len(p) > 32 {
		return fmt.Errorf("%w: purpose %q must be 1 to 32 characters", ErrMalformed, string(p))
	}
	for _, c := range p {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("%w: purpose %q may hold only [a-z0-9-]", ErrMalformed, string(p))
		}
	}
	return nil
}

// Prefix is the domain-separation prefix of raw signatures for p:
// "fogkit-<purpose>-v1" followed by a NUL byte. The signed bytes are
// Prefix() ‖ message.
func (p Purpose) Prefix() []byte {
	return []byte("fogkit-" + string(p) + "-v1\x00")
}

// Algorithm names a signature scheme.
type Algorithm string

// The schemes fogkit implements.
const (
	// Ed25519 signs Prefix ‖ message with a raw Ed25519 signature (licenses).
	Ed25519 Algorithm = "ed25519"
	// X509 signs SHA-256(message) with any crypto.Signer that has a
	// certificate (RSA PKCS#1 v1.5 by default, ECDSA allowed); the format
	// (OVA .cert) fixes the signed bytes, so no prefix is folded in and the
	// purpose is bound through the key only.
	X509 Algorithm = "x509"
	// OpenPGP makes detached armored signatures and encrypts (updates).
	OpenPGP Algorithm = "openpgp"
)

// Signer signs messages for one purpose.
type Signer interface {
	KeyID() string
	Purpose() Purpose
	Algorithm() Algorithm
	// Sign returns the signature of message in the scheme's encoding.
	Sign(ctx context.Context, message []byte) ([]byte, error)
}

// Verifier checks a signature over message and returns the id of the key
// that verified it.
type Verifier interface {
	Verify(ctx context.Context, message, signature []byte) (keyID string, err error)
}

// PublicKey is one verification key, bound to a purpose.
type PublicKey interface {
	Verifier
	KeyID() string
	Purpose() Purpose
	Algorithm() Algorithm
}

// KeyIDFromBytes derives a key id from a key's canonical public encoding
// (SPKI DER for Ed25519 and X.509 keys): the first 16 bytes of its SHA-256,
// in lower-case hex. OpenPGP keys use their fingerprint instead.
func KeyIDFromBytes(pub []byte) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:16])
}

// MaxMessageSize caps every message and signature this package will read
// or sign unless an option says otherwise.
const MaxMessageSize = 64 << 20

// MaxSignatureSize caps a signature's encoded size.
const MaxSignatureSize = 64 << 10
