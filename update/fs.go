package update

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
)

// FS is the small filesystem interface Apply works through. Names are
// slash-separated paths relative to the target directory ("." is the
// target itself). OSFS implements it on a real directory; package
// update/updatetest has an in-memory one that injects crashes and loses
// unsynced writes, for tests.
type FS interface {
	Open(name string) (io.ReadCloser, error)
	// Create makes a new file (failing if it exists) for writing.
	Create(name string, perm fs.FileMode) (WriteFile, error)
	Mkdir(name string, perm fs.FileMode) error
	// Remove deletes a file, link or empty directory.
	Remove(name string) error
	Rename(oldname, newname string) error
	// Link makes a hard link; implementations without hard links return
	// an error matching errors.ErrUnsupported and Apply copies instead.
	Link(oldname, newname string) error
	Symlink(target, name string) error
	Readlink(name string) (string, error)
	Lstat(name string) (fs.FileInfo, error)
	// ReadDir lists a directory sorted by name.
	ReadDir(name string) ([]fs.DirEntry, error)
	Chmod(name string, mode fs.FileMode) error
	// SyncDir makes a directory's entries durable.
	SyncDir(name string) error
	// Free returns the bytes available for new data, or -1 when unknown.
	Free() (int64, error)
}

// WriteFile is a file being written. It is an alias of an interface
// literal, so an FS implementation can return it without importing this
// package (update/updatetest does not, so this package's tests can use it).
type WriteFile = interface {
	io.Writer
	Chmod(mode fs.FileMode) error
	// Sync makes the content and mode durable.
	Sync() error
	Close() error
}

// OSFS is an FS on a real directory, through os.Root so no name can
// escape it.
type OSFS struct {
	root *os.Root
	dir  string
}

// NewOSFS opens dir (which must exist) as an FS.
func NewOSFS(dir string) (*OSFS, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &OSFS{root: r, dir: dir}, nil
}

// Close releases the directory handle.
func (o *OSFS) Close() error { return o.root.Close() }

func (o *OSFS) Open(name string) (io.ReadCloser, error) { return o.root.Open(name) }
func (o *OSFS) Create(name string, perm fs.FileMode) (WriteFile, error) {
	return o.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
}
func (o *OSFS) Mkdir(name string, perm fs.FileMode) error { return o.root.Mkdir(name, perm) }
func (o *OSFS) Remove(name string) error                  { return o.root.Remove(name) }
func (o *OSFS) Rename(a, b string) error                  { return o.root.Rename(a, b) }
func (o *OSFS) Link(a, b string) error                    { return o.root.Link(a, b) }
func (o *OSFS) Symlink(target, name string) error         { return o.root.Symlink(target, name) }
func (o *OSFS) Readlink(name string) (string, error)      { return o.root.Readlink(name) }
func (o *OSFS) Lstat(name string) (fs.FileInfo, error)    { return o.root.Lstat(name) }
func (o *OSFS) Chmod(name string, m fs.FileMode) error    { return o.root.Chmod(name, m) }
func (o *OSFS) ReadDir(name string) ([]fs.DirEntry, error) {
	return fs.ReadDir(o.root.FS(), name)
}
func (o *OSFS) SyncDir(name string) error {
	f, err := o.root.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
func (o *OSFS) Free() (int64, error) { return freeSpace(o.dir) }

// removeAll deletes name and everything below it through fsys; a missing
// name is not an error.
func removeAll(fsys FS, name string) error {
	info, err := fsys.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if info.IsDir() {
		ents, err := fsys.ReadDir(name)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if err := removeAll(fsys, path.Join(name, e.Name())); err != nil {
				return err
			}
		}
	}
	err = fsys.Remove(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// writeFileAtomic writes data to name via a temporary file, fsync and
// rename, then syncs the directory.
func writeFileAtomic(fsys FS, name string, data []byte) error {
	tmp := name + ".tmp"
	if err := fsys.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := fsys.Create(tmp, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fsys.Rename(tmp, name); err != nil {
		return err
	}
	return fsys.SyncDir(path.Dir(name))
}

func readFileFS(fsys FS, name string, max int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, &EntryError{Name: name, Reason: "file too large", Err: ErrTooLarge}
	}
	return b, nil
}
