package disk

import (
	"io/fs"
	"os"

	"github.com/diskfs/go-diskfs/backend"
)

// fileStorage adapts an *os.File to go-diskfs's backend.Storage. Unlike
// go-diskfs's own file backend it offers no Sync, so building an image does
// not fsync after every partition-table write.
type fileStorage struct{ f *os.File }

var _ backend.Storage = fileStorage{}

func (s fileStorage) Stat() (fs.FileInfo, error)                { return s.f.Stat() }
func (s fileStorage) Read(p []byte) (int, error)                { return s.f.Read(p) }
func (s fileStorage) Close() error                              { return nil }
func (s fileStorage) ReadAt(p []byte, off int64) (int, error)   { return s.f.ReadAt(p, off) }
func (s fileStorage) WriteAt(p []byte, off int64) (int, error)  { return s.f.WriteAt(p, off) }
func (s fileStorage) Seek(off int64, whence int) (int64, error) { return s.f.Seek(off, whence) }
func (s fileStorage) Sys() (*os.File, error)                    { return nil, backend.ErrNotSuitable }
func (s fileStorage) Writable() (backend.WritableFile, error)   { return s, nil }
func (s fileStorage) Path() string                              { return "" }
