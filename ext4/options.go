package ext4

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// Limits of Format.
const (
	// BlockSize is the only block size Format writes.
	BlockSize = 4096
	// MinSize is the smallest size Format accepts: 16 MiB holds the
	// metadata, a 4 MiB journal and still leaves most of the disk free.
	MinSize = 16 << 20
	// MaxSize is the largest: 32 TiB keeps the inode count (one inode
	// per 16 KiB) inside 32 bits with room to spare.
	MaxSize = 32 << 40
	// MaxLabel is the longest label in bytes (the superblock's field).
	MaxLabel = 16
)

// Options tune Format and Verify. Nil means defaults: no label, the
// empty seed, Unix time 0, and a target that reads as zeros.
type Options struct {
	// Label is the volume label, at most 16 bytes of UTF-8 without NUL.
	Label string `json:"label,omitempty"`
	// Seed derives the UUID and the directory hash seed (together with
	// the label and the block count), so the same Options and size give
	// the same file system every time.
	Seed string `json:"seed,omitempty"`
	// ModTime is every time stamp: superblock, root, lost+found and the
	// journal inode. Zero means Unix 0. It must lie in [1970, 2106).
	ModTime time.Time `json:"modTime,omitempty"`
	// NotZeroed says the target is not known to read as zeros where
	// Format does not write (a used block device, an old image file).
	// Format then zeroes the journal itself and leaves the inode tables
	// for the kernel to zero in the background after the first mount,
	// instead of marking them zeroed. A fresh sparse file, a new VMDK
	// or a blank virtual disk reads as zeros: leave it false there, and
	// Format writes only metadata.
	NotZeroed bool `json:"notZeroed,omitempty"`
	// Progress, when set, is called synchronously as Format works.
	Progress func(Event) `json:"-"`
}

// Event reports progress: Stage "metadata" counts block groups, Stage
// "journal" counts bytes of journal zeroed (NotZeroed only).
type Event struct {
	Stage string `json:"stage"`
	Done  int64  `json:"done"`
	Total int64  `json:"total"`
}

// Info is what a superblock says.
type Info struct {
	Label string `json:"label"`
	UUID  string `json:"uuid"`
	// Size is the file system's size in bytes: whole blocks, and less
	// than the size given to Format when it dropped a last block group
	// too small to be worth its metadata.
	Size      int64 `json:"size"`
	BlockSize int   `json:"blockSize"`
}

// options returns o's values with defaults filled in, or ErrOptions.
func (o *Options) resolve() (Options, error) {
	var c Options
	if o != nil {
		c = *o
	}
	if len(c.Label) > MaxLabel || !utf8.ValidString(c.Label) {
		return c, fmt.Errorf("%w: label %q: at most %d bytes of UTF-8", ErrOptions, c.Label, MaxLabel)
	}
	for i := 0; i < len(c.Label); i++ {
		if c.Label[i] == 0 {
			return c, fmt.Errorf("%w: label %q holds a NUL byte", ErrOptions, c.Label)
		}
	}
	if c.ModTime.IsZero() {
		c.ModTime = time.Unix(0, 0)
	}
	if s := c.ModTime.Unix(); s < 0 || s >= 1<<32 {
		return c, fmt.Errorf("%w: modification time %s outside [1970, 2106)", ErrOptions, c.ModTime.UTC())
	}
	return c, nil
}
