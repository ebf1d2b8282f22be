package ext4

import (
	"errors"
	"fmt"
)

// Sentinel errors.
var (
	// ErrNotExt4: the bytes hold no ext2/3/4 superblock, or one whose
	// geometry cannot be right.
	ErrNotExt4 = errors.New("ext4: not an ext4 file system")
	// ErrOptions: a size or option Format cannot honour.
	ErrOptions = errors.New("ext4: invalid options")
	// ErrMismatch: Verify found bytes other than what Format writes.
	ErrMismatch = errors.New("ext4: not what Format writes")
)

// MismatchError says where Verify found the first difference. It matches
// ErrMismatch with errors.Is.
type MismatchError struct {
	// Region names the metadata, such as "superblock backup in group 3"
	// or "journal (must read as zeros)".
	Region string `json:"region"`
	// Offset is the byte offset of the first differing byte.
	Offset int64 `json:"offset"`
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%v: %s differs at byte %d (block %d)", ErrMismatch, e.Region, e.Offset, e.Offset/BlockSize)
}

func (e *MismatchError) Unwrap() error { return ErrMismatch }
