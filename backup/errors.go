package backup

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns for bad input, refusals
// or failed operations matches one of them with errors.Is (or is the
// context's error, or an I/O error of the destination).
var (
	// ErrMalformed: not a well-formed fogkit backup (wrong member order or
	// names, bad JSON, header and manifest disagree, tar fields we never
	// write, trailing data).
	ErrMalformed = errors.New("backup: malformed backup")
	// ErrUnsafePath: a member that could escape or confuse the restored
	// tree: traversal, absolute paths, symlink targets that are absolute or
	// leave the tree, hard links, devices, FIFOs, a member under a symlink,
	// duplicates.
	ErrUnsafePath = errors.New("backup: unsafe path")
	// ErrDigest: a member's content does not match the manifest's SHA-256
	// (*DigestError says which).
	ErrDigest = errors.New("backup: digest mismatch")
	// ErrTruncated: the backup ends early.
	ErrTruncated = errors.New("backup: truncated")
	// ErrTooLarge: the backup, a member or the file count exceeds a limit.
	ErrTooLarge = errors.New("backup: size exceeds limit")
	// ErrDecrypt: wrong passphrase or key, or damaged ciphertext (the
	// OpenPGP integrity check failed).
	ErrDecrypt = errors.New("backup: cannot decrypt")
	// ErrProduct: the backup was made by another product and the migration
	// hook did not accept it (*MismatchError).
	ErrProduct = errors.New("backup: backup is from another product")
	// ErrDowngrade: the backup was made by a newer appliance (higher
	// sequence) and the migration hook did not accept it (*MismatchError).
	ErrDowngrade = errors.New("backup: backup is newer than this appliance")
	// ErrNoKey: neither a passphrase nor a recipient (or key) was given, or
	// both were.
	ErrNoKey = errors.New("backup: no passphrase or key")
	// ErrChanged: a file changed size or modification time while it was
	// being backed up; the backup would not be a consistent copy of it.
	ErrChanged = errors.New("backup: file changed while being read")
	// ErrStream: a stream could not be opened, failed while read, or its
	// command exited non-zero.
	ErrStream = errors.New("backup: stream failed")
)

// DigestError names a member whose content has the wrong SHA-256.
type DigestError struct {
	Path string // "data/<rel>", "streams/<name>" or a JSON member's name
	Want string // hex SHA-256 the manifest records
	Got  string // hex SHA-256 of the bytes read
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("%v: %s is %s, manifest says %s", ErrDigest, e.Path, e.Got, e.Want)
}
func (e *DigestError) Unwrap() error { return ErrDigest }

// MismatchError says why a backup was refused for this appliance.
type MismatchError struct {
	Field string // "product" or "sequence"
	Want  string // the restoring appliance's value
	Got   string // the backup's value
	Err   error  // ErrProduct or ErrDowngrade
	Hook  error  // what the migration hook returned, nil when there was none
}

func (e *MismatchError) Error() string {
	s := fmt.Sprintf("%v: %s is %q, this appliance has %q", e.Err, e.Field, e.Got, e.Want)
	if e.Hook != nil {
		s += ": migration hook: " + e.Hook.Error()
	}
	return s
}

// Unwrap matches the sentinel and the hook's own error.
func (e *MismatchError) Unwrap() []error {
	if e.Hook != nil {
		return []error{e.Err, e.Hook}
	}
	return []error{e.Err}
}

// PathError names an offending member or file.
type PathError struct {
	Path   string
	Reason string
	Err    error // ErrUnsafePath, ErrMalformed, ErrTooLarge, ErrTruncated or ErrChanged
}

func (e *PathError) Error() string { return fmt.Sprintf("%v: %q: %s", e.Err, e.Path, e.Reason) }
func (e *PathError) Unwrap() error { return e.Err }

func pathErr(err error, path, format string, args ...any) error {
	return &PathError{Path: path, Reason: fmt.Sprintf(format, args...), Err: err}
}
