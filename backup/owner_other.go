//go:build !unix

package backup

import "io/fs"

const oNoFollow = 0

func owner(fs.FileInfo) (uid, gid int) { return 0, 0 }
