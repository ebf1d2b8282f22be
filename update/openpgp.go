package update

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/fogkit/fogkit/sign"
)

// OpenPGPKeyring returns a keyring for VerifyOptions.Keyring holding the
// vendor's OpenPGP update keys (purpose sign.PurposeUpdate), with the
// expiry policy spelled out here.
//
// Key expiry. A manifest signature is always judged at its creation time:
// one made after the vendor key, or the subkey that signed, had expired is
// refused (a *SignatureError matching ErrSignature and sign.ErrExpired).
// The creation time is the signer's claim, so whoever holds the key after it
// expired can backdate a signature into its lifetime; that signature
// verifies unless the appliance has a clock it trusts. Pass that clock as
// now and a key or signing subkey that has expired (or was revoked) by
// now() is refused as well, and so is a signature whose own expiry has
// passed. With now == nil nothing depends on the appliance's clock, which an
// offline appliance cannot trust; a leaked key must then be revoked
// (Keyring.Revoke), not left to expire. A vendor extends a key's life by
// renewing it (gpg --quick-set-expire) and shipping the renewed public key,
// which verifies packages signed after the renewal.
func OpenPGPKeyring(now func() time.Time, keys ...*sign.OpenPGPPublicKey) (*sign.Keyring, error) {
	ring, err := sign.NewKeyring()
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		if k == nil {
			return nil, fmt.Errorf("%w: OpenPGP key %d is nil", sign.ErrMalformed, i)
		}
		if k.Purpose() != sign.PurposeUpdate {
			return nil, &sign.KeyError{KeyID: k.KeyID(), Err: fmt.Errorf("%w: key is for %q, not %q", sign.ErrWrongPurpose, k.Purpose(), sign.PurposeUpdate)}
		}
		if now != nil {
			k = k.WithClock(now)
		}
		if err := ring.Add(k); err != nil {
			return nil, err
		}
	}
	return ring, nil
}

// OpenPGPEncrypter returns an Encrypter that encrypts the payload to the
// product's OpenPGP key(s) with sign.Encrypt (binary, no compression).
func OpenPGPEncrypter(recipients ...*sign.OpenPGPPublicKey) Encrypter {
	return func(ctx context.Context, dst io.Writer, src io.Reader) error {
		return sign.Encrypt(ctx, dst, src, recipients, nil)
	}
}

// OpenPGPDecrypter returns a Decrypter that decrypts the payload with the
// product's OpenPGP private key through sign.Decrypt, capping the plaintext
// at maxSize bytes (0: sign's default).
func OpenPGPDecrypter(key *sign.OpenPGPSigner, maxSize int64) Decrypter {
	return func(ctx context.Context, dst io.Writer, src io.Reader) error {
		return sign.Decrypt(ctx, dst, src, key, &sign.DecryptOptions{MaxSize: maxSize})
	}
}
