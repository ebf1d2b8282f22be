package disk

import (
	"io/fs"
	"os"

	"github.com/diskfs/go-diskfs/backend"
)

// fileStorage adapts an *os.File to go-diskfs's backend.Storage.
//
// It offers no Sync, so building an image does not fsync after every
// partition-table write, and it combines contiguous writes: go-diskfs
// writes file data one cluster (512 bytes on small ESPs) per WriteAt, which
// would otherwise cost a system call per cluster. Reads and non-contiguous
// writes flush the pending bytes first, so go-diskfs always reads what it
// wrote; flush must be called before the file is used directly.
type fileStorage struct{ *combiner }

type combiner struct {
	f   *os.File
	buf []byte
	off int64
	err error
}

const combineMax = 8 << 20

func newFileStorage(f *os.File) fileStorage { return fileStorage{&combiner{f: f}} }

var _ backend.Storage = fileStorage{}

func (s fileStorage) flush() error {
	if s.err != nil {
		return s.err
	}
	if len(s.buf) > 0 {
		_, s.err = s.f.WriteAt(s.buf, s.off)
		s.buf = s.buf[:0]
	}
	return s.err
}

func (s fileStorage) WriteAt(p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, s.err
	}
	if len(s.buf) > 0 && off == s.off+int64(len(s.buf)) && len(s.buf)+len(p) <= combineMax {
		s.buf = append(s.buf, p...)
		return len(p), nil
	}
	if err := s.flush(); err != nil {
		return 0, err
	}
	if len(p) >= combineMax/2 {
		return s.f.WriteAt(p, off)
	}
	if s.buf == nil {
		s.buf = make([]byte, 0, combineMax)
	}
	s.buf, s.off = append(s.buf, p...), off
	return len(p), nil
}

func (s fileStorage) ReadAt(p []byte, off int64) (int, error) {
	if err := s.flush(); err != nil {
		return 0, err
	}
	return s.f.ReadAt(p, off)
}

func (s fileStorage) Read(p []byte) (int, error) {
	if err := s.flush(); err != nil {
		return 0, err
	}
	return s.f.Read(p)
}

func (s fileStorage) Seek(off int64, whence int) (int64, error) {
	if err := s.flush(); err != nil {
		return 0, err
	}
	return s.f.Seek(off, whence)
}

func (s fileStorage) Stat() (fs.FileInfo, error)              { return s.f.Stat() }
func (s fileStorage) Close() error                            { return s.flush() }
func (s fileStorage) Sys() (*os.File, error)                  { return nil, backend.ErrNotSuitable }
func (s fileStorage) Writable() (backend.WritableFile, error) { return s, nil }
func (s fileStorage) Path() string                            { return "" }
