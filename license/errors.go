package license

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Every error this package returns matches one of them
// with errors.Is; errors caused by the sign package also match sign's
// sentinel (sign.ErrBadSignature, sign.ErrUnknownKey, ...).
var (
	ErrMalformed     = errors.New("license: malformed license file")
	ErrTooLarge      = errors.New("license: license file too large")
	ErrUnsupported   = errors.New("license: unsupported format version or algorithm")
	ErrInvalid       = errors.New("license: invalid license")
	ErrUnknownKey    = errors.New("license: unknown signing key")
	ErrBadSignature  = errors.New("license: bad signature")
	ErrWrongPurpose  = errors.New("license: key is not a license key")
	ErrWrongProduct  = errors.New("license: license is for another product")
	ErrWrongInstance = errors.New("license: license is bound to another instance")
	ErrNotYetValid   = errors.New("license: license not yet valid")
	ErrExpired       = errors.New("license: license expired")
	ErrClockRollback = errors.New("license: system clock went backwards")
	ErrSuperseded    = errors.New("license: license superseded by a newer one")
	ErrRevoked       = errors.New("license: license or key revoked")
	ErrSeatLimit     = errors.New("license: seat limit reached")
	ErrState         = errors.New("license: state store failure")
)

// FormatError reports a syntax error in a license file or its payload.
// It matches ErrMalformed (and Err, when set).
type FormatError struct {
	Line   int    // 1-based line of the file; 0 when the payload JSON is at fault
	Reason string // what is wrong
	Err    error  // underlying error, if any
}

func (e *FormatError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%v: line %d: %s", ErrMalformed, e.Line, e.Reason)
	}
	return fmt.Sprintf("%v: %s", ErrMalformed, e.Reason)
}

func (e *FormatError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrMalformed, e.Err}
	}
	return []error{ErrMalformed}
}

// FieldError reports a license that fails validation: Encode returns it for
// bad input (matching ErrInvalid); Verify wraps it in a FormatError.
type FieldError struct {
	Field  string // JSON name of the field
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%v: %s: %s", ErrInvalid, e.Field, e.Reason)
}

func (e *FieldError) Unwrap() error { return ErrInvalid }

// KeyError reports a failure tied to a signing key: unknown, revoked, wrong
// purpose, unsupported algorithm, or a signature that does not verify. Err
// is this package's sentinel, Cause the sign package's error (if any); the
// error matches both.
type KeyError struct {
	KeyID string
	Err   error // ErrUnknownKey, ErrBadSignature, ErrWrongPurpose, ErrRevoked or ErrUnsupported
	Cause error // the sign package's error, or nil
}

func (e *KeyError) Error() string {
	s := fmt.Sprintf("%v (key %s)", e.Err, e.KeyID)
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

func (e *KeyError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}

// ProductError reports a license for another product. It matches
// ErrWrongProduct.
type ProductError struct{ Want, Got string }

func (e *ProductError) Error() string {
	return fmt.Sprintf("%v: license is for %q, not %q", ErrWrongProduct, e.Got, e.Want)
}

func (e *ProductError) Unwrap() error { return ErrWrongProduct }

// InstanceError reports a license bound to another installation. It
// matches ErrWrongInstance.
type InstanceError struct{ Want, Got string }

func (e *InstanceError) Error() string {
	if e.Want == "" {
		return fmt.Sprintf("%v: license is bound to instance %q and this host gave none", ErrWrongInstance, e.Got)
	}
	return fmt.Sprintf("%v: license is bound to instance %q, this is %q", ErrWrongInstance, e.Got, e.Want)
}

func (e *InstanceError) Unwrap() error { return ErrWrongInstance }

// TimeError reports a time check that failed: Err is ErrNotYetValid,
// ErrExpired or ErrClockRollback. Now is the time the check used; Bound the
// limit it crossed (not-before, end of grace, or the last time seen).
type TimeError struct {
	Err   error
	Now   time.Time
	Bound time.Time
}

func (e *TimeError) Error() string {
	switch e.Err {
	case ErrNotYetValid:
		return fmt.Sprintf("%v: valid from %s, now %s", e.Err, e.Bound.UTC().Format(time.RFC3339), e.Now.UTC().Format(time.RFC3339))
	case ErrExpired:
		return fmt.Sprintf("%v: valid (with grace) until %s, now %s", e.Err, e.Bound.UTC().Format(time.RFC3339), e.Now.UTC().Format(time.RFC3339))
	default:
		return fmt.Sprintf("%v: last seen %s, now %s", e.Err, e.Bound.UTC().Format(time.RFC3339), e.Now.UTC().Format(time.RFC3339))
	}
}

func (e *TimeError) Unwrap() error { return e.Err }

// SequenceError reports a license older than one already seen for the same
// customer. It matches ErrSuperseded.
type SequenceError struct {
	Customer string
	Sequence uint64 // the license's sequence
	Highest  uint64 // the highest sequence seen for the customer
}

func (e *SequenceError) Error() string {
	return fmt.Sprintf("%v: sequence %d for customer %q, already seen %d", ErrSuperseded, e.Sequence, e.Customer, e.Highest)
}

func (e *SequenceError) Unwrap() error { return ErrSuperseded }

// RevokedError reports a license id on the host's revocation list. It
// matches ErrRevoked.
type RevokedError struct{ LicenseID string }

func (e *RevokedError) Error() string {
	return fmt.Sprintf("%v: license %q is revoked", ErrRevoked, e.LicenseID)
}

func (e *RevokedError) Unwrap() error { return ErrRevoked }

// SeatError reports that one more seat would exceed the license. It matches
// ErrSeatLimit.
type SeatError struct {
	Seats int // licensed seats
	InUse int // seats in use before the one asked for
}

func (e *SeatError) Error() string {
	return fmt.Sprintf("%v: %d of %d seats in use", ErrSeatLimit, e.InUse, e.Seats)
}

func (e *SeatError) Unwrap() error { return ErrSeatLimit }
