package rootfs

import (
	"fmt"
	"strings"
)

// Type is the kind of an archive entry.
type Type uint8

// Entry types. The zero Type is TypeFile.
const (
	TypeFile     Type = iota // regular file
	TypeDir                  // directory
	TypeSymlink              // symbolic link; Entry.Linkname is the target
	TypeHardlink             // another name for a regular file; Entry.Linkname is its path
	TypeChar                 // character device; Entry.Major, Entry.Minor
	TypeBlock                // block device; Entry.Major, Entry.Minor
	TypeFIFO                 // named pipe
	TypeSocket               // unix socket
)

var typeNames = [...]string{"file", "dir", "symlink", "hardlink", "char", "block", "fifo", "socket"}

// String returns the lower-case name used in JSON: "file", "dir", "symlink",
// "hardlink", "char", "block", "fifo" or "socket".
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// MarshalText implements encoding.TextMarshaler.
func (t Type) MarshalText() ([]byte, error) {
	if int(t) >= len(typeNames) {
		return nil, fmt.Errorf("%w: %d", ErrType, uint8(t))
	}
	return []byte(typeNames[t]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *Type) UnmarshalText(b []byte) error {
	for i, n := range typeNames {
		if n == string(b) {
			*t = Type(i)
			return nil
		}
	}
	return fmt.Errorf("%w: %q", ErrType, b)
}

// Unix file type bits as stored in the newc mode field.
const (
	modeFIFO   = 0o010000
	modeChar   = 0o020000
	modeDir    = 0o040000
	modeBlock  = 0o060000
	modeReg    = 0o100000
	modeLink   = 0o120000
	modeSocket = 0o140000
	modeType   = 0o170000
	modePerm   = 0o7777 // permissions plus setuid, setgid, sticky
)

func (t Type) modeBits() uint32 {
	switch t {
	case TypeDir:
		return modeDir
	case TypeSymlink:
		return modeLink
	case TypeChar:
		return modeChar
	case TypeBlock:
		return modeBlock
	case TypeFIFO:
		return modeFIFO
	case TypeSocket:
		return modeSocket
	}
	return modeReg
}

func typeFromMode(m uint32) (Type, bool) {
	switch m & modeType {
	case modeReg:
		return TypeFile, true
	case modeDir:
		return TypeDir, true
	case modeLink:
		return TypeSymlink, true
	case modeChar:
		return TypeChar, true
	case modeBlock:
		return TypeBlock, true
	case modeFIFO:
		return TypeFIFO, true
	case modeSocket:
		return TypeSocket, true
	}
	return 0, false
}

// Entry describes one archive member. Paths are absolute inside the
// archive ("/bin/sh"); a relative path is taken from the root.
type Entry struct {
	Path string `json:"path"`
	Type Type   `json:"type"`
	// Mode holds the permission bits with setuid, setgid and sticky
	// (mask 07777); type bits are ignored. A hard link takes the mode,
	// owner and content of its target; a symlink with Mode 0 gets 0777.
	Mode uint32 `json:"mode"`
	UID  uint32 `json:"uid"`
	GID  uint32 `json:"gid"`
	// Linkname is a symlink's target (stored verbatim) or, for a hard link,
	// the archive path of the regular file it names.
	Linkname string `json:"linkname,omitempty"`
	// Major and Minor are a device node's number (rdev).
	Major uint32 `json:"major,omitempty"`
	Minor uint32 `json:"minor,omitempty"`
	// Size is a regular file's content length in bytes.
	Size int64 `json:"size,omitempty"`
}

// maxPath is the kernel's PATH_MAX, which bounds names (with their NUL)
// and symlink targets in an initramfs.
const maxPath = 4096

// CleanPath returns p as a clean absolute archive path ("/a/b"), or an
// error matching ErrName when p is empty, contains a NUL byte, has a ".."
// element, or is too long for the kernel. Repeated and trailing slashes and
// "." elements are dropped. The root is "/".
func CleanPath(p string) (string, error) {
	if p == "" {
		return "", &PathError{Path: p, Err: ErrName, Detail: "empty path"}
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", &PathError{Path: p, Err: ErrName, Detail: "NUL byte in path"}
	}
	var b strings.Builder
	b.Grow(len(p) + 1)
	for _, el := range strings.Split(p, "/") {
		switch el {
		case "", ".":
			continue
		case "..":
			return "", &PathError{Path: p, Err: ErrName, Detail: `".." element`}
		}
		b.WriteByte('/')
		b.WriteString(el)
	}
	if b.Len() == 0 {
		return "/", nil
	}
	c := b.String()
	if len(c) > maxPath-1 { // stored without the leading slash, plus a NUL
		return "", &PathError{Path: c[:64] + "…", Err: ErrName, Detail: fmt.Sprintf("%d bytes, the kernel takes at most %d", len(c)-1, maxPath-1)}
	}
	return c, nil
}
