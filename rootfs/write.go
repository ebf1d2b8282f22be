package rootfs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// planned is one entry as it will be written.
type planned struct {
	*node
	ino   uint32
	nlink uint32
	mode  uint32 // type and permission bits
	uid   uint32
	gid   uint32
	data  *node // content source (the hard link target), nil if none
	size  int64 // bytes of data written with this entry
}

// Validate runs the checks WriteTo runs before writing anything: /init,
// names, sizes, device numbers, hard links, parents, mtime. It returns the
// first problem as a *PathError (or an error matching ErrModTime).
func (b *Builder) Validate() error {
	_, err := b.plan()
	return err
}

func (b *Builder) mtime() (uint32, error) {
	t := b.opts.ModTime
	if t.IsZero() {
		return 0, nil
	}
	s := t.Unix()
	if s < 0 || s > 0xFFFFFFFF {
		return 0, fmt.Errorf("%w: %s", ErrModTime, t.UTC().Format("2006-01-02T15:04:05Z"))
	}
	return uint32(s), nil
}

// plan sorts the entries, adds missing parents, resolves hard links and
// assigns inode numbers.
func (b *Builder) plan() ([]*planned, error) {
	if _, err := b.mtime(); err != nil {
		return nil, err
	}
	all := make(map[string]*node, len(b.nodes)+16)
	for p, n := range b.nodes {
		all[p] = n
	}
	// Missing parents become 0755 root directories: the kernel never
	// creates them and silently drops entries below a missing directory.
	for p := range b.nodes {
		if b.opts.OmitParents {
			break
		}
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			if _, ok := all[d]; ok {
				break
			}
			all[d] = &node{Entry: Entry{Path: d, Type: TypeDir, Mode: 0o755}}
		}
	}
	paths := make([]string, 0, len(all))
	for p := range all {
		paths = append(paths, p)
	}
	sort.Strings(paths) // parents sort before their children

	// Parents must be directories.
	for _, p := range paths {
		if d := path.Dir(p); d != "/" {
			if pn, ok := all[d]; ok && pn.Type != TypeDir {
				return nil, &PathError{Path: p, Err: ErrNotDir, Detail: fmt.Sprintf("%s is a %s", d, pn.Type)}
			}
		}
	}
	// Resolve hard links to their regular file.
	target := map[string]*node{} // hard link path -> regular file node
	for _, p := range paths {
		n := all[p]
		if n.Type != TypeHardlink {
			continue
		}
		t := n
		for hops := 0; t.Type == TypeHardlink; hops++ {
			next, ok := all[t.Linkname]
			if !ok {
				return nil, &PathError{Path: p, Err: ErrHardlink, Detail: fmt.Sprintf("target %s does not exist", t.Linkname)}
			}
			if hops > 40 {
				return nil, &PathError{Path: p, Err: ErrHardlink, Detail: "hard link loop"}
			}
			t = next
		}
		if t.Type != TypeFile {
			return nil, &PathError{Path: p, Err: ErrHardlink, Detail: fmt.Sprintf("target %s is a %s", n.Linkname, t.Type)}
		}
		target[p] = t
	}
	if !b.opts.AllowNoInit {
		if err := checkInit(all); err != nil {
			return nil, err
		}
	}
	// Group members: a regular file plus the links to it. The last member
	// in archive order carries the data (as gen_init_cpio and GNU cpio do).
	groups := map[*node][]string{}
	for _, p := range paths {
		n := all[p]
		switch {
		case n.Type == TypeFile:
			groups[n] = append(groups[n], p)
		case n.Type == TypeHardlink:
			t := target[p]
			groups[t] = append(groups[t], p)
		}
	}
	subdirs := map[string]uint32{}
	for _, p := range paths {
		if all[p].Type == TypeDir {
			subdirs[path.Dir(p)]++
		}
	}
	out := make([]*planned, 0, len(paths))
	ino := uint32(0)
	groupIno := map[*node]uint32{}
	for _, p := range paths {
		n := all[p]
		pl := &planned{node: n, nlink: 1, mode: n.Type.modeBits() | n.Mode, uid: n.UID, gid: n.GID}
		switch n.Type {
		case TypeDir:
			pl.nlink = 2 + subdirs[p]
		case TypeFile, TypeHardlink:
			t := n
			if n.Type == TypeHardlink {
				t = target[p]
			}
			g := groups[t]
			pl.nlink = uint32(len(g))
			pl.mode, pl.uid, pl.gid = modeReg|t.Mode, t.UID, t.GID
			if g[len(g)-1] == p {
				pl.data, pl.size = t, t.Size
			}
			if i, ok := groupIno[t]; ok {
				pl.ino = i
				out = append(out, pl)
				continue
			}
			ino++
			groupIno[t] = ino
			pl.ino = ino
			out = append(out, pl)
			continue
		case TypeSymlink:
			pl.size = int64(len(n.Linkname))
		}
		ino++
		pl.ino = ino
		out = append(out, pl)
	}
	return out, nil
}

// checkInit follows /init through symlinks and hard links inside the
// archive to an executable regular file.
func checkInit(all map[string]*node) error {
	p := "/init"
	for hops := 0; hops < 40; hops++ {
		n, ok := all[p]
		if !ok {
			if p == "/init" {
				return &PathError{Path: "/init", Err: ErrNoInit, Detail: "no such entry"}
			}
			return &PathError{Path: "/init", Err: ErrNoInit, Detail: "resolves to missing " + p}
		}
		switch n.Type {
		case TypeFile:
			if n.Mode&0o111 == 0 {
				return &PathError{Path: "/init", Err: ErrNoInit, Detail: fmt.Sprintf("%s has mode %04o", p, n.Mode)}
			}
			return nil
		case TypeHardlink:
			p = n.Linkname
		case TypeSymlink:
			t := n.Linkname
			if !strings.HasPrefix(t, "/") {
				t = path.Join(path.Dir(p), t)
			}
			p = path.Clean("/" + t)
		default:
			return &PathError{Path: "/init", Err: ErrNoInit, Detail: fmt.Sprintf("%s is a %s", p, n.Type)}
		}
	}
	return &PathError{Path: "/init", Err: ErrNoInit, Detail: "too many links"}
}

// WriteTo writes the archive, compressed as Options say, to w. It
// implements io.WriterTo and returns the bytes written to w.
func (b *Builder) WriteTo(w io.Writer) (int64, error) {
	st, err := b.Write(context.Background(), w)
	return st.Bytes, err
}

// Write validates the entries, then writes the archive to w: entries
// sorted by path (parents first), missing parents as 0755 root directories,
// inode numbers in order, every mtime from Options, a TRAILER!!! entry, and
// zero padding to a multiple of 512 bytes, compressed as Options say.
// Nothing is written when validation fails. ctx is checked per entry.
func (b *Builder) Write(ctx context.Context, w io.Writer) (Stats, error) {
	var st Stats
	plan, err := b.plan()
	if err != nil {
		return st, err
	}
	mtime, _ := b.mtime()
	cw := &countWriter{w: w}
	comp, err := newCompressor(cw, &b.opts)
	if err != nil {
		return st, err
	}
	nw := newNewcWriter(comp)
	for i, pl := range plan {
		if err := ctx.Err(); err != nil {
			comp.Abort()
			return st, err
		}
		if err := nw.writeEntry(pl, mtime); err != nil {
			comp.Abort()
			return st, err
		}
		if b.opts.Progress != nil {
			b.opts.Progress(Event{Stage: "write", File: pl.Path, Done: int64(i + 1), Total: int64(len(plan)), Written: nw.n})
		}
	}
	if err := nw.finish(); err != nil {
		comp.Abort()
		return st, err
	}
	if err := comp.Close(); err != nil {
		return st, err
	}
	st.Entries = len(plan)
	st.ArchiveBytes = nw.n
	st.Bytes = cw.n
	return st, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// newcWriter writes cpio newc entries.
type newcWriter struct {
	bw  *bufio.Writer
	n   int64 // bytes written
	hdr [110]byte
}

func newNewcWriter(w io.Writer) *newcWriter {
	return &newcWriter{bw: bufio.NewWriterSize(w, 256<<10)}
}

var zeros [512]byte

const hexDigits = "0123456789ABCDEF"

func putHex(b []byte, v uint32) {
	for i := 7; i >= 0; i-- {
		b[i] = hexDigits[v&0xf]
		v >>= 4
	}
}

// header writes one newc header and name (with NUL and padding).
func (nw *newcWriter) header(name string, ino, mode, uid, gid, nlink, mtime, size, rmaj, rmin uint32) error {
	h := nw.hdr[:]
	copy(h, "070701")
	for i, v := range []uint32{ino, mode, uid, gid, nlink, mtime, size, 0, 0, rmaj, rmin, uint32(len(name) + 1), 0} {
		putHex(h[6+8*i:], v)
	}
	if _, err := nw.bw.Write(h); err != nil {
		return err
	}
	if _, err := nw.bw.WriteString(name); err != nil {
		return err
	}
	n := int64(len(h) + len(name) + 1)
	pad := (4 - n%4) % 4
	if _, err := nw.bw.Write(zeros[:1+pad]); err != nil {
		return err
	}
	nw.n += n + pad
	return nil
}

func (nw *newcWriter) pad4(size int64) error {
	pad := (4 - size%4) % 4
	_, err := nw.bw.Write(zeros[:pad])
	nw.n += pad
	return err
}

func (nw *newcWriter) writeEntry(pl *planned, mtime uint32) error {
	name := pl.Path[1:] // stored without the leading slash, like gen_init_cpio
	if err := nw.header(name, pl.ino, pl.mode, pl.uid, pl.gid, pl.nlink, mtime, uint32(pl.size), pl.Major, pl.Minor); err != nil {
		return err
	}
	switch {
	case pl.Type == TypeSymlink:
		if _, err := nw.bw.WriteString(pl.Linkname); err != nil {
			return err
		}
	case pl.data != nil && pl.size > 0:
		if err := nw.copyData(pl.Path, pl.data); err != nil {
			return err
		}
	}
	nw.n += pl.size
	return nw.pad4(pl.size)
}

func (nw *newcWriter) copyData(p string, n *node) error {
	if n.src.open == nil {
		if int64(len(n.src.data)) != n.Size {
			return pathErr(p, ErrSizeMismatch, "have %d bytes, declared %d", len(n.src.data), n.Size)
		}
		_, err := nw.bw.Write(n.src.data)
		return err
	}
	rc, err := n.src.open()
	if err != nil {
		return &PathError{Path: p, Err: err, Detail: "open content"}
	}
	defer rc.Close()
	got, err := io.Copy(nw.bw, io.LimitReader(rc, n.Size))
	if err != nil {
		return fmt.Errorf("rootfs: %s: %w", p, err)
	}
	if got != n.Size {
		return pathErr(p, ErrSizeMismatch, "content ended after %d of %d bytes", got, n.Size)
	}
	var one [1]byte
	if n.src.shared {
		return nil // the caller's reader may go on past this file
	}
	if k, _ := io.ReadFull(rc, one[:]); k != 0 {
		return pathErr(p, ErrSizeMismatch, "content is longer than %d bytes", n.Size)
	}
	return nil
}

// finish writes the trailer and pads the archive to 512 bytes.
func (nw *newcWriter) finish() error {
	if err := nw.header("TRAILER!!!", 0, 0, 0, 0, 1, 0, 0, 0, 0); err != nil {
		return err
	}
	if pad := (512 - nw.n%512) % 512; pad > 0 {
		if _, err := nw.bw.Write(zeros[:pad]); err != nil {
			return err
		}
		nw.n += pad
	}
	return nw.bw.Flush()
}
