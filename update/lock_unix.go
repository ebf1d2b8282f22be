//go:build unix

package update

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// TryLock takes an exclusive flock(2) on LockFile in the target directory
// without waiting; ErrBusy when another open file (in this process or
// another) holds it. The kernel drops the lock when the process dies.
func (o *OSFS) TryLock() (func() error, error) {
	f, err := o.root.OpenFile(LockFile, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("update: opening lock file: %w", err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
			if !errors.Is(ferr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		f.Close()
		return nil, err
	}
	if ferr != nil {
		f.Close()
		if errors.Is(ferr, syscall.EWOULDBLOCK) {
			return nil, errBusy()
		}
		return nil, fmt.Errorf("update: locking %s: %w", LockFile, ferr)
	}
	// Closing the file releases the lock.
	return f.Close, nil
}
