package sign

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"strconv"
)

// DSSE (Dead Simple Signing Envelope) signatures are made over the
// pre-authentication encoding PAE(payloadType, payload), and every DSSE
// verifier (in-toto, sigstore, the securesystemslib library) checks a plain
// signature over exactly those bytes. So, unlike Ed25519Signer.Sign, the
// DSSE methods below do not fold Purpose.Prefix into the signed bytes:
// PAE already binds the payload type, which does the prefix's job of
// keeping a signature of one kind of document from passing for another,
// and the key stays bound to its purpose by its key file, its KeyID on a
// Keyring, and the purpose check of SignDSSE and the keyring lookup.
//
// License keys are refused: a license key must never make a signature
// without its prefix, or bytes it signed as DSSE could be replayed
// elsewhere as something it never meant to sign.

// DSSESigner signs DSSE envelopes: a Signer whose key can also sign
// PAE(payloadType, payload) plainly.
type DSSESigner interface {
	Signer
	SignDSSE(ctx context.Context, payloadType string, payload []byte) ([]byte, error)
}

// DSSEVerifier verifies a plain signature over PAE(payloadType, payload)
// and returns the id of the key that verified it.
type DSSEVerifier interface {
	VerifyDSSE(ctx context.Context, payloadType string, payload, signature []byte) (keyID string, err error)
}

// PAE returns DSSE's pre-authentication encoding of a payload:
// "DSSEv1" SP len(type) SP type SP len(payload) SP payload, lengths in
// ASCII decimal.
func PAE(payloadType string, payload []byte) []byte {
	b := make([]byte, 0, 32+len(payloadType)+len(payload))
	b = append(b, "DSSEv1 "...)
	b = strconv.AppendInt(b, int64(len(payloadType)), 10)
	b = append(b, ' ')
	b = append(b, payloadType...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(payload)), 10)
	b = append(b, ' ')
	return append(b, payload...)
}

// dsseAllowed refuses DSSE signatures from keys whose purpose is a
// prefix-scheme one: a license key signing unprefixed bytes would give
// signatures that are not domain-separated from its licenses.
func dsseAllowed(p Purpose) error {
	if p == PurposeLicense {
		return fmt.Errorf("%w: a %q key makes prefixed signatures only, not DSSE", ErrWrongPurpose, p)
	}
	return p.Valid()
}

// SignDSSE returns the 64-byte Ed25519 signature of
// PAE(payloadType, payload), with no purpose prefix (see PAE).
func (s *Ed25519Signer) SignDSSE(ctx context.Context, payloadType string, payload []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(payload) > MaxMessageSize || len(payloadType) > MaxMessageSize {
		return nil, fmt.Errorf("%w: payload of %d bytes", ErrTooLarge, len(payload))
	}
	if s == nil || len(s.key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: no usable ed25519 private key", ErrMalformed)
	}
	if err := dsseAllowed(s.purpose); err != nil {
		return nil, &KeyError{KeyID: s.id, Err: err}
	}
	return ed25519.Sign(s.key, PAE(payloadType, payload)), nil
}

// VerifyDSSE checks a plain Ed25519 signature over
// PAE(payloadType, payload).
func (k *Ed25519PublicKey) VerifyDSSE(ctx context.Context, payloadType string, payload, signature []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if len(payload) > MaxMessageSize || len(payloadType) > MaxMessageSize {
		return "", fmt.Errorf("%w: payload of %d bytes", ErrTooLarge, len(payload))
	}
	if len(k.key) != ed25519.PublicKeySize {
		return "", &KeyError{KeyID: k.id, Err: fmt.Errorf("%w: ed25519 public key has %d bytes", ErrMalformed, len(k.key))}
	}
	if err := dsseAllowed(k.purpose); err != nil {
		return "", &KeyError{KeyID: k.id, Err: err}
	}
	if len(signature) != ed25519.SignatureSize {
		return "", &KeyError{KeyID: k.id, Err: fmt.Errorf("%w: signature has %d bytes, want %d", ErrBadSignature, len(signature), ed25519.SignatureSize)}
	}
	if !ed25519.Verify(k.key, PAE(payloadType, payload), signature) {
		return "", &KeyError{KeyID: k.id, Err: ErrBadSignature}
	}
	return k.id, nil
}

// VerifyDSSE verifies a DSSE signature with the key named keyID, which
// must be on the ring for purpose, not revoked, and able to verify DSSE
// signatures (Ed25519).
func (k *Keyring) VerifyDSSE(ctx context.Context, purpose Purpose, keyID, payloadType string, payload, signature []byte) error {
	key, err := k.Lookup(keyID, purpose)
	if err != nil {
		return err
	}
	v, ok := key.(DSSEVerifier)
	if !ok {
		return &KeyError{KeyID: keyID, Err: fmt.Errorf("%w: a %s key does not verify DSSE signatures", ErrUnsupported, key.Algorithm())}
	}
	_, err = v.VerifyDSSE(ctx, payloadType, payload, signature)
	return err
}
