//go:build !linux

package backup

import "os"

// switchDir puts the staged tree at dir: two renames when dir exists (see
// switchTwoRenames), one when it does not.
func switchDir(staging, dir string, exists bool) (old string, err error) {
	if exists {
		return switchTwoRenames(staging, dir)
	}
	return "", os.Rename(staging, dir)
}
