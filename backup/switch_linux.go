//go:build linux

package backup

import (
	"errors"

	"golang.org/x/sys/unix"
)

// switchDir puts the staged tree at dir in one atomic step: an exchange
// of the two names when dir exists (the old tree is then at staging, which
// it returns for removal), a rename that refuses to replace anything when
// it does not.
func switchDir(staging, dir string, exists bool) (old string, err error) {
	if exists {
		if err := unix.Renameat2(unix.AT_FDCWD, staging, unix.AT_FDCWD, dir, unix.RENAME_EXCHANGE); err != nil {
			if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
				return "", err
			}
			// A filesystem without exchange support.
			return switchTwoRenames(staging, dir)
		}
		return staging, nil
	}
	if err := unix.Renameat2(unix.AT_FDCWD, staging, unix.AT_FDCWD, dir, unix.RENAME_NOREPLACE); err != nil {
		return "", err
	}
	return "", nil
}
