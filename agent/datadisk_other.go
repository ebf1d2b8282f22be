//go:build !linux

package agent

// The Linux values, so the flags mean the same in a report on any system.
const (
	msNoatime = 0x400
	msNodev   = 0x4
	msNosuid  = 0x2
	msNoexec  = 0x8
)

const (
	msRdonly  = 0x1
	msRemount = 0x20
)
