//go:build linux

package agent

import "golang.org/x/sys/unix"

func sysMount(source, target, fstype string, flags uintptr, data string) error {
	return unix.Mount(source, target, fstype, flags, data)
}
