package backup

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
	"unicode/utf8"
)

// Member names of the tar inside a backup.
const (
	headerName   = "fogkit-backup.json"
	manifestName = "fogkit-manifest.json"
	dataPrefix   = "data/"
	streamPrefix = "streams/"
)

// Caps on the JSON members, checked before they are read.
const (
	maxHeaderSize = 64 << 10
	// A manifest entry is at most a path (4 KiB), a target (4 KiB) and a
	// few hundred bytes of fields.
	maxEntryJSON = 9 << 10
)

// header is the first member: enough to refuse a backup before reading the
// rest.
type header struct {
	Format   int       `json:"format"`
	Product  string    `json:"product"`
	Version  string    `json:"version"`
	Sequence uint64    `json:"sequence"`
	Schema   int       `json:"schema,omitempty"`
	Created  time.Time `json:"created"`
}

func (h *header) manifest() *Manifest {
	return &Manifest{Format: h.Format, Product: h.Product, Version: h.Version, Sequence: h.Sequence, Schema: h.Schema, Created: h.Created}
}

// memberName is the tar name of a tree entry.
func memberName(e *Entry) string {
	if e.Path == "." {
		return dataPrefix
	}
	if e.Type == TypeDir {
		return dataPrefix + e.Path + "/"
	}
	return dataPrefix + e.Path
}

// unixMode converts Go's file mode to the Unix permission bits an Entry
// records.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

// goMode is the inverse of unixMode.
func goMode(u uint32) os.FileMode {
	m := os.FileMode(u & 0o777)
	if u&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	if u&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if u&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m
}

// validStreamName: one path element of [A-Za-z0-9._-], not "." or "..".
func validStreamName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 255 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validRel says whether p is a clean relative path that a backup can hold:
// valid UTF-8 (the manifest is JSON), no empty, "." or ".." elements, no
// control characters, at most 4096 bytes.
func validRel(p string) bool {
	if !fs.ValidPath(p) || p == "." || len(p) > 4096 || !utf8.ValidString(p) {
		return false
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// targetInside says whether the symlink target t of the entry at rel stays
// inside the tree however it is resolved: relative, with ".." elements only
// at its start and no more of them than rel's directory is deep. A ".."
// after a name could climb out of a directory another symlink points to, so
// it is refused even when the lexical path stays inside.
func targetInside(rel, t string) bool {
	if t == "" || path.IsAbs(t) || len(t) > 4096 || !utf8.ValidString(t) || strings.ContainsRune(t, 0) {
		return false
	}
	depth := strings.Count(rel, "/") // elements of rel's directory
	ups, named := 0, false
	for _, el := range strings.Split(t, "/") {
		switch el {
		case "..":
			if named {
				return false
			}
			ups++
		case "", ".":
		default:
			named = true
		}
	}
	return ups <= depth
}

func entryString(e *Entry) string {
	return fmt.Sprintf("%s %s mode %o uid %d gid %d mtime %d size %d sha256 %s target %q",
		e.Type, e.Path, e.Mode, e.UID, e.GID, e.ModTime.Unix(), e.Size, e.SHA256, e.Target)
}
