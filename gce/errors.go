package gce

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns for bad arguments or
// unreadable input matches one of them with errors.Is. I/O errors of the
// caller's reader or writer and context errors are passed through wrapped.
var (
	// ErrInvalid: an invalid argument or option.
	ErrInvalid = errors.New("gce: invalid argument")
	// ErrTooLarge: a disk beyond MaxSize.
	ErrTooLarge = errors.New("gce: too large")
	// ErrShortInput: the input ended before the declared size.
	ErrShortInput = errors.New("gce: input shorter than its size")
	// ErrMalformed: Check could not read the archive to its end (not
	// gzip, a damaged tar header, a truncated stream); the Report holds
	// what was found before.
	ErrMalformed = errors.New("gce: malformed archive")
)

// FormatError says where in the uncompressed tar stream Check stopped. It
// matches ErrMalformed with errors.Is.
type FormatError struct {
	Offset int64  // byte offset in the tar stream (after gunzip)
	What   string // what is wrong
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%v at offset %d: %s", ErrMalformed, e.Offset, e.What)
}

func (e *FormatError) Unwrap() error { return ErrMalformed }
