//go:build linux

package agent

import "golang.org/x/sys/unix"

const (
	msNoatime = unix.MS_NOATIME
	msNodev   = unix.MS_NODEV
	msNosuid  = unix.MS_NOSUID
	msNoexec  = unix.MS_NOEXEC
)

const (
	msRdonly  = unix.MS_RDONLY
	msRemount = unix.MS_REMOUNT
)
