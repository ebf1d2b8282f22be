package update

import (
	"context"
	"io"

	"github.com/fogkit/fogkit/sign"
)

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
