package esp

import (
	"errors"
	"io"
	"io/fs"
	"os"
)

// FS is the small filesystem interface the ESP is written through. Names
// are slash-separated and relative to the ESP's root. DirFS implements it
// on a mounted ESP; package esptest has an in-memory one that loses what
// was not synced and injects crashes, for tests.
type FS interface {
	Open(name string) (fs.File, error)
	// ReadDir lists a directory sorted by name.
	ReadDir(name string) ([]fs.DirEntry, error)
	Stat(name string) (fs.FileInfo, error)
	// Create makes a new file for writing and fails if name exists.
	Create(name string) (File, error)
	Mkdir(name string) error
	// Remove deletes a file or an empty directory.
	Remove(name string) error
	Rename(oldname, newname string) error
	// Sync makes a file's content and directory entry, or a directory's
	// entries, durable. It takes a name rather than an open file because
	// on FAT a renamed file's start cluster and size are written into its
	// new directory entry only when that file itself is synced (the
	// directory's own fsync does not write them).
	Sync(name string) error
}

// File is a file being written.
type File interface {
	io.Writer
	// Sync makes the content durable.
	Sync() error
	Close() error
}

// OSFS is an FS on a directory (the mounted ESP), through os.Root so no
// name can escape it.
type OSFS struct{ root *os.Root }

// DirFS opens dir, which must exist, as an FS.
func DirFS(dir string) (*OSFS, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &OSFS{root: r}, nil
}

// Close releases the directory handle.
func (o *OSFS) Close() error { return o.root.Close() }

func (o *OSFS) Open(name string) (fs.File, error) { return o.root.Open(name) }
func (o *OSFS) ReadDir(name string) ([]fs.DirEntry, error) {
	return fs.ReadDir(o.root.FS(), name)
}
func (o *OSFS) Stat(name string) (fs.FileInfo, error) { return o.root.Stat(name) }
func (o *OSFS) Create(name string) (File, error) {
	return o.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, FileMode)
}
func (o *OSFS) Mkdir(name string) error  { return o.root.Mkdir(name, DirMode) }
func (o *OSFS) Remove(name string) error { return o.root.Remove(name) }
func (o *OSFS) Rename(a, b string) error { return o.root.Rename(a, b) }
func (o *OSFS) Sync(name string) error {
	f, err := o.root.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	// fsync(2) works on a read-only descriptor; some filesystems refuse
	// it on directories with EINVAL, which is no durability promise lost.
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
