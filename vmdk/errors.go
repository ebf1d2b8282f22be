package vmdk

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns for bad input or bad
// arguments matches one of them with errors.Is. I/O errors of the caller's
// reader or writer and context errors are passed through wrapped.
var (
	// ErrBadMagic: the data does not start with a VMDK sparse header ("KDMV").
	ErrBadMagic = errors.New("vmdk: bad magic")
	// ErrTruncated: the data ends early, or a streamOptimized file lacks its
	// footer and end-of-stream marker (as a failed or interrupted write leaves it).
	ErrTruncated = errors.New("vmdk: truncated")
	// ErrCorrupt: a structure is inconsistent (bad pointers, bad zlib data,
	// sizes out of range).
	ErrCorrupt = errors.New("vmdk: corrupt")
	// ErrUnsupported: a valid VMDK variant this package does not read
	// (uncompressed sparse, no markers, unknown compression).
	ErrUnsupported = errors.New("vmdk: unsupported")
	// ErrTooLarge: a capacity or output size beyond the limits of the format
	// or of this package (see MaxCapacity).
	ErrTooLarge = errors.New("vmdk: too large")
	// ErrInvalid: an invalid argument or option.
	ErrInvalid = errors.New("vmdk: invalid argument")
	// ErrShortInput: the input ended before the declared size.
	ErrShortInput = errors.New("vmdk: input shorter than its size")
)

// FormatError says where in a VMDK a problem was found. It matches its Err
// (one of the sentinels) with errors.Is.
type FormatError struct {
	Offset int64  // byte offset in the VMDK file
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
