package delta

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns for a bad patch or
// input matches one of them with errors.Is.
var (
	// ErrMalformed: the patch is not a well-formed fogkit delta (bad magic,
	// truncated, inconsistent lengths, copies outside the old file,
	// trailing data).
	ErrMalformed = errors.New("delta: malformed patch")
	// ErrTooLarge: a size in the patch, or an input, exceeds a limit
	// (including a compressed stream that decodes to more than declared).
	ErrTooLarge = errors.New("delta: size exceeds limit")
	// ErrWrongBase: the old file is not the one the patch was made from.
	ErrWrongBase = errors.New("delta: old file does not match the patch")
	// ErrDigest: the produced file does not hash to the value the patch
	// declares.
	ErrDigest = errors.New("delta: produced file digest mismatch")
	// ErrUnsupported: the patch is of a newer version of the format.
	ErrUnsupported = errors.New("delta: unsupported patch version")
)

// PatchError gives detail about a refused patch.
type PatchError struct {
	Offset int64  // position in the new file being produced, -1 for header errors
	Reason string // human-readable detail
	Err    error  // one of the sentinels above
}

func (e *PatchError) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("%v: %s", e.Err, e.Reason)
	}
	return fmt.Sprintf("%v: %s (new offset %d)", e.Err, e.Reason, e.Offset)
}

func (e *PatchError) Unwrap() error { return e.Err }

func perr(kind error, off int64, format string, args ...any) error {
	return &PatchError{Offset: off, Reason: fmt.Sprintf(format, args...), Err: kind}
}
