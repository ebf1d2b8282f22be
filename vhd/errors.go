package vhd

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns for bad input or bad
// arguments matches one of them with errors.Is. I/O errors of the caller's
// reader or writer and context errors are passed through wrapped.
var (
	// ErrMalformed: a structure is inconsistent (bad cookie, a BAT entry
	// outside the file, overlapping blocks, sizes out of range).
	ErrMalformed = errors.New("vhd: malformed")
	// ErrChecksum: a footer or dynamic header fails its checksum.
	ErrChecksum = errors.New("vhd: bad checksum")
	// ErrTruncated: the file ends before a structure it declares.
	ErrTruncated = errors.New("vhd: truncated")
	// ErrUnsupported: a valid VHD this package does not read (differencing
	// disks, which need their parent).
	ErrUnsupported = errors.New("vhd: unsupported")
	// ErrTooLarge: a size beyond the limits of the format or of this
	// package (MaxFixedSize, MaxDynamicSize, maxBATEntries).
	ErrTooLarge = errors.New("vhd: too large")
	// ErrInvalid: an invalid argument or option.
	ErrInvalid = errors.New("vhd: invalid argument")
	// ErrShortInput: the input ended before the declared size.
	ErrShortInput = errors.New("vhd: input shorter than its size")
)

// FormatError says where in a VHD a problem was found. It matches its Err
// (one of the sentinels) with errors.Is.
type FormatError struct {
	Offset int64  // byte offset in the VHD file
	What   string // what is wrong
	Err    error  // sentinel
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%v at offset %d: %s", e.Err, e.Offset, e.What)
}

func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(sentinel error, off int64, format string, args ...any) error {
	return &FormatError{Offset: off, What: fmt.Sprintf(format, args...), Err: sentinel}
}
