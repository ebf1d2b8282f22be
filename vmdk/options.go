package vmdk

import (
	"fmt"
	"runtime"
	"strings"
)

// Options configure the writer. A nil *Options means the defaults; the
// writer never modifies it.
type Options struct {
	// Level is the zlib compression level, 1 (fastest) to 9; 0 means 6.
	Level int `json:"level,omitempty"`
	// Workers is the number of compressing goroutines; 0 means GOMAXPROCS,
	// at most 16 (the default keeps peak memory under 64 MiB; each extra
	// worker costs about 1 MiB). The output is byte-identical for any value.
	Workers int `json:"workers,omitempty"`
	// AdapterType is "lsilogic" (default), "ide" or "buslogic".
	AdapterType string `json:"adapterType,omitempty"`
	// HardwareVersion is ddb.virtualHWVersion; 0 means 4.
	HardwareVersion int `json:"hardwareVersion,omitempty"`
	// ToolsVersion is ddb.toolsVersion; 0 means 2147483647 (its absence
	// blocks vSphere guest customisation).
	ToolsVersion int `json:"toolsVersion,omitempty"`
	// FileName is the extent file name in the descriptor; "" means
	// "disk.vmdk". It must not contain quotes, control characters or '/'.
	FileName string `json:"fileName,omitempty"`
	// ContentID, when set, replaces the content hash from which the CID and
	// ddb.longContentID derive (e.g. a digest of the raw disk the caller
	// already knows). It saves Write its extra hashing pass and makes
	// WriteStream's IDs content-derived; see WriteStream.
	ContentID string `json:"contentId,omitempty"`
	// Progress, if set, is called on the caller's goroutine after every
	// grain batch is written.
	Progress func(Event) `json:"-"`
}

// Event reports progress of a write.
type Event struct {
	Stage   string `json:"stage"`          // always "write"
	File    string `json:"file,omitempty"` // Options.FileName (the extent name)
	Done    int64  `json:"done"`           // bytes of the raw disk covered so far
	Total   int64  `json:"total"`          // capacity in bytes
	Written int64  `json:"written"`        // VMDK bytes written so far
	Grains  int64  `json:"grains"`         // grains written so far
}

type config struct {
	level, workers     int
	adapter            string
	hwVersion, toolsV  int
	fileName           string
	contentID          string
	progress           func(Event)
	inFlight, batchLen int // batches in flight, grains per batch
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
	c := config{level: o.Level, workers: o.Workers, adapter: o.AdapterType, hwVersion: o.HardwareVersion,
		toolsV: o.ToolsVersion, fileName: o.FileName, contentID: o.ContentID, progress: o.Progress}
	if c.level == 0 {
		c.level = 6
	}
	if c.level < 1 || c.level > 9 {
		return c, fmt.Errorf("%w: level %d (want 1..9)", ErrInvalid, o.Level)
	}
	if c.workers == 0 {
		c.workers = min(runtime.GOMAXPROCS(0), defaultMaxWorkers)
	}
	if c.workers < 1 || c.workers > maxWorkers {
		return c, fmt.Errorf("%w: workers %d (want 1..%d)", ErrInvalid, o.Workers, maxWorkers)
	}
	switch c.adapter {
	case "":
		c.adapter = AdapterLSILogic
	case AdapterLSILogic, AdapterIDE, AdapterBusLogic:
	default:
		return c, fmt.Errorf("%w: adapter type %q", ErrInvalid, c.adapter)
	}
	if c.hwVersion == 0 {
		c.hwVersion = 4
	}
	if c.toolsV == 0 {
		c.toolsV = 2147483647
	}
	if c.hwVersion < 0 || c.toolsV < 0 {
		return c, fmt.Errorf("%w: negative version", ErrInvalid)
	}
	if c.fileName == "" {
		c.fileName = "disk.vmdk"
	}
	if len(c.fileName) > 1024 || strings.ContainsAny(c.fileName, "\"/\\") ||
		strings.IndexFunc(c.fileName, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return c, fmt.Errorf("%w: file name %q", ErrInvalid, c.fileName)
	}
	// Bounded memory: at most 256 grains (16 MiB in, 16 MiB out) in flight,
	// in enough batches that a stalled worker does not stall the others.
	c.inFlight = min(256, max(8, 4*c.workers))
	c.batchLen = min(16, max(1, 256/c.inFlight))
	return c, nil
}
