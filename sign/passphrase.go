package sign

import (
	"context"
	"errors"
	"io"
)

// EncryptPassphrase reads src to its end and writes it to dst as an OpenPGP
// message encrypted with a passphrase.
func EncryptPassphrase(ctx context.Context, dst io.Writer, src io.Reader, passphrase []byte, o *EncryptOptions) error {
	return errors.New("sign: EncryptPassphrase not implemented yet")
}

// DecryptPassphrase decrypts a passphrase-encrypted OpenPGP message.
func DecryptPassphrase(ctx context.Context, dst io.Writer, src io.Reader, passphrase []byte, o *DecryptOptions) error {
	return errors.New("sign: DecryptPassphrase not implemented yet")
}
