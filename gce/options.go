package gce

import (
	"fmt"
	"time"
)

// Options configure the writer. A nil *Options means the defaults; the
// writer never modifies it.
type Options struct {
	// Level is the gzip level, 1 (fastest) to 9; 0 means 6.
	Level int `json:"level,omitempty"`
	// ModTime is the tar entry's modification time; the zero time means
	// the Unix epoch, for reproducible output.
	ModTime time.Time `json:"modTime,omitzero"`
	// Progress, if set, is called on the caller's goroutine after every
	// MiB of the disk scanned or written.
	Progress func(Event) `json:"-"`
}

// Event reports progress of a write.
type Event struct {
	Stage string `json:"stage"`          // "scan" (Write's first pass) or "write"
	File  string `json:"file,omitempty"` // always "disk.raw"
	Done  int64  `json:"done"`           // bytes of the disk covered so far
	Total int64  `json:"total"`          // the disk size, padded to a whole GiB
}

// GiB is the unit of GCE image sizes.
const GiB = 1 << 30

// MaxSize is the largest disk Write accepts (before padding): 64 TiB.
const MaxSize = 64 << 40

type config struct {
	level    int
	mtime    int64
	progress func(Event)
	size     int64 // input bytes
	padded   int64 // disk.raw size
}

func resolve(o *Options, size int64) (config, error) {
	var zero Options
	if o == nil {
		o = &zero
	}
	c := config{level: o.Level, progress: o.Progress, size: size}
	if c.level == 0 {
		c.level = 6
	}
	if c.level < 1 || c.level > 9 {
		return c, fmt.Errorf("%w: level %d (want 1..9)", ErrInvalid, o.Level)
	}
	if !o.ModTime.IsZero() {
		c.mtime = o.ModTime.Unix()
		if c.mtime < 0 {
			return c, fmt.Errorf("%w: mod time %s before 1970", ErrInvalid, o.ModTime)
		}
	}
	if size <= 0 {
		return c, fmt.Errorf("%w: disk size %d", ErrInvalid, size)
	}
	if size > MaxSize {
		return c, fmt.Errorf("%w: disk size %d above %d", ErrTooLarge, size, int64(MaxSize))
	}
	c.padded = (size + GiB - 1) / GiB * GiB
	return c, nil
}

func (c *config) report(stage string, done int64) {
	if c.progress != nil {
		c.progress(Event{Stage: stage, File: Name, Done: min(done, c.padded), Total: c.padded})
	}
}
