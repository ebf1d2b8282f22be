//go:build !unix

package update

import "io/fs"

// sysLinkCount: the link count is not read on this platform, so Apply
// copies unchanged files rather than linking them.
func sysLinkCount(fs.FileInfo) (uint64, bool) { return 0, false }
