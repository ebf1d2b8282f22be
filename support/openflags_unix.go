//go:build unix

package support

import "syscall"

// openFlags keep an open from blocking on a FIFO or taking a terminal that
// replaced a regular file after it was checked.
const openFlags = syscall.O_NONBLOCK | syscall.O_NOCTTY
