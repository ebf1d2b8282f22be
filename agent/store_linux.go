package agent

import (
	"path/filepath"

	"golang.org/x/sys/unix"
)

// dataStatus reports whether dir is a mount point and the usage of the
// file system holding it. A dir that cannot be read reports nothing.
func dataStatus(dir string) DataStatus {
	var ds DataStatus
	if dir == "" {
		return ds
	}
	var st, parent unix.Stat_t
	if unix.Stat(dir, &st) != nil {
		return ds
	}
	if unix.Stat(filepath.Join(dir, ".."), &parent) == nil {
		// A mount point sits on another device than its parent; "/" is
		// its own parent and counts as mounted.
		ds.Mounted = st.Dev != parent.Dev || st.Ino == parent.Ino
	}
	var fs unix.Statfs_t
	if unix.Statfs(dir, &fs) == nil {
		bs := uint64(fs.Bsize)
		ds.FreeBytes = fs.Bavail * bs
		if fs.Blocks >= fs.Bfree {
			ds.UsedBytes = (fs.Blocks - fs.Bfree) * bs
		}
	}
	return ds
}
