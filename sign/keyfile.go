package sign

import (
	"bytes"
	"fmt"
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

// MaxPassphraseFileSize caps what ReadPassphraseFile reads.
const MaxPassphraseFileSize = 64 << 10

// ReadPassphraseFile reads a passphrase from the first line of a file,
// without its line ending (LF or CRLF), so that a file written by an
// editor or `echo` gives the passphrase that was typed. A file whose first
// line is longer than MaxPassphraseFileSize is refused with ErrTooLarge.
func ReadPassphraseFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxPassphraseFileSize+1))
	if err != nil {
		return nil, err
	}
	line, _, found := bytes.Cut(b, []byte("\n"))
	if !found && len(b) > MaxPassphraseFileSize {
		return nil, fmt.Errorf("%w: %s: first line over %d bytes", ErrTooLarge, path, MaxPassphraseFileSize)
	}
	return bytes.TrimSuffix(line, []byte("\r")), nil
}

// ReadKeyring reads public key files of the purpose (ReadKeyFile,
// LoadPublicKey) into a new keyring, the way a verifier takes its keys
// from the command line: several for a key rotation. An error names the
// file.
func ReadKeyring(purpose Purpose, paths ...string) (*Keyring, error) {
	ring, err := NewKeyring()
	if err != nil {
		return nil, err
	}
	for _, p := range paths {
		data, err := ReadKeyFile(p)
		if err != nil {
			return nil, err
		}
		k, err := LoadPublicKey(data, purpose)
		if err == nil {
			err = ring.Add(k)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	return ring, nil
}
