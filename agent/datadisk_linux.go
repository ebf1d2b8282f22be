//go:build linux

package agent

import "golang.org/x/sys/unix"

const (
	msNoatime = unix.MS_NOATIME
	msNodev   = unix.MS_NODEV
	msNosuid  = unix.MS_NOSUID
	msNoexec  = unix.MS_NOEXEC
)
