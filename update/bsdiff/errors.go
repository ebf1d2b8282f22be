package bsdiff

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns matches one of them
// with errors.Is.
var (
	// ErrCorrupt means the patch is not a well-formed BSDIFF40 patch or its
	// control data points outside the files.
	ErrCorrupt = errors.New("bsdiff: corrupt patch")
	// ErrTooLarge means a size in the patch, or an input, exceeds a limit.
	ErrTooLarge = errors.New("bsdiff: size exceeds limit")
	// ErrInternal means the diff engine failed (for example it panicked).
	ErrInternal = errors.New("bsdiff: internal error")
)

// PatchError gives detail about a rejected patch.
type PatchError struct {
	Offset int64  // position in the new file being produced, -1 for header errors
	Reason string // human-readable detail
	Err    error  // ErrCorrupt or ErrTooLarge
}

func (e *PatchError) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("%v: %s", e.Err, e.Reason)
	}
	return fmt.Sprintf("%v: %s (new offset %d)", e.Err, e.Reason, e.Offset)
}

func (e *PatchError) Unwrap() error { return e.Err }

func corrupt(off int64, format string, args ...any) error {
	return &PatchError{Offset: off, Reason: fmt.Sprintf(format, args...), Err: ErrCorrupt}
}
