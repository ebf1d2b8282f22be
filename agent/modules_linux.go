//go:build linux

package agent

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// loadModule hands one module file to the kernel. EEXIST means the module
// is already in (loaded earlier, or a dependency of one loaded earlier).
func loadModule(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil && !errors.Is(err, unix.EEXIST) {
		return err
	}
	return nil
}

func kernelRelease() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	return unix.ByteSliceToString(u.Release[:]), nil
}
