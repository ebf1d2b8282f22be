//go:build linux

package vhd

import "syscall"

// seekDataAt is lseek(fd, off, SEEK_DATA): the next offset at or after off
// that holds data (ENXIO when there is none).
func seekDataAt(fd uintptr, off int64) (int64, error) { return syscall.Seek(int(fd), off, 3) }
