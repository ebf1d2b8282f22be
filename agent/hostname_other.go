//go:build !linux

package agent

import "errors"

func sysSetHostname(string) error { return errors.New("setting the hostname needs Linux") }
