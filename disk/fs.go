package disk

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// ESP returns the ESP's regular files as an fs.FS, so the boot tree of a
// built disk can feed update.Tree, fs.WalkDir or fstest directly, without
// exporting it to a directory first. Unlike OpenFile and ReadFile, which
// take FAT's case-insensitive, slash-or-backslash names, it follows
// fs.FS's rules: exact names as stored on the ESP, fs.ValidPath only.
// Files read as 0644 and directories as 0755, the modes the boot tree of
// update packages uses, with a zero modification time. Only directories
// that hold a file exist: an empty directory on the ESP does not show.
func (im *Image) ESP() fs.FS { return espFS{im} }

type espFS struct{ im *Image }

// Open opens the ESP file or directory name (an fs.ValidPath).
func (e espFS) Open(name string) (fs.File, error) {
	im := e.im
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	files, err := im.tree()
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	for _, f := range files {
		if f.path == name {
			r, err := im.fat.fileReader(f.path, f.e)
			if err != nil {
				return nil, &fs.PathError{Op: "open", Path: name, Err: err}
			}
			return &fsFile{r: r, info: fsInfo{name: path.Base(name), size: int64(f.e.size)}}, nil
		}
	}
	// A directory: the names directly below it.
	prefix := name + "/"
	if name == "." {
		prefix = ""
	}
	seen := map[string]bool{}
	var ents []fs.DirEntry
	for _, f := range files {
		rest, ok := strings.CutPrefix(f.path, prefix)
		if !ok {
			continue
		}
		child, _, isDir := strings.Cut(rest, "/")
		if seen[child] {
			continue
		}
		seen[child] = true
		info := fsInfo{name: child, dir: isDir}
		if !isDir {
			info.size = int64(f.e.size)
		}
		ents = append(ents, fs.FileInfoToDirEntry(info))
	}
	if len(ents) == 0 && name != "." {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return &fsDir{info: fsInfo{name: path.Base(name), dir: true}, ents: ents}, nil
}

type fsInfo struct {
	name string
	size int64
	dir  bool
}

func (i fsInfo) Name() string       { return i.name }
func (i fsInfo) Size() int64        { return i.size }
func (i fsInfo) ModTime() time.Time { return time.Time{} }
func (i fsInfo) IsDir() bool        { return i.dir }
func (i fsInfo) Sys() any           { return nil }
func (i fsInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}

type fsFile struct {
	r    io.Reader
	info fsInfo
}

func (f *fsFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *fsFile) Read(p []byte) (int, error) { return f.r.Read(p) }
func (f *fsFile) Close() error               { return nil }

type fsDir struct {
	info fsInfo
	ents []fs.DirEntry
	off  int
}

func (d *fsDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *fsDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errors.New("is a directory")}
}
func (d *fsDir) Close() error { return nil }

// ReadDir implements fs.ReadDirFile.
func (d *fsDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.ents[d.off:]
	if n <= 0 {
		d.off = len(d.ents)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	k := min(n, len(rest))
	d.off += k
	return rest[:k], nil
}
