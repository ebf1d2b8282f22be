package rootfs

import (
	"io/fs"
	"syscall"
)

type hostInfo struct {
	dev, ino     uint64
	nlink        uint64
	uid, gid     uint32
	major, minor uint32
}

func hostStat(fi fs.FileInfo) (hostInfo, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st == nil {
		return hostInfo{}, false
	}
	rdev := uint64(st.Rdev)
	return hostInfo{
		dev: uint64(st.Dev), ino: st.Ino, nlink: uint64(st.Nlink),
		uid: st.Uid, gid: st.Gid,
		major: uint32((rdev>>8)&0xfff | (rdev>>32)&^0xfff),
		minor: uint32(rdev&0xff | (rdev>>12)&^0xff),
	}, true
}
