package update

import (
	"os"
	"path/filepath"
)

// DirTrees returns a tree for each directory, in the order given (oldest
// first, as Build takes its bases), its version the directory's name:
// ".../1.0" gives version "1.0".
func DirTrees(dirs ...string) []Tree {
	var trees []Tree
	for _, d := range dirs {
		trees = append(trees, Tree{Version: filepath.Base(filepath.Clean(d)), FS: os.DirFS(d)})
	}
	return trees
}
