package rootfs

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options control how a Builder writes its archive. The zero value (and a
// nil *Options) means: mtime Unix 0, no compression, /init required.
type Options struct {
	// ModTime is every entry's mtime. Zero means Unix 0 (1970-01-01); see
	// SourceDateEpoch for the usual reproducible-builds convention.
	ModTime time.Time `json:"modTime"`
	// Compression of the output: CompressNone (or ""), CompressGzip or CompressZstd.
	Compression Compression `json:"compression,omitempty"`
	// Level is the compression level: gzip 1–9 (default 6), zstd 1–22
	// (default 3, mapped to klauspost/compress's nearest encoder level).
	Level int `json:"level,omitempty"`
	// Workers bounds the compression workers (0 = GOMAXPROCS). The
	// output bytes never depend on it.
	Workers int `json:"workers,omitempty"`
	// AllowNoInit turns off the check that /init exists and is executable
	// (for overlays meant to be concatenated onto a base).
	AllowNoInit bool `json:"allowNoInit,omitempty"`
	// OmitParents leaves out the 0755 root directories otherwise added for
	// missing parents: for overlays whose directories come from a base
	// archive (an implied parent would reset the base's mode and owner).
	// The kernel silently drops entries whose parent does not exist.
	OmitParents bool `json:"omitParents,omitempty"`
	// Progress, when set, is called synchronously after each entry is written.
	Progress func(Event) `json:"-"`
}

// Event reports write progress.
type Event struct {
	Stage   string `json:"stage"`          // always "write"
	File    string `json:"file,omitempty"` // path of the entry just written
	Done    int64  `json:"done"`           // entries written so far
	Total   int64  `json:"total"`          // entries in the archive (without the trailer)
	Written int64  `json:"written"`        // uncompressed archive bytes written so far
}

// Stats summarises a written archive.
type Stats struct {
	Entries      int   `json:"entries"`      // entries written, implied parents included, trailer excluded
	ArchiveBytes int64 `json:"archiveBytes"` // uncompressed cpio bytes, padding included
	Bytes        int64 `json:"bytes"`        // bytes written to the io.Writer
}

// SourceDateEpoch reads the SOURCE_DATE_EPOCH environment variable. It
// returns ok=false when the variable is unset, and an error matching
// ErrModTime when it is not a decimal number of seconds in the newc range.
func SourceDateEpoch() (t time.Time, ok bool, err error) {
	s, ok := os.LookupEnv("SOURCE_DATE_EPOCH")
	if !ok || s == "" {
		return time.Time{}, false, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > 0xFFFFFFFF {
		return time.Time{}, false, fmt.Errorf("%w: SOURCE_DATE_EPOCH=%q", ErrModTime, s)
	}
	return time.Unix(v, 0).UTC(), true, nil
}

// source yields a regular file's content at write time.
type source struct {
	data []byte                        // in-memory content, or
	open func() (io.ReadCloser, error) // opened when the entry is written
	// shared: the reader belongs to the caller (AddReader), so nothing is
	// read past the declared size.
	shared bool
}

type node struct {
	Entry
	src source
}

// Builder collects entries and writes them as a cpio newc archive. Adding
// a path that already exists replaces the earlier entry (layering). The
// order of Add calls never changes the output. A Builder is not safe for
// concurrent use.
type Builder struct {
	opts  Options
	nodes map[string]*node
}

// New returns an empty Builder. opts is copied; nil means defaults.
func New(opts *Options) *Builder {
	b := &Builder{nodes: map[string]*node{}}
	if opts != nil {
		b.opts = *opts
	}
	return b
}

// Len returns the number of entries added (implied parents not counted).
func (b *Builder) Len() int { return len(b.nodes) }

// Entries returns the added entries sorted by path (implied parents not
// included).
func (b *Builder) Entries() []Entry {
	out := make([]Entry, 0, len(b.nodes))
	for _, n := range b.nodes {
		out = append(out, n.Entry)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Remove deletes path and everything below it. It reports whether anything
// was removed.
func (b *Builder) Remove(path string) bool {
	p, err := CleanPath(path)
	if err != nil {
		return false
	}
	removed := false
	for k := range b.nodes {
		if k == p || p == "/" || strings.HasPrefix(k, p+"/") {
			delete(b.nodes, k)
			removed = true
		}
	}
	return removed
}

// Add adds an entry without content: a directory, symlink, hard link,
// device, FIFO, socket, or an empty regular file. Adding the root "/" is a
// no-op: the kernel's rootfs already exists.
func (b *Builder) Add(e Entry) error {
	if e.Type == TypeFile && e.Size != 0 {
		return &PathError{Path: e.Path, Err: ErrSizeMismatch, Detail: "Add of a regular file takes no content; use AddFile, AddReader or AddOpener"}
	}
	return b.add(e, source{data: []byte{}})
}

// AddFile adds a regular file holding data (e.Type and e.Size are set from
// it). data is not copied: do not modify it until the archive is written.
func (b *Builder) AddFile(e Entry, data []byte) error {
	e.Type, e.Size = TypeFile, int64(len(data))
	if data == nil {
		data = []byte{}
	}
	return b.add(e, source{data: data})
}

// AddReader adds a regular file of e.Size bytes read from r when the
// archive is written. r can be consumed only once: a second write fails
// with ErrSourceUsed. Use AddOpener for content that can be read again.
func (b *Builder) AddReader(e Entry, r io.Reader) error {
	var mu sync.Mutex
	used := false
	open := func() (io.ReadCloser, error) {
		mu.Lock()
		defer mu.Unlock()
		if used {
			return nil, ErrSourceUsed
		}
		used = true
		return io.NopCloser(r), nil
	}
	e.Type = TypeFile
	if e.Size < 0 {
		return &PathError{Path: e.Path, Err: ErrSizeMismatch, Detail: "negative size"}
	}
	return b.add(e, source{open: open, shared: true})
}

// AddOpener adds a regular file of e.Size bytes whose content open returns
// when the archive is written; it is called once per write and its reader
// closed after e.Size bytes have been copied.
func (b *Builder) AddOpener(e Entry, open func() (io.ReadCloser, error)) error {
	if open == nil {
		return &PathError{Path: e.Path, Err: ErrSizeMismatch, Detail: "nil opener"}
	}
	e.Type = TypeFile
	if e.Size < 0 {
		return &PathError{Path: e.Path, Err: ErrSizeMismatch, Detail: "negative size"}
	}
	return b.add(e, source{open: open})
}

// AddHostFile adds the host file at hostPath as the regular file e.Path
// with e's mode and owner. Its size is taken now; its content is streamed
// when the archive is written (a size change by then is an error).
func (b *Builder) AddHostFile(e Entry, hostPath string) error {
	st, err := os.Stat(hostPath)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return &PathError{Path: e.Path, Err: ErrType, Detail: hostPath + " is not a regular file"}
	}
	e.Size = st.Size()
	return b.AddOpener(e, func() (io.ReadCloser, error) { return os.Open(hostPath) })
}

func (b *Builder) add(e Entry, src source) error {
	p, err := CleanPath(e.Path)
	if err != nil {
		return err
	}
	if int(e.Type) >= len(typeNames) {
		return &PathError{Path: p, Err: ErrType, Detail: fmt.Sprint(uint8(e.Type))}
	}
	e.Path = p
	e.Mode &= modePerm
	if e.Type != TypeFile {
		e.Size = 0
	}
	switch e.Type {
	case TypeHardlink:
		t, err := CleanPath(e.Linkname)
		if err != nil {
			return &PathError{Path: p, Err: ErrHardlink, Detail: fmt.Sprintf("target %q: %v", e.Linkname, err)}
		}
		e.Linkname = t
	case TypeSymlink:
		if err := checkTarget(p, e.Linkname); err != nil {
			return err
		}
		if e.Mode == 0 {
			e.Mode = 0o777 // what the kernel and ln -s give symlinks
		}
	case TypeChar, TypeBlock:
		if e.Major >= 1<<12 || e.Minor >= 1<<20 {
			return &PathError{Path: p, Err: ErrDevice, Detail: fmt.Sprintf("%d,%d", e.Major, e.Minor)}
		}
	default:
		e.Linkname = ""
	}
	if e.Type != TypeChar && e.Type != TypeBlock {
		e.Major, e.Minor = 0, 0
	}
	if e.Type == TypeFile && e.Size > maxFileSize {
		return &PathError{Path: p, Err: ErrTooLarge, Detail: fmt.Sprintf("%d bytes", e.Size)}
	}
	if p == "/" {
		if e.Type == TypeDir {
			return nil
		}
		return &PathError{Path: p, Err: ErrName, Detail: "the root can only be a directory"}
	}
	b.nodes[p] = &node{Entry: e, src: src}
	return nil
}

const maxFileSize = 0xFFFFFFFF

func checkTarget(p, target string) error {
	switch {
	case target == "":
		return &PathError{Path: p, Err: ErrName, Detail: "empty symlink target"}
	case strings.IndexByte(target, 0) >= 0:
		return &PathError{Path: p, Err: ErrName, Detail: "NUL byte in symlink target"}
	case len(target) >= maxPath:
		return &PathError{Path: p, Err: ErrName, Detail: fmt.Sprintf("symlink target of %d bytes", len(target))}
	}
	return nil
}

// TreeOptions control AddFS and AddHostDir.
type TreeOptions struct {
	// Prefix is the archive directory the tree lands in (default "/").
	Prefix string `json:"prefix,omitempty"`
	// KeepOwners keeps the host uid/gid (when the file system reports
	// them); otherwise every entry is owned by 0:0.
	KeepOwners bool `json:"keepOwners,omitempty"`
	// Hook, when set, sees each entry before it is added and may change its
	// mode, owner or path (not its type). Returning false skips the entry (and, for a
	// directory, everything below it).
	Hook func(e *Entry) bool `json:"-"`
}

// AddHostDir adds the host directory tree at dir: regular files (streamed
// at write time), directories, symlinks (kept as symlinks), device nodes,
// FIFOs and sockets, with their permission bits. Files sharing an inode
// become hard links to the first of them in path order.
func (b *Builder) AddHostDir(ctx context.Context, dir string, opts *TreeOptions) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("rootfs: %s is not a directory", dir)
	}
	return b.AddFS(ctx, os.DirFS(dir), opts)
}

// AddFS adds every file of fsys (an embed.FS, os.DirFS, fstest.MapFS…).
// Symlinks are kept when fsys implements fs.ReadLinkFS. Modes come from
// fs.FileInfo; owners, device numbers and hard links come from the host
// when FileInfo.Sys() carries them (as os.DirFS does on Linux). Content is
// read when the archive is written.
func (b *Builder) AddFS(ctx context.Context, fsys fs.FS, opts *TreeOptions) error {
	var o TreeOptions
	if opts != nil {
		o = *opts
	}
	prefix := "/"
	if o.Prefix != "" {
		p, err := CleanPath(o.Prefix)
		if err != nil {
			return err
		}
		prefix = p
	}
	// Hard links: the first path (in WalkDir's lexical order) holding an
	// inode is the file, later ones link to it.
	type inodeKey struct{ dev, ino uint64 }
	seen := map[inodeKey]string{}
	return fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		p := prefix
		if name != "." {
			p = strings.TrimSuffix(prefix, "/") + "/" + name
		}
		m := info.Mode()
		e := Entry{Path: p, Mode: uint32(m.Perm())}
		if m&fs.ModeSetuid != 0 {
			e.Mode |= 0o4000
		}
		if m&fs.ModeSetgid != 0 {
			e.Mode |= 0o2000
		}
		if m&fs.ModeSticky != 0 {
			e.Mode |= 0o1000
		}
		hs, hasHost := hostStat(info)
		if o.KeepOwners && hasHost {
			e.UID, e.GID = hs.uid, hs.gid
		}
		switch {
		case m.IsDir():
			e.Type = TypeDir
		case m.IsRegular():
			e.Type, e.Size = TypeFile, info.Size()
		case m&fs.ModeSymlink != 0:
			e.Type = TypeSymlink
			t, err := fs.ReadLink(fsys, name)
			if err != nil {
				return fmt.Errorf("rootfs: read symlink %s: %w", name, err)
			}
			e.Linkname = t
		case m&fs.ModeDevice != 0:
			e.Type = TypeBlock
			if m&fs.ModeCharDevice != 0 {
				e.Type = TypeChar
			}
			if hasHost {
				e.Major, e.Minor = hs.major, hs.minor
			}
		case m&fs.ModeNamedPipe != 0:
			e.Type = TypeFIFO
		case m&fs.ModeSocket != 0:
			e.Type = TypeSocket
		default:
			return &PathError{Path: p, Err: ErrType, Detail: m.String()}
		}
		if o.Hook != nil && !o.Hook(&e) {
			if m.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if e.Type == TypeFile && hasHost && hs.nlink > 1 {
			k := inodeKey{hs.dev, hs.ino}
			if first, ok := seen[k]; ok {
				return b.Add(Entry{Path: e.Path, Type: TypeHardlink, Linkname: first})
			}
			seen[k] = e.Path
		}
		switch e.Type {
		case TypeFile:
			n := name
			return b.AddOpener(e, func() (io.ReadCloser, error) { return fsys.Open(n) })
		default:
			return b.Add(e)
		}
	})
}
