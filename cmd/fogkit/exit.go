package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/fogkit/fogkit/appliance"
	"github.com/fogkit/fogkit/backup"
	"github.com/fogkit/fogkit/license"
	"github.com/fogkit/fogkit/ova"
	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/support"
	"github.com/fogkit/fogkit/update"
)

// The documented exit codes.
const (
	exitOK      = 0
	exitError   = 1
	exitUsage   = 2
	exitWarning = 3 // it holds, with a warning (a license in its grace period)
	exitRefused = 4 // a signature, digest or expiry check refused the input
)

// errReported marks an error whose message the command already printed.
var errReported = errors.New("reported")

// codeError carries an exit code other than exitCode's guess.
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *codeError) Unwrap() error { return e.err }

// usageErr is a bad command line: exit 2.
func usageErr(format string, a ...any) error {
	return &codeError{exitUsage, fmt.Errorf(format, a...)}
}

// withCode wraps err with an exit code (nil stays nil).
func withCode(code int, err error) error {
	if err == nil {
		err = errReported
	}
	return &codeError{code, err}
}

// refusals are the sentinels of inputs that are well-formed enough to be
// checked and failed the check: signatures, digests, expiry, revocation.
var refusals = []error{
	sign.ErrBadSignature, sign.ErrUnknownKey, sign.ErrRevoked, sign.ErrExpired,
	license.ErrBadSignature, license.ErrUnknownKey, license.ErrExpired, license.ErrRevoked,
	license.ErrNotYetValid, license.ErrSuperseded, license.ErrWrongProduct, license.ErrWrongInstance,
	update.ErrSignature, update.ErrDigestMismatch, update.ErrWrongProduct, update.ErrWrongVendor,
	update.ErrWrongChannel, update.ErrDowngrade,
	ova.ErrBadSignature, ova.ErrDigestMismatch, ova.ErrUntrusted, ova.ErrUnsigned, ova.ErrSizeMismatch,
	ova.ErrDiskMismatch,
	appliance.ErrRecord,
	backup.ErrDigest, backup.ErrDecrypt, support.ErrDigest, support.ErrDecrypt,
}

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ce *codeError
	if errors.As(err, &ce) {
		return ce.code
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, fs.ErrNotExist) {
		// A missing file is a mistake to fix, not a refusal.
		return exitError
	}
	for _, r := range refusals {
		if errors.Is(err, r) {
			return exitRefused
		}
	}
	return exitError
}
