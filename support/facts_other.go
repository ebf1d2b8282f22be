//go:build !linux

package support

import "errors"

func statfs(string) (size, free, avail uint64, err error) {
	return 0, 0, 0, errors.New("statfs: not supported")
}
