//go:build unix

package update

import (
	"io/fs"
	"syscall"
)

func sysLinkCount(info fs.FileInfo) (uint64, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(st.Nlink), true
}
