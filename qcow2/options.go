package qcow2

import (
	"fmt"
	"runtime"
)

// Compression types of Options.Compression.
const (
	CompressionNone = ""
	CompressionZlib = "zlib"
	CompressionZstd = "zstd"
)

// Options configure the writer. A nil *Options means the defaults; the
// writer never modifies it.
type Options struct {
	// ClusterBits is log2 of the cluster size, 9 (512 B) to 21 (2 MiB);
	// 0 means 16 (64 KiB), qemu's default.
	ClusterBits int `json:"clusterBits,omitempty"`
	// Compression is "" (clusters stored as they are), "zlib" (the header's
	// compression type 0, readable by every qemu) or "zstd" (compression
	// type 1, qemu 5.1 and later).
	Compression string `json:"compression,omitempty"`
	// Level is the zstd level, 1 (fastest) to 4 (best), 0 means 1. zlib
	// clusters use one fixed encoder: qemu inflates with a 4 KiB window, and
	// the small-window deflate encoder has no levels.
	Level int `json:"level,omitempty"`
	// Workers is the number of compressing goroutines; 0 means GOMAXPROCS,
	// at most 16. The output is byte-identical for any value.
	Workers int `json:"workers,omitempty"`
	// TempDir is where compressed Write and WriteStream spool the data
	// clusters until the metadata that precedes them is known; "" means
	// os.TempDir(). The spool file is removed before they return.
	TempDir string `json:"tempDir,omitempty"`
	// NoDigest skips the SHA-256 of the output (Result.SHA256 stays nil).
	// The digest is computed by default, on its own goroutine; it is the
	// largest CPU cost of an uncompressed write, and on a machine with
	// few cores it limits the speed. For callers that do not need the
	// digest or compute their own. The output is the same either way.
	NoDigest bool `json:"noDigest,omitempty"`
	// Progress, if set, is called on the caller's goroutine after every
	// batch of clusters.
	Progress func(Event) `json:"-"`
}

// Event reports progress of a write.
type Event struct {
	Stage string `json:"stage"`          // "scan" (first pass of Write), "compress", "write"
	File  string `json:"file,omitempty"` // always empty: a qcow2 is one file
	Done  int64  `json:"done"`           // bytes of the raw disk covered so far in this stage
	Total int64  `json:"total"`          // disk size in bytes
}

type config struct {
	clusterBits int
	compression string
	level       int
	workers     int
	tempDir     string
	noDigest    bool
	progress    func(Event)
	inFlight    int // batches in flight
	batchLen    int // clusters per batch
}

const (
	maxWorkers        = 256
	defaultMaxWorkers = 16
)

func resolve(o *Options) (config, error) {
	var zero Options
	if o == nil {
		o = &zero
	}
	c := config{clusterBits: o.ClusterBits, compression: o.Compression, level: o.Level,
		workers: o.Workers, tempDir: o.TempDir, noDigest: o.NoDigest, progress: o.Progress}
	if c.clusterBits == 0 {
		c.clusterBits = 16
	}
	if c.clusterBits < minClusterBits || c.clusterBits > maxClusterBits {
		return c, fmt.Errorf("%w: cluster bits %d (want %d..%d)", ErrInvalid, o.ClusterBits, minClusterBits, maxClusterBits)
	}
	switch c.compression {
	case CompressionNone, CompressionZlib, CompressionZstd:
	default:
		return c, fmt.Errorf("%w: compression %q", ErrInvalid, c.compression)
	}
	if c.level == 0 {
		c.level = 1
	}
	if c.level < 1 || c.level > 4 {
		return c, fmt.Errorf("%w: level %d (want 1..4)", ErrInvalid, o.Level)
	}
	if c.workers == 0 {
		c.workers = min(runtime.GOMAXPROCS(0), defaultMaxWorkers)
	}
	if c.workers < 1 || c.workers > maxWorkers {
		return c, fmt.Errorf("%w: workers %d (want 1..%d)", ErrInvalid, o.Workers, maxWorkers)
	}
	// Bounded memory: about 16 MiB of input clusters in flight (and as much
	// compressed output), in batches of about 1 MiB.
	cs := 1 << c.clusterBits
	c.batchLen = max(1, (1<<20)/cs)
	c.inFlight = min(64, max(8, 4*c.workers), max(2, (16<<20)/(c.batchLen*cs)))
	return c, nil
}
