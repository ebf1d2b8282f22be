package vhd

import (
	"fmt"
	"time"
)

// Options configure the writer. A nil *Options means the defaults; the
// writer never modifies it.
type Options struct {
	// Type is TypeFixed ("fixed", the default; the only type Azure
	// imports) or TypeDynamic ("dynamic": 2 MiB blocks, all-zero blocks
	// not stored).
	Type string `json:"type,omitempty"`
	// RoundUp rounds the virtual size up to a whole MiB (Azure's rule; the
	// added bytes read as zeros) and says so in Result.Padding. Without it
	// the size is rounded up to a whole sector only.
	RoundUp bool `json:"roundUp,omitempty"`
	// CreatorApp is the footer's four-byte creator application; "" means
	// DefaultCreatorApp. It decides how qemu sizes the disk: for "vpc "
	// and "qemu" (and any name it does not know) qemu believes the CHS
	// geometry, which usually describes less than the real size; for
	// "win ", "qem2", "d2v ", "CTXS" and "tap\x00" it believes the
	// current-size field (qemu's open option force_size_calc=current_size
	// overrides its table). Hyper-V and Azure always use the size field.
	CreatorApp string `json:"creatorApp,omitempty"`
	// ModTime is the footer timestamp; the zero time means the VHD epoch,
	// 2000-01-01 00:00:00 UTC (timestamp 0), for reproducible output.
	// Times before the epoch or after 2136 are rejected.
	ModTime time.Time `json:"modTime,omitzero"`
	// UniqueID, when non-zero, is the footer's unique ID. The zero ID
	// means one derived from the type, size and content, so the same disk
	// gives the same bytes.
	UniqueID ID `json:"uniqueId,omitzero"`
	// Progress, if set, is called on the caller's goroutine after every
	// block (2 MiB of the virtual disk).
	Progress func(Event) `json:"-"`
}

// DefaultCreatorApp is the creator application this package writes: the
// one Hyper-V writes, which makes qemu (and so every qemu-based tool)
// take the virtual size from the current-size field, byte-exact, rather
// than from the CHS geometry. The creator version and host OS are
// fogkit's own (version 1.0, host "Wi2k" as the specification names
// Windows; no reader relies on them).
const DefaultCreatorApp = "win "

// Event reports progress of a write.
type Event struct {
	Stage string `json:"stage"`          // "scan" (dynamic's first pass) or "write"
	File  string `json:"file,omitempty"` // always empty: a VHD is one file
	Done  int64  `json:"done"`           // bytes of the virtual disk covered so far
	Total int64  `json:"total"`          // virtual size in bytes
}

type config struct {
	dynamic   bool
	vsize     int64 // virtual size
	size      int64 // input bytes
	creator   string
	timestamp uint32
	uniqueID  ID
	progress  func(Event)
}

func resolve(o *Options, size int64) (config, error) {
	var zero Options
	if o == nil {
		o = &zero
	}
	c := config{size: size, creator: o.CreatorApp, uniqueID: o.UniqueID, progress: o.Progress}
	switch o.Type {
	case "", TypeFixed:
	case TypeDynamic:
		c.dynamic = true
	default:
		return c, fmt.Errorf("%w: type %q (want %q or %q)", ErrInvalid, o.Type, TypeFixed, TypeDynamic)
	}
	if c.creator == "" {
		c.creator = DefaultCreatorApp
	}
	if len(c.creator) != 4 {
		return c, fmt.Errorf("%w: creator app %q is not 4 bytes", ErrInvalid, c.creator)
	}
	if !o.ModTime.IsZero() {
		d := o.ModTime.Sub(epoch)
		if d < 0 || d/time.Second > 1<<32-1 {
			return c, fmt.Errorf("%w: mod time %s outside the VHD timestamp range", ErrInvalid, o.ModTime)
		}
		c.timestamp = uint32(d / time.Second)
	}
	if size <= 0 {
		return c, fmt.Errorf("%w: disk size %d", ErrInvalid, size)
	}
	c.vsize = roundUp(size, SectorSize)
	if o.RoundUp {
		c.vsize = roundUp(size, 1<<20)
	}
	limit := int64(MaxFixedSize)
	if c.dynamic {
		limit = MaxDynamicSize
	}
	if c.vsize > limit {
		return c, fmt.Errorf("%w: virtual size %d above %d", ErrTooLarge, c.vsize, limit)
	}
	return c, nil
}

func roundUp(n, m int64) int64 { return (n + m - 1) / m * m }
