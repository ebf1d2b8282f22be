package support

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error Write, Open and Bundle return (other than a
// context's error or the destination writer's own) matches one of them with
// errors.Is.
var (
	// ErrInvalid: bad options or source definitions given to Write (a
	// member name that is not a clean relative path, a duplicate name, a
	// vendor redaction pattern that does not compile, an unknown
	// compression).
	ErrInvalid = errors.New("support: invalid options")
	// ErrNoRecipients: Write was asked for an encrypted bundle without a
	// recipient key.
	ErrNoRecipients = errors.New("support: no recipients")
	// ErrMalformed: the bundle is not a compressed tar archive as Write
	// makes it (bad compression frame, tar headers Write would not write,
	// members that differ from the index, a missing or unreadable
	// index.json, trailing bytes).
	ErrMalformed = errors.New("support: malformed bundle")
	// ErrDigest: a member's bytes differ from its index entry (see
	// DigestError).
	ErrDigest = errors.New("support: digest mismatch")
	// ErrTooLarge: the bundle (encrypted, compressed or decompressed) is
	// over OpenOptions.MaxSize.
	ErrTooLarge = errors.New("support: bundle too large")
	// ErrDecrypt: the bundle cannot be decrypted with the key (not
	// encrypted to it, damaged ciphertext, failed integrity check), or an
	// unencrypted bundle was given without OpenOptions.Plain.
	ErrDecrypt = errors.New("support: cannot decrypt bundle")
	// ErrUnsafePath: a member name that is absolute, holds "..", is not
	// clean, or a member that is not a regular file.
	ErrUnsafePath = errors.New("support: unsafe member")
	// ErrExists: Bundle.Extract was given a directory that is not empty.
	ErrExists = errors.New("support: destination not empty")
	// ErrNotFound: Bundle.ReadFile was asked for a member the bundle does
	// not hold.
	ErrNotFound = errors.New("support: no such member")
)

// DigestError says which member failed its index digest. It matches
// ErrDigest.
type DigestError struct {
	Path string
	Want string // hex SHA-256 from index.json
	Got  string // hex SHA-256 of the member's bytes
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("support: digest mismatch: %s: index says %s, member has %s", e.Path, e.Want, e.Got)
}

// Is makes a DigestError match ErrDigest.
func (e *DigestError) Is(target error) bool { return target == ErrDigest }

// malformed returns an ErrMalformed with detail.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}
