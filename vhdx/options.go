package vhdx

import (
	"fmt"
	"runtime"
)

// Options configure the writer. A nil *Options means the defaults; the
// writer never modifies it.
type Options struct {
	// BlockSize is the payload block size in bytes, a power of two from
	// 1 MiB to 256 MiB; 0 means 32 MiB (qemu-img's default).
	BlockSize uint32 `json:"blockSize,omitempty"`
	// LogicalSectorSize is 512 (0 means 512) or 4096. The virtual size is
	// the input size rounded up to a multiple of it.
	LogicalSectorSize uint32 `json:"logicalSectorSize,omitempty"`
	// PhysicalSectorSize is 512 or 4096 (0 means 4096).
	PhysicalSectorSize uint32 `json:"physicalSectorSize,omitempty"`
	// ContentID, when set, replaces the content fingerprint from which the
	// file, data and virtual disk GUIDs derive (e.g. a digest of the raw disk
	// the caller already knows). Write then skips fingerprinting in its
	// scanning pass.
	ContentID string `json:"contentId,omitempty"`
	// Workers is the number of goroutines scanning for zero blocks; 0 means
	// GOMAXPROCS, at most 16. Each costs a 1 MiB buffer. The output is
	// byte-identical for any value.
	Workers int `json:"workers,omitempty"`
	// NoDigest skips the SHA-256 of the output (Result.SHA256 stays nil),
	// which costs about half the CPU of a write; for callers that do not
	// need the digest or compute their own.
	NoDigest bool `json:"noDigest,omitempty"`
	// FileName is reported in progress events; it is not stored in the file.
	FileName string `json:"fileName,omitempty"`
	// Progress, if set, is called on the caller's goroutine as the scan
	// (stage "scan") and the write (stage "write") advance.
	Progress func(Event) `json:"-"`
}

// Event reports progress of a write.
type Event struct {
	Stage   string `json:"stage"`          // "scan" or "write"
	File    string `json:"file,omitempty"` // Options.FileName
	Done    int64  `json:"done"`           // bytes of the raw disk covered so far
	Total   int64  `json:"total"`          // virtual size in bytes
	Written int64  `json:"written"`        // VHDX bytes written so far
}

type config struct {
	blockSize, logical, physical uint32
	contentID                    string
	workers                      int
	noDigest                     bool
	fileName                     string
	progress                     func(Event)
}

const (
	maxWorkers        = 64
	defaultMaxWorkers = 16
)

func resolve(o *Options) (config, error) {
	var zero Options
	if o == nil {
		o = &zero
	}
	c := config{blockSize: o.BlockSize, logical: o.LogicalSectorSize, physical: o.PhysicalSectorSize,
		contentID: o.ContentID, workers: o.Workers, noDigest: o.NoDigest, fileName: o.FileName, progress: o.Progress}
	if c.blockSize == 0 {
		c.blockSize = DefaultBlockSize
	}
	if !validBlockSize(c.blockSize) {
		return c, fmt.Errorf("%w: block size %d (want a power of two from 1 MiB to 256 MiB)", ErrInvalid, o.BlockSize)
	}
	if c.logical == 0 {
		c.logical = 512
	}
	if c.physical == 0 {
		c.physical = 4096
	}
	if !validSectorSize(c.logical) || !validSectorSize(c.physical) {
		return c, fmt.Errorf("%w: sector sizes %d/%d (want 512 or 4096)", ErrInvalid, o.LogicalSectorSize, o.PhysicalSectorSize)
	}
	if c.workers == 0 {
		c.workers = min(runtime.GOMAXPROCS(0), defaultMaxWorkers)
	}
	if c.workers < 1 || c.workers > maxWorkers {
		return c, fmt.Errorf("%w: workers %d (want 1..%d)", ErrInvalid, o.Workers, maxWorkers)
	}
	return c, nil
}
