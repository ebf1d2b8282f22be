package provenance

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns (other than a
// context's error or the destination writer's own) matches one of them
// with errors.Is; key and signature errors also match the sign package's
// sentinel (sign.ErrUnknownKey, sign.ErrRevoked, sign.ErrBadSignature...).
var (
	// ErrInvalid: Statement or Sign was given input it cannot record: a
	// missing build type or builder id, a subject without a SHA-256
	// digest, parameters that are not a JSON object, a signer that is not
	// an Ed25519 key of purpose sign.PurposeProvenance.
	ErrInvalid = errors.New("provenance: invalid input")
	// ErrMalformed: the envelope or the statement in it is not what Sign
	// and Statement write (unknown or duplicate fields, non-canonical
	// base64 or JSON, more or fewer than one signature).
	ErrMalformed = errors.New("provenance: malformed envelope or statement")
	// ErrTooLarge: the envelope or its payload is over its cap.
	ErrTooLarge = errors.New("provenance: envelope too large")
	// ErrWrongType: the envelope's payloadType, the statement's _type or
	// its predicateType (or, when asked for, its buildType) is not the one
	// expected (see TypeError).
	ErrWrongType = errors.New("provenance: wrong type")
	// ErrUnknownKey: the key the envelope names is not on the keyring
	// for sign.PurposeProvenance, or is revoked (see KeyError).
	ErrUnknownKey = errors.New("provenance: signing key not trusted")
	// ErrSignature: the signature does not verify (see KeyError).
	ErrSignature = errors.New("provenance: bad signature")
	// ErrSubject: a subject's file is missing, unreadable, unsafe to open
	// or does not hash to its digest (see SubjectError).
	ErrSubject = errors.New("provenance: subject does not match")
	// ErrUnsafeName is the SubjectError.Err of a subject whose name is
	// not a path CheckSubjects will open: absolute, with "..", "." or
	// empty elements, or a backslash. The error matches ErrSubject too.
	ErrUnsafeName = errors.New("provenance: subject name is not a clean relative path")
)

// FormatError says which field of the envelope or statement is at fault.
// It matches ErrMalformed, or ErrInvalid when Statement or Sign refused
// their input.
type FormatError struct {
	Field  string // JSON path, e.g. "signatures[0].sig" or "subject[2].digest"
	Reason string
	Err    error // ErrMalformed or ErrInvalid
}

func (e *FormatError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%v: %s", e.Err, e.Reason)
	}
	return fmt.Sprintf("%v: %s: %s", e.Err, e.Field, e.Reason)
}

func (e *FormatError) Unwrap() error { return e.Err }

// TypeError reports an unexpected type URI or media type. It matches
// ErrWrongType.
type TypeError struct {
	Field string // "payloadType", "_type", "predicateType" or "buildType"
	Want  string
	Got   string
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("%v: %s is %q, want %q", ErrWrongType, e.Field, e.Got, e.Want)
}

func (e *TypeError) Unwrap() error { return ErrWrongType }

// KeyError reports a signature that did not verify or a key that may not
// verify. Err is ErrUnknownKey or ErrSignature, Cause the sign package's
// error; the error matches both.
type KeyError struct {
	KeyID string
	Err   error
	Cause error
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

// SubjectError names the subject whose file failed its digest. Want and
// Got are hex SHA-256; Got is empty when the file could not be read, and
// Err then holds why (fs.ErrNotExist...). It matches ErrSubject and Err.
type SubjectError struct {
	Name string
	Want string
	Got  string
	Err  error
}

func (e *SubjectError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%v: %s: %v", ErrSubject, e.Name, e.Err)
	}
	return fmt.Sprintf("%v: %s: statement says sha256 %s, file has %s", ErrSubject, e.Name, e.Want, e.Got)
}

func (e *SubjectError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrSubject, e.Err}
	}
	return []error{ErrSubject}
}

func malformed(field, format string, args ...any) error {
	return &FormatError{Field: field, Reason: fmt.Sprintf(format, args...), Err: ErrMalformed}
}

func invalid(field, format string, args ...any) error {
	return &FormatError{Field: field, Reason: fmt.Sprintf(format, args...), Err: ErrInvalid}
}
