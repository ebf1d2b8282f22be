package sign

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"fmt"
	"io"
)

// Ed25519Signer signs Prefix(purpose) ‖ message with an Ed25519 key.
// Ed25519 is deterministic: the same key and message give the same bytes.
type Ed25519Signer struct {
	key     ed25519.PrivateKey
	purpose Purpose
	id      string
}

// NewEd25519Signer binds priv to purpose.
func NewEd25519Signer(priv ed25519.PrivateKey, purpose Purpose) (*Ed25519Signer, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: ed25519 private key has %d bytes, want %d", ErrMalformed, len(priv), ed25519.PrivateKeySize)
	}
	if err := purpose.Valid(); err != nil {
		return nil, err
	}
	pub, err := NewEd25519PublicKey(priv.Public().(ed25519.PublicKey), purpose)
	if err != nil {
		return nil, err
	}
	return &Ed25519Signer{key: priv, purpose: purpose, id: pub.KeyID()}, nil
}

// GenerateEd25519 makes a new key pair for purpose from rand (crypto/rand
// when nil).
func GenerateEd25519(rand io.Reader, purpose Purpose) (*Ed25519Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return nil, err
	}
	return NewEd25519Signer(priv, purpose)
}

// The accessors are nil-safe: a nil *Ed25519Signer passed as a Signer
// gets errors from Sign and from its callers' purpose checks, not a panic.

func (s *Ed25519Signer) KeyID() string {
	if s == nil {
		return ""
	}
	return s.id
}

func (s *Ed25519Signer) Purpose() Purpose {
	if s == nil {
		return ""
	}
	return s.purpose
}

func (s *Ed25519Signer) Algorithm() Algorithm { return Ed25519 }

func (s *Ed25519Signer) PrivateKey() ed25519.PrivateKey {
	if s == nil {
		return nil
	}
	return s.key
}

// Public returns the verification key.
// It is nil for a zero Ed25519Signer.
func (s *Ed25519Signer) Public() *Ed25519PublicKey {
	if s == nil || len(s.key) != ed25519.PrivateKeySize {
		return nil
	}
	p, _ := NewEd25519PublicKey(s.key.Public().(ed25519.PublicKey), s.purpose)
	return p
}

// Sign returns the 64-byte signature of Prefix(purpose) ‖ message.
func (s *Ed25519Signer) Sign(ctx context.Context, message []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(message) > MaxMessageSize {
		return nil, fmt.Errorf("%w: message of %d bytes", ErrTooLarge, len(message))
	}
	if s == nil || len(s.key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: no usable ed25519 private key", ErrMalformed)
	}
	return ed25519.Sign(s.key, prefixed(s.purpose, message)), nil
}

// Ed25519PublicKey verifies signatures made by an Ed25519Signer of the same
// purpose.
type Ed25519PublicKey struct {
	key     ed25519.PublicKey
	purpose Purpose
	id      string
}

// NewEd25519PublicKey checks the key's length (ed25519.Verify panics on a
// wrong one) and binds it to purpose.
func NewEd25519PublicKey(pub ed25519.PublicKey, purpose Purpose) (*Ed25519PublicKey, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: ed25519 public key has %d bytes, want %d", ErrMalformed, len(pub), ed25519.PublicKeySize)
	}
	if err := purpose.Valid(); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return &Ed25519PublicKey{key: append(ed25519.PublicKey(nil), pub...), purpose: purpose, id: KeyIDFromBytes(der)}, nil
}

func (k *Ed25519PublicKey) KeyID() string          { return k.id }
func (k *Ed25519PublicKey) Purpose() Purpose       { return k.purpose }
func (k *Ed25519PublicKey) Algorithm() Algorithm   { return Ed25519 }
func (k *Ed25519PublicKey) Key() ed25519.PublicKey { return k.key }

// Verify checks a raw signature over Prefix(purpose) ‖ message.
func (k *Ed25519PublicKey) Verify(ctx context.Context, message, signature []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if len(message) > MaxMessageSize {
		return "", fmt.Errorf("%w: message of %d bytes", ErrTooLarge, len(message))
	}
	if len(k.key) != ed25519.PublicKeySize {
		return "", &KeyError{KeyID: k.id, Err: fmt.Errorf("%w: ed25519 public key has %d bytes", ErrMalformed, len(k.key))}
	}
	if len(signature) != ed25519.SignatureSize {
		return "", &KeyError{KeyID: k.id, Err: fmt.Errorf("%w: signature has %d bytes, want %d", ErrBadSignature, len(signature), ed25519.SignatureSize)}
	}
	if !ed25519.Verify(k.key, prefixed(k.purpose, message), signature) {
		return "", &KeyError{KeyID: k.id, Err: ErrBadSignature}
	}
	return k.id, nil
}

func prefixed(p Purpose, message []byte) []byte {
	pre := p.Prefix()
	b := make([]byte, 0, len(pre)+len(message))
	return append(append(b, pre...), message...)
}
