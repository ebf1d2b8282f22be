package sign

import (
	"io"
	"os"
)

// ReadKeyFile reads a key, certificate or keyring file for LoadSigner,
// LoadPublicKey and the other Load functions. It reads at most one byte
// more than MaxKeyFileSize, so that a file too large for them (the wrong
// file, most likely) costs no more memory than that and still fails their
// size check with ErrTooLarge.
func ReadKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxKeyFileSize+1))
}
