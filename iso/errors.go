package iso

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns for bad input or bad
// arguments matches one of them with errors.Is. I/O errors of the caller's
// reader or writer and context errors are passed through wrapped.
var (
	// ErrMalformed: a structure is inconsistent (bad signature, bad record
	// lengths, extents out of range, directory loops, a bad El Torito
	// catalog, overlapping or out-of-range MBR/GPT partitions).
	ErrMalformed = errors.New("iso: malformed")
	// ErrChecksum: the El Torito validation entry or a GPT header or entry
	// array fails its checksum.
	ErrChecksum = errors.New("iso: checksum mismatch")
	// ErrUnsupported: a valid image this package does not read (a logical
	// block size other than 2048, interleaved files, fragmented multi-extent
	// files).
	ErrUnsupported = errors.New("iso: unsupported")
	// ErrTooLarge: a size beyond the limits of ISO 9660 or of this package
	// (a file of 4 GiB or more, more directory data or entries than the
	// reader's caps).
	ErrTooLarge = errors.New("iso: too large")
	// ErrTruncated: the image ends before a structure it declares.
	ErrTruncated = errors.New("iso: truncated")
	// ErrInvalid: an invalid argument, spec or option.
	ErrInvalid = errors.New("iso: invalid argument")
	// ErrName: a name that cannot be stored (too long after mapping, or two
	// names that map to the same ISO 9660 identifier).
	ErrName = errors.New("iso: bad name")
	// ErrNotFound: Image.Open found no file of that name.
	ErrNotFound = errors.New("iso: file not found")
	// ErrShortInput: an input file or reader ended before its size.
	ErrShortInput = errors.New("iso: input shorter than its size")
)

// FormatError says where in an image a problem was found. It matches its
// Err (one of the sentinels) with errors.Is.
type FormatError struct {
	Offset int64  `json:"offset"` // byte offset in the image
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

// NameError is a file name Write cannot store. It matches ErrName.
type NameError struct {
	Name   string `json:"name"`             // the name as given
	ISO    string `json:"iso"`              // its ISO 9660 form
	Other  string `json:"other,omitempty"`  // the earlier name it collides with
	Reason string `json:"reason,omitempty"` // what is wrong
}

func (e *NameError) Error() string {
	if e.Other != "" {
		return fmt.Sprintf("%v: %q and %q both map to %q", ErrName, e.Other, e.Name, e.ISO)
	}
	return fmt.Sprintf("%v: %q (%q): %s", ErrName, e.Name, e.ISO, e.Reason)
}

func (e *NameError) Unwrap() error { return ErrName }
