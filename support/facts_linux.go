//go:build linux

package support

import "golang.org/x/sys/unix"

// statfs returns a file system's size, free and available bytes.
func statfs(p string) (size, free, avail uint64, err error) {
	var st unix.Statfs_t
	if err = unix.Statfs(p, &st); err != nil {
		return 0, 0, 0, err
	}
	bs := uint64(st.Bsize)
	return st.Blocks * bs, st.Bfree * bs, st.Bavail * bs, nil
}
