package rootfs

import (
	"context"
	"fmt"
	"io"
)

// DefaultArchiveMaxBytes caps the content AddArchive holds in memory when
// ReaderOptions.MaxBytes is zero.
const DefaultArchiveMaxBytes = 1 << 30

// AddArchive adds every entry of an archive read with NewReader (any
// compression, concatenated members included), so a vendor can start from
// a base layer and change it. Later entries replace earlier ones, as in
// the kernel. Regular files sharing an inode within a member become hard
// links to the first name. Modes, owners, device numbers and symlink
// targets are kept; mtimes are not (Options.ModTime applies).
//
// File content is held in memory, so opts.MaxBytes bounds it: when zero,
// AddArchive uses DefaultArchiveMaxBytes (1 GiB) rather than the reader's
// 16 GiB, so a small compressed bomb cannot take the machine's memory.
// Each file's buffer is allocated once, at its declared size, after that
// size is checked against what is left of MaxBytes; the names kept are
// bounded by MaxNameBytes. A limit that is hit yields a *LimitError.
func (b *Builder) AddArchive(ctx context.Context, r io.Reader, opts *ReaderOptions) error {
	o := ReaderOptions{}
	if opts != nil {
		o = *opts
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultArchiveMaxBytes
	}
	rd := NewReader(r, &o)
	var names int64
	type inode struct {
		member            int
		ino, major, minor uint32
	}
	first := map[inode]string{}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		e := h.Entry
		if names += int64(len(e.Path) + len(e.Linkname)); names > rd.opts.MaxNameBytes {
			return limitErr("MaxNameBytes", rd.opts.MaxNameBytes, e.Path)
		}
		if e.Type != TypeFile {
			if e.Path == "/" {
				continue
			}
			if err := b.Add(e); err != nil {
				return err
			}
			continue
		}
		// Reading the data counts it against MaxBytes, so a size beyond
		// what is left would fail anyway: fail before allocating it.
		if e.Size > rd.opts.MaxBytes-rd.total {
			return limitErr("MaxBytes", rd.opts.MaxBytes, e.Path)
		}
		data := make([]byte, e.Size)
		if _, err := io.ReadFull(rd, data); err != nil {
			return err
		}
		if h.Nlink > 1 {
			k := inode{h.Member, h.Ino, h.DevMajor, h.DevMinor}
			if p, ok := first[k]; ok {
				if err := b.Add(Entry{Path: e.Path, Type: TypeHardlink, Linkname: p}); err != nil {
					return err
				}
				if len(data) > 0 { // the data may come with any name of the group
					t := b.nodes[p]
					if t == nil || t.Type != TypeFile {
						return &PathError{Path: e.Path, Err: ErrHardlink, Detail: fmt.Sprintf("first name %s was replaced", p)}
					}
					te := t.Entry
					if err := b.AddFile(te, data); err != nil {
						return err
					}
				}
				continue
			}
			first[k] = e.Path
		}
		if err := b.AddFile(e, data); err != nil {
			return err
		}
	}
}
