//go:build linux

package agent

import "golang.org/x/sys/unix"

func sysSetHostname(name string) error { return unix.Sethostname([]byte(name)) }
