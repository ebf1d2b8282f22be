package esp

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns for bad input or a
// refused operation matches one of them with errors.Is.
var (
	// ErrMalformed: a slot, loader entry or entry file name is not what
	// this package writes (bad name, unknown key, paths outside the slot).
	ErrMalformed = errors.New("esp: malformed slot or entry")
	// ErrExists: the ESP already holds a loader entry for that sequence.
	ErrExists = errors.New("esp: slot already installed")
	// ErrNotFound: no loader entry for that sequence.
	ErrNotFound = errors.New("esp: no such slot")
	// ErrTooLarge: a slot file or entry exceeds a limit.
	ErrTooLarge = errors.New("esp: size exceeds limit")
)

// SlotError says what is wrong with a slot's files or entry.
type SlotError struct {
	Seq    uint64
	File   string // the file concerned, "" for the slot as a whole
	Reason string
	Err    error // ErrMalformed or ErrTooLarge
}

func (e *SlotError) Error() string {
	if e.File != "" {
		return fmt.Sprintf("%v: slot %d: %s: %s", e.Err, e.Seq, e.File, e.Reason)
	}
	return fmt.Sprintf("%v: slot %d: %s", e.Err, e.Seq, e.Reason)
}

func (e *SlotError) Unwrap() error { return e.Err }
