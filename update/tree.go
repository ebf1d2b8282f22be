package update

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Entry types in a tree.
const (
	TypeDir     = "dir"
	TypeFile    = "file"
	TypeSymlink = "symlink"
)

// Limits on names in trees.
const (
	MaxPathLen   = 4096
	MaxTargetLen = 4096
)

// Entry describes one entry of a file tree: a directory, a regular file or
// a symbolic link. Paths are slash-separated and relative to the tree's
// root, which is not itself an entry.
type Entry struct {
	Path   string `json:"path"`
	Type   string `json:"type"`
	Mode   uint32 `json:"mode"`             // permission bits, 0o7777 (0o777 for links)
	Size   int64  `json:"size,omitempty"`   // files
	SHA256 string `json:"sha256,omitempty"` // files: lower-case hex
	Target string `json:"target,omitempty"` // symlinks
}

// TreeDigest returns the canonical digest of a tree, "sha256:<hex>": the
// SHA-256 of "fogkit-tree-v1\n" followed, for every entry in byte order of
// its path, by one line
//
//	<type> <mode, octal> <path, Go-quoted> <size> <sha256 or -> <target, Go-quoted>
//
// Owners and times are not part of a tree. entries need not be sorted.
func TreeDigest(entries []Entry) string {
	sorted := append([]Entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	h := sha256.New()
	io.WriteString(h, "fogkit-tree-v1\n")
	var b []byte
	for _, e := range sorted {
		b = b[:0]
		b = append(b, e.Type...)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(e.Mode), 8)
		b = append(b, ' ')
		b = strconv.AppendQuote(b, e.Path)
		b = append(b, ' ')
		b = strconv.AppendInt(b, e.Size, 10)
		b = append(b, ' ')
		if e.SHA256 == "" {
			b = append(b, '-')
		} else {
			b = append(b, e.SHA256...)
		}
		b = append(b, ' ')
		b = strconv.AppendQuote(b, e.Target)
		b = append(b, '\n')
		h.Write(b)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// checkPath rejects anything but a clean relative slash path.
func checkPath(p string) error {
	switch {
	case len(p) > MaxPathLen:
		return &EntryError{Name: p[:64] + "...", Reason: "path too long", Err: ErrUnsafeEntry}
	case !fs.ValidPath(p) || p == ".":
		return &EntryError{Name: p, Reason: "not a clean relative path", Err: ErrUnsafeEntry}
	case strings.ContainsAny(p, "\\\x00"):
		return &EntryError{Name: p, Reason: "backslash or NUL in path", Err: ErrUnsafeEntry}
	}
	for _, c := range strings.Split(p, "/") {
		if len(c) > 255 {
			return &EntryError{Name: p, Reason: "path component too long", Err: ErrUnsafeEntry}
		}
	}
	return nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// checkTree validates a tree listing: clean unique paths in byte order,
// known types, parents present as directories, sane modes, sizes, hashes
// and link targets.
func checkTree(entries []Entry, maxFile int64) error {
	types := make(map[string]string, len(entries))
	for i, e := range entries {
		if err := checkPath(e.Path); err != nil {
			return err
		}
		if i > 0 && entries[i-1].Path >= e.Path {
			if entries[i-1].Path == e.Path {
				return &EntryError{Name: e.Path, Reason: "duplicate entry", Err: ErrUnsafeEntry}
			}
			return &EntryError{Name: e.Path, Reason: "entries not in path order", Err: ErrMalformed}
		}
		if dir := path.Dir(e.Path); dir != "." && types[dir] != TypeDir {
			return &EntryError{Name: e.Path, Reason: "parent is not a directory of the tree", Err: ErrUnsafeEntry}
		}
		if e.Mode&^0o7777 != 0 {
			return &EntryError{Name: e.Path, Reason: fmt.Sprintf("mode %o has more than permission bits", e.Mode), Err: ErrUnsafeEntry}
		}
		switch e.Type {
		case TypeDir:
			if e.Size != 0 || e.SHA256 != "" || e.Target != "" {
				return &EntryError{Name: e.Path, Reason: "directory with content", Err: ErrMalformed}
			}
		case TypeFile:
			if e.Size < 0 || e.Size > maxFile {
				return &EntryError{Name: e.Path, Reason: fmt.Sprintf("file size %d out of range (max %d)", e.Size, maxFile), Err: ErrTooLarge}
			}
			if !isHex64(e.SHA256) || e.Target != "" {
				return &EntryError{Name: e.Path, Reason: "file needs a sha256 and no target", Err: ErrMalformed}
			}
		case TypeSymlink:
			if e.Target == "" || len(e.Target) > MaxTargetLen || strings.IndexByte(e.Target, 0) >= 0 {
				return &EntryError{Name: e.Path, Reason: "bad link target", Err: ErrUnsafeEntry}
			}
			if e.Size != 0 || e.SHA256 != "" || e.Mode != 0o777 {
				return &EntryError{Name: e.Path, Reason: "symlink with content or mode", Err: ErrMalformed}
			}
		default:
			return &EntryError{Name: e.Path, Reason: fmt.Sprintf("type %q (only dir, file, symlink)", e.Type), Err: ErrUnsafeEntry}
		}
		types[e.Path] = e.Type
	}
	return nil
}

// modeBits converts an fs.FileMode's permission and special bits to the
// Unix 0o7777 form.
func modeBits(m fs.FileMode) uint32 {
	b := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		b |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		b |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		b |= 0o1000
	}
	return b
}

// fileMode converts Unix 0o7777 bits back to an fs.FileMode.
func fileMode(b uint32) fs.FileMode {
	m := fs.FileMode(b & 0o777)
	if b&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if b&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if b&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// ScanTree lists and hashes the tree in fsys (for example os.DirFS(dir)),
// sorted by path. Symbolic links are recorded, not followed (fsys must
// implement fs.ReadLinkFS to carry them). Device nodes, FIFOs and sockets
// give ErrUnsupported.
func ScanTree(fsys fs.FS) ([]Entry, error) {
	var out []Entry
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if err := checkPath(p); err != nil {
			return err
		}
		info, err := fs.Lstat(fsys, p)
		if err != nil {
			return err
		}
		e := Entry{Path: p, Mode: modeBits(info.Mode())}
		switch t := info.Mode().Type(); {
		case t == 0:
			e.Type = TypeFile
			f, err := fsys.Open(p)
			if err != nil {
				return err
			}
			h := sha256.New()
			n, err := io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
			e.Size, e.SHA256 = n, hex.EncodeToString(h.Sum(nil))
		case t == fs.ModeDir:
			e.Type = TypeDir
		case t == fs.ModeSymlink:
			e.Type, e.Mode = TypeSymlink, 0o777
			if e.Target, err = fs.ReadLink(fsys, p); err != nil {
				return err
			}
		default:
			return &EntryError{Name: p, Reason: "device, FIFO or socket", Err: ErrUnsupported}
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}
