// Package lockerr holds the sentinel of a held target lock, shared by
// package update (as update.ErrBusy) and the test filesystem in
// update/updatetest, which must not import update: update's own tests
// use it, and a package cannot import something that imports it back.
package lockerr

import "errors"

// ErrBusy is update.ErrBusy.
var ErrBusy = errors.New("update: target is busy with another operation")
