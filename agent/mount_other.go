//go:build !linux

package agent

import "errors"

var errNoMount = errors.New("mounting needs Linux")

func sysMount(string, string, string, uintptr, string) error { return errNoMount }
