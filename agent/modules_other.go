//go:build !linux

package agent

import "errors"

var errNotLinux = errors.New("kernel modules need Linux")

func loadModule(string) error { return errNotLinux }

func kernelRelease() (string, error) { return "", errNotLinux }
