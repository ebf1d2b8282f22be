package ext4

import (
	"context"
	"errors"
	"io"
	"time"
)

// Sentinel errors.
var (
	ErrNotExt4  = errors.New("ext4: not an ext4 file system")
	ErrOptions  = errors.New("ext4: invalid options")
	ErrMismatch = errors.New("ext4: not what Format writes")
)

// Options tune Format. Nil means defaults.
type Options struct {
	Label    string    `json:"label,omitempty"` // at most 16 bytes
	Seed     string    `json:"seed,omitempty"`  // derives UUID and hash seed
	ModTime  time.Time `json:"modTime,omitempty"`
	Progress func(Event)
}

// Event reports progress.
type Event struct {
	Stage string `json:"stage"`
	Done  int64  `json:"done"`
	Total int64  `json:"total"`
}

// Info is what a superblock says.
type Info struct {
	Label     string `json:"label"`
	UUID      string `json:"uuid"`
	Size      int64  `json:"size"`
	BlockSize int    `json:"blockSize"`
}

// Format writes an empty file system of size bytes to w.
func Format(ctx context.Context, w io.WriterAt, size int64, o *Options) (*Info, error) {
	return nil, errors.ErrUnsupported
}

// Probe reads the superblock of any ext2/3/4 file system.
func Probe(r io.ReaderAt) (*Info, error) { return nil, errors.ErrUnsupported }

// Verify checks that r holds exactly what Format(o) writes.
func Verify(ctx context.Context, r io.ReaderAt, size int64, o *Options) (*Info, error) {
	return nil, errors.ErrUnsupported
}
