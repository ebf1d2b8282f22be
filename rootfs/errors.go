package rootfs

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Sentinel errors. Every error this package returns for bad input matches
// one of them with errors.Is; most arrive wrapped in a *PathError or
// *SpecError that says where.
var (
	// ErrNoInit: the archive has no executable /init (Options.AllowNoInit
	// turns the check off).
	ErrNoInit = errors.New("rootfs: /init missing or not executable")
	// ErrName: a path or symlink target is empty, has a NUL byte, climbs
	// out of the root with "..", or exceeds the kernel's 4096-byte limit.
	ErrName = errors.New("rootfs: invalid name")
	// ErrTooLarge: a regular file of 4 GiB or more (newc sizes are 32 bits).
	ErrTooLarge = errors.New("rootfs: file too large for newc")
	// ErrModTime: the mtime is before 1970 or after 2106 (newc is 32 bits).
	ErrModTime = errors.New("rootfs: mtime outside the newc range")
	// ErrHardlink: a hard link whose target is missing or not a regular file.
	ErrHardlink = errors.New("rootfs: hard link target is not a regular file")
	// ErrNotDir: an entry sits below a path that is not a directory.
	ErrNotDir = errors.New("rootfs: parent is not a directory")
	// ErrDevice: a device number the kernel cannot encode (major ≥ 4096 or
	// minor ≥ 2^20).
	ErrDevice = errors.New("rootfs: device number out of range")
	// ErrType: an entry type this package does not know.
	ErrType = errors.New("rootfs: unknown entry type")
	// ErrSizeMismatch: file content ended before, or ran past, its declared size.
	ErrSizeMismatch = errors.New("rootfs: content size differs from the declared size")
	// ErrSourceUsed: an io.Reader source was already consumed by an earlier write.
	ErrSourceUsed = errors.New("rootfs: reader source already consumed")
	// ErrSpec: a malformed gen_init_cpio list line.
	ErrSpec = errors.New("rootfs: malformed spec")
	// ErrFormat: a malformed archive (bad magic, header, name or padding).
	ErrFormat = errors.New("rootfs: malformed archive")
	// ErrLimit: an archive exceeds a ReaderOptions limit; the error is a
	// *LimitError naming the limit.
	ErrLimit = errors.New("rootfs: archive exceeds a reader limit")
	// ErrCompression: an unknown compression name, or a broken compressed stream.
	ErrCompression = errors.New("rootfs: compression error")
)

// PathError says which archive path an error concerns.
type PathError struct {
	Path   string // absolute archive path, e.g. "/init"
	Err    error  // one of the sentinels
	Detail string // optional detail, e.g. the size or the bad target
}

func (e *PathError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%v: %s: %s", e.Err, e.Path, e.Detail)
	}
	return fmt.Sprintf("%v: %s", e.Err, e.Path)
}

func (e *PathError) Unwrap() error { return e.Err }

// SpecError says which line of a gen_init_cpio list is wrong.
type SpecError struct {
	Line   int    // 1-based line number
	Text   string // the line as read (clipped to 200 bytes)
	Err    error  // ErrSpec, or the sentinel of the entry's own problem
	Detail string
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("%v: line %d: %s (%q)", e.Err, e.Line, e.Detail, e.Text)
}

func (e *SpecError) Unwrap() error { return e.Err }

// LimitError says which ReaderOptions limit an archive exceeded. It
// matches ErrLimit.
type LimitError struct {
	Limit string // the ReaderOptions field, e.g. "MaxNameBytes"
	Max   int64  // its value in force
	// Path is the entry being read when the limit was hit, when known.
	Path string
}

func (e *LimitError) Error() string {
	s := fmt.Sprintf("%v: more than %s = %d", ErrLimit, e.Limit, e.Max)
	if e.Path != "" {
		s += " at " + clip(e.Path)
	}
	return s
}

func (e *LimitError) Unwrap() error { return ErrLimit }

func limitErr(limit string, max int64, path string) error {
	return &LimitError{Limit: limit, Max: max, Path: path}
}

// clip shortens a path or name for an error message: hostile archives hold
// names of up to 4 KiB, and an error need not repeat all of it.
func clip(s string) string {
	const n = 128
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func pathErr(p string, err error, format string, args ...any) error {
	return &PathError{Path: p, Err: err, Detail: fmt.Sprintf(format, args...)}
}
