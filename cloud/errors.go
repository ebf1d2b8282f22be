package cloud

import (
	"errors"
	"fmt"
)

// Sentinel errors. Check returns an error only when it could not look at
// the image at all: a bad argument, a failing reader, a cancelled context.
// Everything wrong with the image itself, unreadable formats included, is
// a Finding in the Report.
var (
	// ErrUnknownTarget: the Target is not AWS, Azure or GCP.
	ErrUnknownTarget = errors.New("cloud: unknown target")
	// ErrInvalid: an invalid argument or option (a negative size, a
	// Firmware other than "uefi", "bios" or "").
	ErrInvalid = errors.New("cloud: invalid argument")
	// ErrRead: the caller's reader failed (see ReadError).
	ErrRead = errors.New("cloud: read error")
)

// ReadError is a failure of the caller's io.ReaderAt, with the offset of
// the first failed read. It matches ErrRead and the reader's own error
// with errors.Is.
type ReadError struct {
	Offset int64
	Err    error
}

func (e *ReadError) Error() string {
	return fmt.Sprintf("%v at offset %d: %v", ErrRead, e.Offset, e.Err)
}

func (e *ReadError) Unwrap() []error { return []error{ErrRead, e.Err} }
