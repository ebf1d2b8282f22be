package sign

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// MaxKeyFileSize caps every key, certificate or keyring file this package
// parses; larger inputs give ErrTooLarge before any parsing.
const MaxKeyFileSize = 1 << 20

// PEM block types this package writes and reads.
const (
	pemPrivateKey = "PRIVATE KEY" // PKCS#8
	pemPublicKey  = "PUBLIC KEY"  // SPKI
	pemCert       = "CERTIFICATE"
)

// EncodePrivateKey returns the private key file of s:
//   - *Ed25519Signer and *X509Signer (with an *rsa.PrivateKey or
//     *ecdsa.PrivateKey inside): PKCS#8 "PRIVATE KEY" PEM. Encrypted PEM is
//     not supported: a non-empty passphrase gives ErrUnsupported. An X.509
//     signer's certificates are not included (see EncodeCertificates).
//   - *OpenPGPSigner: an armored OpenPGP private key, its secret parts
//     encrypted with passphrase when one is given (gpg reads both).
//
// Keys held in an HSM or KMS cannot be encoded (ErrUnsupported).
func EncodePrivateKey(s Signer, passphrase []byte) ([]byte, error) {
	switch s := s.(type) {
	case *Ed25519Signer:
		if s == nil || len(s.key) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("%w: Ed25519 signer without a key", ErrMalformed)
		}
		if len(passphrase) > 0 {
			return nil, fmt.Errorf("%w: encrypted PEM private keys", ErrUnsupported)
		}
		return pkcs8PEM(s.key)
	case *X509Signer:
		if s == nil || s.key == nil {
			return nil, fmt.Errorf("%w: X.509 signer without a key", ErrMalformed)
		}
		if len(passphrase) > 0 {
			return nil, fmt.Errorf("%w: encrypted PEM private keys", ErrUnsupported)
		}
		switch k := s.key.(type) {
		case *rsa.PrivateKey, *ecdsa.PrivateKey:
			return pkcs8PEM(k)
		}
		return nil, fmt.Errorf("%w: cannot export a private key of type %T", ErrUnsupported, s.key)
	case *OpenPGPSigner:
		if s == nil || s.entity == nil || s.entity.PrivateKey == nil {
			return nil, fmt.Errorf("%w: OpenPGP signer without a key", ErrMalformed)
		}
		return s.encodePrivate(passphrase)
	case nil:
		return nil, fmt.Errorf("%w: nil signer", ErrMalformed)
	}
	return nil, fmt.Errorf("%w: signer of type %T", ErrUnsupported, s)
}

func pkcs8PEM(key any) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
}

// EncodePublicKey returns the public key file of k: SPKI "PUBLIC KEY" PEM
// for Ed25519 keys, the certificate PEM for X.509 keys (SPKI PEM when the
// key came without a certificate), an armored OpenPGP public key for
// OpenPGP keys.
func EncodePublicKey(k PublicKey) ([]byte, error) {
	switch k := k.(type) {
	case *Ed25519PublicKey:
		if k == nil || len(k.key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: Ed25519 public key without a key", ErrMalformed)
		}
		return spkiPEM(k.key)
	case *X509PublicKey:
		if k == nil || k.key == nil {
			return nil, fmt.Errorf("%w: X.509 public key without a key", ErrMalformed)
		}
		if k.cert != nil {
			return EncodeCertificates([]*x509.Certificate{k.cert}), nil
		}
		return spkiPEM(k.key)
	case *OpenPGPPublicKey:
		if k == nil || k.entity == nil {
			return nil, fmt.Errorf("%w: OpenPGP public key without a key", ErrMalformed)
		}
		return k.encode()
	case nil:
		return nil, fmt.Errorf("%w: nil key", ErrMalformed)
	}
	return nil, fmt.Errorf("%w: public key of type %T", ErrUnsupported, k)
}

func spkiPEM(pub any) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Bytes: der}), nil
}

// LoadSigner reads a private key file and binds it to purpose:
//   - PKCS#8 "PRIVATE KEY" PEM holding an Ed25519 key → *Ed25519Signer;
//   - a private key PEM (PKCS#8, "RSA PRIVATE KEY", "EC PRIVATE KEY") with
//     RSA or ECDSA inside needs its certificate: if data also holds
//     "CERTIFICATE" blocks the result is an *X509Signer, otherwise the error
//     (ErrUnsupported) says to use LoadX509Signer;
//   - an OpenPGP private key, armored ("PGP PRIVATE KEY BLOCK") or binary →
//     *OpenPGPSigner, decrypted with passphrase when its secret parts are
//     encrypted (a wrong or missing passphrase gives ErrDecrypt).
//
// data over MaxKeyFileSize gives ErrTooLarge.
func LoadSigner(data []byte, purpose Purpose, passphrase []byte) (Signer, error) {
	if len(data) > MaxKeyFileSize {
		return nil, fmt.Errorf("%w: key file of %d bytes (max %d)", ErrTooLarge, len(data), MaxKeyFileSize)
	}
	if err := purpose.Valid(); err != nil {
		return nil, err
	}
	if isPGPArmor(data) || looksLikePGPBinary(data) {
		return LoadOpenPGPSigner(data, purpose, passphrase)
	}
	key, err := parsePrivateKeyPEM(data)
	if err != nil {
		return nil, err
	}
	switch k := key.(type) {
	case ed25519.PrivateKey:
		return NewEd25519Signer(k, purpose)
	case *ed25519.PrivateKey:
		return NewEd25519Signer(*k, purpose)
	case *rsa.PrivateKey, *ecdsa.PrivateKey:
		if !hasPEMBlock(data, pemCert) {
			return nil, fmt.Errorf("%w: an %s key signs through X.509 and needs its certificate (LoadX509Signer)", ErrUnsupported, algName(k))
		}
		return LoadX509Signer(data, data, purpose)
	}
	return nil, fmt.Errorf("%w: private key of type %T", ErrUnsupported, key)
}

// LoadPublicKey reads a public key file and binds it to purpose: SPKI
// "PUBLIC KEY" PEM (Ed25519 → *Ed25519PublicKey; RSA/ECDSA →
// *X509PublicKey without a certificate), "CERTIFICATE" PEM (the first
// certificate, → *X509PublicKey), or an OpenPGP public key, armored or
// binary (→ *OpenPGPPublicKey). data over MaxKeyFileSize gives ErrTooLarge.
func LoadPublicKey(data []byte, purpose Purpose) (PublicKey, error) {
	if len(data) > MaxKeyFileSize {
		return nil, fmt.Errorf("%w: key file of %d bytes (max %d)", ErrTooLarge, len(data), MaxKeyFileSize)
	}
	if err := purpose.Valid(); err != nil {
		return nil, err
	}
	if isPGPArmor(data) || looksLikePGPBinary(data) {
		return LoadOpenPGPPublicKey(data, purpose)
	}
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch block.Type {
		case pemPublicKey, pemCert:
			if max := maxPEMBlock(block.Type); len(block.Bytes) > max {
				return nil, fmt.Errorf("%w: %s PEM block of %d bytes (max %d)", ErrTooLarge, block.Type, len(block.Bytes), max)
			}
		}
		switch block.Type {
		case pemPublicKey:
			pub, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
			}
			if k, ok := pub.(ed25519.PublicKey); ok {
				return NewEd25519PublicKey(k, purpose)
			}
			return newX509PublicKey(pub, purpose)
		case pemCert:
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
			}
			if k, ok := c.PublicKey.(ed25519.PublicKey); ok {
				return NewEd25519PublicKey(k, purpose)
			}
			return NewX509PublicKey(c, purpose)
		case pemPrivateKey, "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("%w: a private key where a public key was expected", ErrMalformed)
		}
	}
	return nil, fmt.Errorf("%w: no PUBLIC KEY, CERTIFICATE or OpenPGP public key found", ErrMalformed)
}

// parsePrivateKeyPEM returns the first private key PEM block's key.
func parsePrivateKeyPEM(data []byte) (any, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("%w: no PRIVATE KEY PEM block", ErrMalformed)
		}
		switch block.Type {
		case pemPrivateKey, "RSA PRIVATE KEY", "EC PRIVATE KEY":
			if err := checkPEMPrivateKey(block.Type, block.Bytes); err != nil {
				return nil, err
			}
		}
		var key any
		var err error
		switch block.Type {
		case pemPrivateKey:
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			if len(block.Headers) > 0 {
				return nil, fmt.Errorf("%w: encrypted PEM private keys", ErrUnsupported)
			}
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			if len(block.Headers) > 0 {
				return nil, fmt.Errorf("%w: encrypted PEM private keys", ErrUnsupported)
			}
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("%w: encrypted PKCS#8 private keys", ErrUnsupported)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, block.Type, err)
		}
		if k, ok := key.(*rsa.PrivateKey); ok {
			if err := checkX509PublicKey(&k.PublicKey); err != nil {
				return nil, err
			}
		}
		return key, nil
	}
}

func hasPEMBlock(data []byte, typ string) bool {
	return bytes.Contains(data, []byte("-----BEGIN "+typ+"-----"))
}

func algName(k any) string {
	switch k.(type) {
	case *rsa.PrivateKey:
		return "RSA"
	case *ecdsa.PrivateKey:
		return "ECDSA"
	}
	return fmt.Sprintf("%T", k)
}
