package sbom

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns matches one of them
// with errors.Is.
var (
	// ErrInput: an Input field is missing or malformed (a name, a digest
	// that is not 64 hex digits, a namespace that is not an absolute URI).
	ErrInput = errors.New("sbom: invalid input")
	// ErrInitramfs: the initramfs archive could not be read. The error
	// also wraps the rootfs error (rootfs.ErrFormat, rootfs.ErrLimit, …).
	ErrInitramfs = errors.New("sbom: unreadable initramfs")
	// ErrLimit: a count or size exceeds its Options cap (see LimitError).
	ErrLimit = errors.New("sbom: limit exceeded")
	// ErrNotGoBinary: a binary given in Input.Binaries has no Go build
	// information (see BinaryError).
	ErrNotGoBinary = errors.New("sbom: not a Go binary")
	// ErrMalformed: Read found a document that is not the SPDX 2.3 JSON
	// subset Write produces (see FormatError).
	ErrMalformed = errors.New("sbom: malformed document")
	// ErrChecksum: Read found a checksum with an unknown algorithm or a
	// value that is not lower-case hex of the algorithm's length, or a
	// package verification code that does not match its files.
	ErrChecksum = errors.New("sbom: malformed checksum")
)

// InputError names the Input field at fault.
type InputError struct {
	Field  string // e.g. "Outputs[2].SHA256"
	Detail string
}

func (e *InputError) Error() string {
	return fmt.Sprintf("sbom: invalid input: %s: %s", e.Field, e.Detail)
}

func (e *InputError) Unwrap() error { return ErrInput }

// LimitError reports the Options cap that was hit.
type LimitError struct {
	Limit string // the Options field, e.g. "MaxFiles"
	Max   int64  // its value in force
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("sbom: limit exceeded: more than %s = %d", e.Limit, e.Max)
}

func (e *LimitError) Unwrap() error { return ErrLimit }

// BinaryError reports a binary given in Input.Binaries that could not be
// read or holds no Go build information.
type BinaryError struct {
	Name string
	Err  error // ErrNotGoBinary or ErrInput
	// Cause is the underlying error (from debug/buildinfo or the reader).
	Cause error
}

func (e *BinaryError) Error() string {
	s := fmt.Sprintf("%v: %s", e.Err, e.Name)
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

func (e *BinaryError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}

// FormatError names the place in a document where Read found a problem,
// as a JSON path such as "files[3].checksums[0].checksumValue".
type FormatError struct {
	Path   string
	Err    error // ErrMalformed or ErrChecksum
	Detail string
}

func (e *FormatError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%v: %s", e.Err, e.Detail)
	}
	return fmt.Sprintf("%v: %s: %s", e.Err, e.Path, e.Detail)
}

func (e *FormatError) Unwrap() error { return e.Err }

func inputErr(field, format string, args ...any) error {
	return &InputError{Field: field, Detail: fmt.Sprintf(format, args...)}
}

func formatErr(path string, err error, format string, args ...any) error {
	return &FormatError{Path: path, Err: err, Detail: clip(fmt.Sprintf(format, args...))}
}

// clip keeps error strings short when they quote hostile input.
func clip(s string) string {
	const max = 200
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
