package vhdx

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns for bad input or bad
// arguments matches one of them with errors.Is. I/O errors of the caller's
// reader or writer and context errors are passed through wrapped.
var (
	// ErrMalformed: a structure is inconsistent (bad signature, bad sizes,
	// offsets out of range, overlapping regions, unknown BAT states).
	ErrMalformed = errors.New("vhdx: malformed")
	// ErrChecksum: a header or region table fails its CRC-32C and no valid
	// copy is left.
	ErrChecksum = errors.New("vhdx: checksum mismatch")
	// ErrUnsupported: a valid VHDX this package does not read (a log that
	// must be replayed, a differencing disk, an unknown required region or
	// metadata item).
	ErrUnsupported = errors.New("vhdx: unsupported")
	// ErrTooLarge: a size beyond the limits of the format or of this
	// package (see MaxVirtualSize and MaxBATBytes).
	ErrTooLarge = errors.New("vhdx: too large")
	// ErrTruncated: the file ends before a structure it declares.
	ErrTruncated = errors.New("vhdx: truncated")
	// ErrInvalid: an invalid argument or option.
	ErrInvalid = errors.New("vhdx: invalid argument")
	// ErrShortInput: the input ended before the declared size.
	ErrShortInput = errors.New("vhdx: input shorter than its size")
)

// FormatError says where in a VHDX file a problem was found. It matches
// its Err (one of the sentinels) with errors.Is.
type FormatError struct {
	Offset int64  `json:"offset"` // byte offset in the VHDX file
	Field  string `json:"field"`  // the structure or field at fault
	Err    error  `json:"-"`      // sentinel
	What   string `json:"what"`   // what is wrong
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%v: %s at offset %d: %s", e.Err, e.Field, e.Offset, e.What)
}

func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(sentinel error, off int64, field, format string, args ...any) error {
	return &FormatError{Offset: off, Field: field, What: fmt.Sprintf(format, args...), Err: sentinel}
}
