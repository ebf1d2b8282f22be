package qcow2

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns for bad input or bad
// arguments matches one of them with errors.Is. I/O errors of the caller's
// reader or writer and context errors are passed through wrapped.
var (
	// ErrMalformed: a structure is inconsistent (bad magic, reserved bits
	// set, misaligned or out-of-range offsets, bad compressed data).
	ErrMalformed = errors.New("qcow2: malformed")
	// ErrUnsupported: a valid qcow2 variant this package does not read
	// (backing files, encryption, external data files, extended L2 entries,
	// unknown incompatible features, versions other than 2 and 3).
	ErrUnsupported = errors.New("qcow2: unsupported")
	// ErrTooLarge: a size beyond the limits of the format or of this package.
	ErrTooLarge = errors.New("qcow2: too large")
	// ErrTruncated: a structure points past the end of the file.
	ErrTruncated = errors.New("qcow2: truncated")
	// ErrInvalid: an invalid argument or option.
	ErrInvalid = errors.New("qcow2: invalid argument")
	// ErrShortInput: the input ended before the declared size, or changed
	// between the two passes of Write.
	ErrShortInput = errors.New("qcow2: input shorter than its size")
)

// FormatError says where in a qcow2 file a problem was found. It matches
// its Err (one of the sentinels) with errors.Is.
type FormatError struct {
	Offset int64  // byte offset in the qcow2 file
	Field  string // the field or structure, e.g. "header.cluster_bits", "l2.entry"
	Detail string // what is wrong
	Err    error  // sentinel
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%v: %s at offset %d: %s", e.Err, e.Field, e.Offset, e.Detail)
}

func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(sentinel error, off int64, field, format string, args ...any) error {
	return &FormatError{Offset: off, Field: field, Detail: fmt.Sprintf(format, args...), Err: sentinel}
}
