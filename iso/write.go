package iso

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"time"
)

// Write writes the image of spec to w, in one pass without seeking: the
// layout comes from the sizes first (host files are stat'ed, the BIOS
// loader is read to compute its boot info table), then every byte is
// written in order. The same spec, file contents and options give the same
// bytes.
func Write(ctx context.Context, w io.Writer, spec *Spec, o *Options) (*Result, error) {
	var opts Options
	if o != nil {
		opts = *o
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l, err := plan(spec, !opts.NoRockRidge)
	if err != nil {
		return nil, err
	}
	mod := opts.ModTime
	if mod.IsZero() {
		mod = time.Unix(0, 0)
	}
	res := &Result{Size: int64(l.total) * blockSize}
	sys, tail := hybrid(l, opts.Seed, res)
	res.Boot = l.bootEntries()
	for _, f := range l.files {
		fi := FileInfo{Name: l.name(f), From: f.src.from, LBA: f.lba, Size: f.size}
		if fi.Name != f.path {
			fi.ISO = f.path
		}
		res.Files = append(res.Files, fi)
	}

	h := sha256.New()
	cw := &countWriter{w: w, h: h}
	event := func(stage, file string) {
		if opts.Progress != nil {
			opts.Progress(Event{Stage: stage, File: file, Done: cw.n, Total: res.Size})
		}
	}
	if _, err := cw.Write(sys); err != nil {
		return nil, err
	}
	if _, err := cw.Write(l.descriptors(mod)); err != nil {
		return nil, err
	}
	if l.boot {
		if err := cw.padTo(int64(l.catalogLBA) * blockSize); err != nil {
			return nil, err
		}
		if _, err := cw.Write(l.catalog()); err != nil {
			return nil, err
		}
	}
	lt, mt := l.pathTables()
	for _, b := range []struct {
		lba  uint32
		data []byte
	}{{l.ptL, lt}, {l.ptM, mt}} {
		if err := cw.padTo(int64(b.lba) * blockSize); err != nil {
			return nil, err
		}
		if _, err := cw.Write(b.data); err != nil {
			return nil, err
		}
	}
	date := recDate(mod)
	for _, d := range l.dirs {
		if err := cw.padTo(int64(d.lba) * blockSize); err != nil {
			return nil, err
		}
		if _, err := cw.Write(l.extent(d, date)); err != nil {
			return nil, err
		}
	}
	buf := make([]byte, 256<<10)
	for _, f := range l.files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := cw.padTo(int64(f.lba) * blockSize); err != nil {
			return nil, err
		}
		event("write", f.src.from)
		if err := copyFile(ctx, cw, f, buf); err != nil {
			return nil, fmt.Errorf("%s: %w", f.src.from, err)
		}
	}
	if err := cw.padTo(res.Size - int64(len(tail))); err != nil {
		return nil, err
	}
	if _, err := cw.Write(tail); err != nil {
		return nil, err
	}
	if cw.n != res.Size {
		return nil, fmt.Errorf("iso: internal error: wrote %d bytes of %d", cw.n, res.Size)
	}
	res.SHA256 = h.Sum(nil)
	event("done", "")
	return res, nil
}

// copyFile writes exactly f.size bytes of the file's source.
func copyFile(ctx context.Context, w io.Writer, f *node, buf []byte) error {
	s := f.src
	if s.data != nil {
		_, err := w.Write(s.data)
		return err
	}
	r := s.r
	if s.path != "" {
		fh, err := os.Open(s.path)
		if err != nil {
			return err
		}
		defer fh.Close()
		r = fh
	}
	left := f.size
	for left > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.ReadFull(r, buf[:min(int64(len(buf)), left)])
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			left -= int64(n)
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("%w: %d bytes missing", ErrShortInput, left)
			}
			return err
		}
	}
	return nil
}

type countWriter struct {
	w    io.Writer
	h    hash.Hash
	n    int64
	zero []byte
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// padTo writes zeros up to offset off.
func (c *countWriter) padTo(off int64) error {
	if off < c.n {
		return fmt.Errorf("iso: internal error: at %d, asked to pad to %d", c.n, off)
	}
	if c.zero == nil {
		c.zero = make([]byte, 64<<10)
	}
	for c.n < off {
		if _, err := c.Write(c.zero[:min(int64(len(c.zero)), off-c.n)]); err != nil {
			return err
		}
	}
	return nil
}

// descriptors returns the volume descriptors from block 16: the primary,
// the El Torito boot record, the terminator.
func (l *layout) descriptors(mod time.Time) []byte {
	n := 2
	if l.boot {
		n = 3
	}
	b := make([]byte, n*blockSize)
	p := b[:blockSize]
	p[0] = 1
	copy(p[1:], "CD001")
	p[6] = 1
	fillStr(p[8:40], "")
	fillStr(p[40:72], l.volumeID)
	putBoth32(p[80:], l.total)
	putBoth16(p[120:], 1)
	putBoth16(p[124:], 1)
	putBoth16(p[128:], blockSize)
	putBoth32(p[132:], l.ptSize)
	le.PutUint32(p[140:], l.ptL)
	be.PutUint32(p[148:], l.ptM)
	putDirRecord(p[156:], []byte{0}, l.root.lba, uint32(l.root.size), true, recDate(mod), nil)
	fillStr(p[190:318], "")
	fillStr(p[318:446], "")
	fillStr(p[446:574], "")
	fillStr(p[574:702], "FOGKIT")
	fillStr(p[702:813], "")
	d := volDate(mod)
	copy(p[813:], d[:])
	copy(p[830:], d[:])
	z := noDate()
	copy(p[847:], z[:])
	copy(p[864:], z[:])
	p[881] = 1
	next := b[blockSize:]
	if l.boot {
		next[0] = 0
		copy(next[1:], "CD001")
		next[6] = 1
		copy(next[7:], elToritoID)
		le.PutUint32(next[71:], l.catalogLBA)
		next = next[blockSize:]
	}
	next[0] = 255
	copy(next[1:], "CD001")
	next[6] = 1
	return b
}

// bootEntries lists the catalog's entries: the BIOS loader as the default
// entry and the EFI image in a final section of platform 0xEF, or the EFI
// image alone as the default entry (as xorriso writes both).
func (l *layout) bootEntries() []BootEntry {
	var out []BootEntry
	if l.loader != nil {
		out = append(out, BootEntry{Platform: PlatformBIOS, Bootable: true, Sectors: l.loadSecs, LBA: l.loader.lba, File: l.name(l.loader)})
	}
	if l.efi != nil {
		out = append(out, BootEntry{Platform: PlatformEFI, Bootable: true, Sectors: efiSectors(l.efi.size), LBA: l.efi.lba, File: l.name(l.efi)})
	}
	return out
}

func (l *layout) catalog() []byte {
	b := make([]byte, blockSize)
	ents := l.bootEntries()
	v := validationEntry(ents[0].Platform)
	copy(b, v[:])
	e := bootEntryBytes(ents[0].Sectors, ents[0].LBA)
	copy(b[32:], e[:])
	if len(ents) > 1 {
		s := b[64:]
		s[0] = sectionFinal
		s[1] = ents[1].Platform
		le.PutUint16(s[2:], 1)
		e := bootEntryBytes(ents[1].Sectors, ents[1].LBA)
		copy(b[96:], e[:])
	}
	return b
}

// pathTables returns the L (little-endian) and M (big-endian) path tables.
func (l *layout) pathTables() (lt, mt []byte) {
	lt = make([]byte, l.ptSize)
	mt = make([]byte, l.ptSize)
	off := 0
	for _, d := range l.dirs {
		id := []byte(d.ident)
		parent := 1
		if d.parent != nil {
			parent = d.parent.num
		} else {
			id = []byte{0}
		}
		for _, t := range []struct {
			b   []byte
			ord interface {
				PutUint32([]byte, uint32)
				PutUint16([]byte, uint16)
			}
		}{{lt, le}, {mt, be}} {
			r := t.b[off:]
			r[0] = byte(len(id))
			t.ord.PutUint32(r[2:], d.lba)
			t.ord.PutUint16(r[6:], uint16(parent))
			copy(r[8:], id)
		}
		off += ptRecordLen(d)
	}
	return lt, mt
}

// extent returns a directory's records.
func (l *layout) extent(d *node, date [7]byte) []byte {
	b := make([]byte, d.size)
	parent := d
	if d.parent != nil {
		parent = d.parent
	}
	off := putDirRecord(b, []byte{0}, d.lba, uint32(d.size), true, date, l.sysUse(d, recDot, date))
	off += putDirRecord(b[off:], []byte{1}, parent.lba, uint32(parent.size), true, date, l.sysUse(parent, recDotDot, date))
	for _, c := range d.children {
		su := l.sysUse(c, recChild, date)
		n := recordLen(len(c.ident), len(su))
		if off%blockSize+n > blockSize {
			off = (off/blockSize + 1) * blockSize
		}
		putDirRecord(b[off:], []byte(c.ident), c.lba, uint32(c.size), c.dir, date, su)
		off += n
	}
	return b
}
