//go:build !linux

package rootfs

import "io/fs"

type hostInfo struct {
	dev, ino     uint64
	nlink        uint64
	uid, gid     uint32
	major, minor uint32
}

// hostStat knows host details only on Linux; elsewhere trees carry modes
// but no owners, device numbers or hard links.
func hostStat(fs.FileInfo) (hostInfo, bool) { return hostInfo{}, false }
