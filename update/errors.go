package update

import (
	"errors"
	"fmt"

	"github.com/fogkit/fogkit/update/internal/lockerr"
)

// Sentinel errors; every error this package returns for bad input, policy
// refusals or failed operations matches one of them with errors.Is.
var (
	// ErrMalformed: the package is not a well-formed fogkit update (wrong
	// member order, bad manifest, unknown fields, bad names).
	ErrMalformed = errors.New("update: malformed package")
	// ErrUnsafeEntry: a path, link, device, duplicate or unlisted entry that
	// could escape or confuse the target.
	ErrUnsafeEntry = errors.New("update: unsafe entry")
	// ErrTooLarge: a member, file or size exceeds a limit.
	ErrTooLarge = errors.New("update: size exceeds limit")
	// ErrSignature: no signature on the manifest verified against the keyring.
	ErrSignature = errors.New("update: signature not valid")
	// ErrWrongVendor, ErrWrongProduct, ErrWrongChannel: the package is for
	// someone else.
	ErrWrongVendor  = errors.New("update: package is for another vendor")
	ErrWrongProduct = errors.New("update: package is for another product")
	ErrWrongChannel = errors.New("update: package is for another channel")
	// ErrDowngrade: the package's sequence is not greater than the installed
	// one, or is below the highest ever installed (a replay or an older
	// package, also after a rollback).
	ErrDowngrade = errors.New("update: package is not newer than the installed version")
	// ErrBaseMismatch: the installed tree is not a version the package
	// applies from, or a base file was modified.
	ErrBaseMismatch = errors.New("update: installed files do not match the package's base")
	// ErrDigestMismatch: a payload, member or produced file has the wrong hash.
	ErrDigestMismatch = errors.New("update: digest mismatch")
	// ErrDecrypt: the payload is encrypted and cannot be decrypted.
	ErrDecrypt = errors.New("update: cannot decrypt payload")
	// ErrNoSpace: the target lacks the free space the package needs.
	ErrNoSpace = errors.New("update: not enough free space")
	// ErrPending: an applied update awaits confirmation; confirm or roll it
	// back first.
	ErrPending = errors.New("update: an unconfirmed update is pending")
	// ErrNotInstalled: the target holds no installed version (only a full
	// package can install one).
	ErrNotInstalled = errors.New("update: nothing installed in target")
	// ErrNotApplicable: the package carries nothing to apply (a nested
	// package without an own tree), or the operation does not fit the state.
	ErrNotApplicable = errors.New("update: package cannot be applied here")
	// ErrState: the target's state file is damaged.
	ErrState = errors.New("update: target state is damaged")
	// ErrBusy: another operation (in this process or another) holds the
	// target's lock (LockFile); try again later, or set
	// ApplyOptions.WaitLock.
	ErrBusy = lockerr.ErrBusy
	// ErrUnsupported: the input holds something this package cannot carry
	// (device nodes, sockets, FIFOs in a tree).
	ErrUnsupported = errors.New("update: unsupported input")
	// ErrUnknownFormat: the package needs a feature (a patch format) this
	// applier does not implement; it is refused before anything is
	// written. FormatError says which and since when.
	ErrUnknownFormat = errors.New("update: package needs a format this applier does not know")
)

// FormatError names a feature of a package this applier lacks, with the
// package format revision that added it (from the manifest, so an applier
// can name features that came after it).
type FormatError struct {
	File    string // the file patched with it, "" for a manifest requirement
	Feature string // "patchFormat:<name>"
	Since   string // package format revision, "1.1"
}

func (e *FormatError) Error() string {
	where := ""
	if e.File != "" {
		where = fmt.Sprintf(" (file %q)", e.File)
	}
	return fmt.Sprintf("%v: %s%s, added in fogkit package format %s; this applier reads package format %s: update the applier first",
		ErrUnknownFormat, e.Feature, where, e.Since, FormatRevision)
}
func (e *FormatError) Unwrap() error { return ErrUnknownFormat }

// PolicyError says which check refused the package.
type PolicyError struct {
	Field string // "vendor", "product", "channel", "sequence", "space"
	Want  string // what the target expects
	Got   string // what the package says
	Err   error  // ErrWrongVendor, ErrWrongProduct, ErrWrongChannel, ErrDowngrade, ErrNoSpace
}

func (e *PolicyError) Error() string {
	return fmt.Sprintf("%v: %s is %q, target needs %q", e.Err, e.Field, e.Got, e.Want)
}
func (e *PolicyError) Unwrap() error { return e.Err }

// BaseError names a base file that does not match the package.
type BaseError struct {
	File string // path in the tree, "" when the tree as a whole differs
	Want string // expected "sha256:<hex>" or tree digest
	Got  string
}

func (e *BaseError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("%v: installed tree is %s, package needs %s", ErrBaseMismatch, e.Got, e.Want)
	}
	return fmt.Sprintf("%v: file %q is %s, package needs %s", ErrBaseMismatch, e.File, e.Got, e.Want)
}
func (e *BaseError) Unwrap() error { return ErrBaseMismatch }

// DigestError names a member or file whose hash is wrong.
type DigestError struct {
	Name string // member name or file path
	Want string
	Got  string
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("%v: %s is %s, manifest says %s", ErrDigestMismatch, e.Name, e.Got, e.Want)
}
func (e *DigestError) Unwrap() error { return ErrDigestMismatch }

// EntryError names an offending entry (a path in a tree or a tar member).
type EntryError struct {
	Name   string
	Reason string
	Err    error // ErrUnsafeEntry, ErrMalformed, ErrTooLarge or ErrUnsupported
}

func (e *EntryError) Error() string {
	return fmt.Sprintf("%v: %q: %s", e.Err, e.Name, e.Reason)
}
func (e *EntryError) Unwrap() error { return e.Err }

// SignatureError says why no signature verified. It matches ErrSignature
// and the sign package's error (sign.ErrBadSignature, sign.ErrUnknownKey,
// sign.ErrRevoked, ...).
type SignatureError struct {
	Signatures int   // how many signatures the package carried
	Err        error // the first signature's error
}

func (e *SignatureError) Error() string {
	return fmt.Sprintf("%v: none of %d signature(s) verified: %v", ErrSignature, e.Signatures, e.Err)
}
func (e *SignatureError) Unwrap() []error { return []error{ErrSignature, e.Err} }

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}
