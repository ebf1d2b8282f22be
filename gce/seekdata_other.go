//go:build !linux

package gce

import "errors"

// seekDataAt is not used off Linux: every range is read.
func seekDataAt(uintptr, int64) (int64, error) { return 0, errors.ErrUnsupported }
