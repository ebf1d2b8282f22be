package update

import (
	"io/fs"
	"os"
)

// Hard links and a new slot. Apply hard-links an unchanged file from the
// base slot into the new one, which is only safe when every other name of
// that inode is one Apply made itself: the same path in the previous slot
// or in an earlier step of the same apply. Otherwise the new slot would
// share an inode with something Apply does not own (a file outside the
// target, linked in by hand), and a later write to that file would change
// the installed tree behind the verified digests. Two paths of the same
// slot linked to each other are treated the same way: packages carry no
// hard links (every path is its own file), so such a pair was made outside
// Apply, and each path is copied as an independent file, so that the new
// slot is exactly the tree the package describes. A file whose link count
// cannot be read (an FS without that information) is copied too.

// linkInfo is implemented by the Lstat results of an FS that is not the
// operating system's (an in-memory one such as updatetest.MemFS) to give
// what os.SameFile and the link count read from syscall types otherwise.
type linkInfo interface {
	// LinkCount returns how many names the file has, when known.
	LinkCount() (uint64, bool)
	// SameFile reports whether other describes the same file.
	SameFile(other fs.FileInfo) bool
}

// linkCount returns how many names the file of info has, when known.
func linkCount(info fs.FileInfo) (uint64, bool) {
	if li, ok := info.(linkInfo); ok {
		return li.LinkCount()
	}
	return sysLinkCount(info)
}

// sameFile reports whether two Lstat results describe the same inode.
func sameFile(a, b fs.FileInfo) bool {
	if la, ok := a.(linkInfo); ok {
		return la.SameFile(b)
	}
	return os.SameFile(a, b)
}

// linkable reports whether the base file rel (described by info, in a
// slot or staging directory) may be hard-linked into a new slot: all of
// its links must be accounted for by the same path in the directories of
// others (the target's other slots and staging directories).
func linkable(fsys FS, info fs.FileInfo, rel string, others []string) bool {
	n, ok := linkCount(info)
	if !ok || n == 0 {
		return false
	}
	found := uint64(1)
	for _, d := range others {
		if found >= n {
			break
		}
		oi, err := fsys.Lstat(d + "/" + rel)
		if err == nil && oi.Mode().IsRegular() && sameFile(info, oi) {
			found++
		}
	}
	return found == n
}
