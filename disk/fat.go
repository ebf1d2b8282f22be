package disk

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf16"
)

// fatFS is a small read-only FAT32 reader (plus the in-place timestamp and
// volume-ID fix the builder needs). It trusts nothing it reads: every
// offset, chain and count is bounded.
type fatFS struct {
	r           io.ReaderAt
	base        int64 // partition offset in the image
	size        int64 // partition size
	bps         int64 // bytes per sector
	clusterSize int64
	dataStart   int64 // offset of cluster 2, relative to base
	nclusters   uint32
	root        uint32
	fat         []uint32 // entries 0 .. nclusters+1
	volID       uint32
}

const (
	maxFATBytes   = 64 << 20 // FAT table read into memory at most
	maxDirEntries = 1 << 16  // per directory
	maxTreeDepth  = 32
	maxTreeFiles  = 1 << 16
)

func fatErr(format string, a ...any) error {
	return &FormatError{What: "fat", Reason: fmt.Sprintf(format, a...), Err: ErrMalformed}
}

func openFAT(r io.ReaderAt, base, size int64) (*fatFS, error) {
	bs := make([]byte, 512)
	if _, err := r.ReadAt(bs, base); err != nil {
		return nil, fatErr("boot sector: %v", err)
	}
	le := binary.LittleEndian
	if bs[510] != 0x55 || bs[511] != 0xaa {
		return nil, fatErr("no boot sector signature")
	}
	f := &fatFS{r: r, base: base, size: size}
	f.bps = int64(le.Uint16(bs[11:]))
	spc := int64(bs[13])
	reserved := int64(le.Uint16(bs[14:]))
	nfats := int64(bs[16])
	rootEntries := le.Uint16(bs[17:])
	total := int64(le.Uint16(bs[19:]))
	if total == 0 {
		total = int64(le.Uint32(bs[32:]))
	}
	fatSz := int64(le.Uint16(bs[22:]))
	if fatSz == 0 {
		fatSz = int64(le.Uint32(bs[36:]))
	}
	f.root = le.Uint32(bs[44:])
	f.volID = le.Uint32(bs[67:])
	switch f.bps {
	case 512, 1024, 2048, 4096:
	default:
		return nil, fatErr("bytes per sector %d", f.bps)
	}
	if spc == 0 || spc&(spc-1) != 0 || reserved == 0 || nfats == 0 || nfats > 4 || rootEntries != 0 || fatSz == 0 {
		return nil, fatErr("not a FAT32 boot sector")
	}
	if total*f.bps > size {
		return nil, fatErr("file system (%d sectors) larger than its partition", total)
	}
	f.clusterSize = spc * f.bps
	f.dataStart = (reserved + nfats*fatSz) * f.bps
	if f.dataStart >= total*f.bps {
		return nil, fatErr("no data area")
	}
	n := (total*f.bps - f.dataStart) / f.clusterSize
	if n < 1 || n > 0x0ffffff5 {
		return nil, fatErr("cluster count %d", n)
	}
	if (n+2)*4 > fatSz*f.bps {
		return nil, fatErr("FAT too short for %d clusters", n)
	}
	if (n+2)*4 > maxFATBytes {
		return nil, fmt.Errorf("%w: FAT of %d clusters", ErrTooLarge, n)
	}
	f.nclusters = uint32(n)
	if f.root < 2 || f.root >= f.nclusters+2 {
		return nil, fatErr("root cluster %d", f.root)
	}
	raw := make([]byte, (n+2)*4)
	if _, err := r.ReadAt(raw, base+reserved*f.bps); err != nil {
		return nil, fatErr("FAT: %v", err)
	}
	f.fat = make([]uint32, n+2)
	for i := range f.fat {
		f.fat[i] = le.Uint32(raw[i*4:]) & 0x0fffffff
	}
	return f, nil
}

// chain returns the clusters of the chain of the file p starting at c, at
// most limit of them (the walker has already refused loops and shared
// clusters; the cap keeps a stray call bounded too).
func (f *fatFS) chain(p string, c uint32, limit int64) ([]uint32, error) {
	var out []uint32
	for {
		if c < 2 || c >= f.nclusters+2 {
			return nil, treeErr(p, c, ErrMalformed, "cluster %d out of range", c)
		}
		if int64(len(out)) >= limit || len(out) > int(f.nclusters) {
			return nil, treeErr(p, c, ErrMalformed, "cluster chain longer than %d clusters", len(out))
		}
		out = append(out, c)
		next := f.fat[c]
		if next >= 0x0ffffff8 {
			return out, nil
		}
		c = next
	}
}

func (f *fatFS) clusterOff(c uint32) int64 {
	return f.base + f.dataStart + int64(c-2)*f.clusterSize
}

// fatEntry is one short directory entry (with its long name, if any).
type fatEntry struct {
	name    string
	attr    byte
	cluster uint32
	size    uint32
	off     int64 // absolute offset of the 32-byte short entry
}

func (e fatEntry) isDir() bool   { return e.attr&0x10 != 0 }
func (e fatEntry) isLabel() bool { return e.attr&0x08 != 0 }
func (e fatEntry) isDot() bool   { return e.name == "." || e.name == ".." }

// walker is the state of one walk over the directory tree. It makes the
// walk's work proportional to the partition, however the entries are
// arranged: every cluster of every directory and file chain is claimed
// once, and a second claim (two files or directories sharing clusters, a
// chain or a directory looping back) is refused, so no byte is read or
// hashed twice. The directory bytes scanned are also checked against the
// partition size, and the entries read against maxTreeFiles.
type walker struct {
	f        *fatFS
	used     []uint64 // one bit per cluster
	dirBytes int64    // directory bytes read so far
	entries  int      // short entries read so far
}

func (f *fatFS) newWalker() *walker {
	return &walker{f: f, used: make([]uint64, (uint64(f.nclusters)+2+63)/64)}
}

func treeErr(p string, c uint32, target error, format string, a ...any) error {
	return &FATError{Path: p, Cluster: c, Reason: fmt.Sprintf(format, a...), Err: target}
}

// claim follows the chain at c for the file or directory p, marking each
// cluster used; a chain of more than limit clusters is refused with
// tooLong.
func (w *walker) claim(p string, c uint32, limit int64, tooLong func(n int64) error) ([]uint32, error) {
	f := w.f
	var out []uint32
	for {
		if c < 2 || c >= f.nclusters+2 {
			return nil, treeErr(p, c, ErrMalformed, "cluster %d out of range", c)
		}
		if w.used[c/64]&(1<<(c%64)) != 0 {
			for _, x := range out {
				if x == c {
					return nil, treeErr(p, c, ErrCrossLinked, "cluster chain loops back to cluster %d", c)
				}
			}
			return nil, treeErr(p, c, ErrCrossLinked, "cluster %d is also used by another file or directory", c)
		}
		if int64(len(out)) >= limit {
			return nil, tooLong(int64(len(out)))
		}
		w.used[c/64] |= 1 << (c % 64)
		out = append(out, c)
		next := f.fat[c]
		if next >= 0x0ffffff8 {
			return out, nil
		}
		c = next
	}
}

// claimFile claims the chain of a file of e.size bytes, which must have
// exactly the clusters the size needs.
func (w *walker) claimFile(p string, e fatEntry) error {
	if e.size == 0 {
		return nil // no data; the cluster, if any, is never read
	}
	need := (int64(e.size) + w.f.clusterSize - 1) / w.f.clusterSize
	cl, err := w.claim(p, e.cluster, need, func(n int64) error {
		return treeErr(p, 0, ErrMalformed, "cluster chain longer than its %d bytes", e.size)
	})
	if err != nil {
		return err
	}
	if int64(len(cl)) < need {
		return treeErr(p, 0, ErrMalformed, "chain of %d clusters for %d bytes", len(cl), e.size)
	}
	return nil
}

// readDir lists every short entry of the directory p at cluster c (dot
// entries and the volume label included), claiming its clusters.
func (w *walker) readDir(p string, c uint32) ([]fatEntry, error) {
	f := w.f
	maxClusters := (maxDirEntries*32 + f.clusterSize - 1) / f.clusterSize
	cl, err := w.claim(p, c, maxClusters, func(int64) error {
		return treeErr(p, 0, ErrTooLarge, "directory larger than %d entries", maxDirEntries)
	})
	if err != nil {
		return nil, err
	}
	var (
		out   []fatEntry
		lfn   []uint16
		lfnOK bool
		lsum  byte
		buf   = make([]byte, f.clusterSize)
	)
	for _, c := range cl {
		if w.dirBytes += f.clusterSize; w.dirBytes > f.size {
			return nil, treeErr(p, c, ErrMalformed, "directories span more than the partition's %d bytes", f.size)
		}
		if _, err := f.r.ReadAt(buf, f.clusterOff(c)); err != nil {
			return nil, treeErr(p, c, ErrMalformed, "directory cluster %d: %v", c, err)
		}
		for i := 0; i+32 <= len(buf); i += 32 {
			e := buf[i : i+32]
			switch {
			case e[0] == 0:
				return out, nil
			case e[0] == 0xe5:
				lfnOK = false
				continue
			case e[11]&0x3f == 0x0f: // long name part
				seq := int(e[0] & 0x1f)
				if e[0]&0x40 != 0 {
					lfn = make([]uint16, seq*13)
					lfnOK, lsum = seq > 0, e[13]
				}
				if !lfnOK || seq == 0 || seq*13 > len(lfn) || e[13] != lsum {
					lfnOK = false
					continue
				}
				q := lfn[(seq-1)*13:]
				for k, o := range []int{1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30} {
					q[k] = binary.LittleEndian.Uint16(e[o:])
				}
				continue
			}
			if w.entries++; w.entries > maxTreeFiles {
				return nil, treeErr(p, c, ErrTooLarge, "more than %d directory entries on the file system", maxTreeFiles)
			}
			if len(out) >= maxDirEntries {
				return nil, treeErr(p, c, ErrTooLarge, "directory larger than %d entries", maxDirEntries)
			}
			name := shortName(e)
			if lfnOK && lfnChecksum(e[:11]) == lsum {
				u := lfn
				for k, v := range u {
					if v == 0 {
						u = u[:k]
						break
					}
				}
				name = string(utf16.Decode(u))
			}
			lfnOK = false
			out = append(out, fatEntry{
				name:    name,
				attr:    e[11],
				cluster: uint32(binary.LittleEndian.Uint16(e[20:]))<<16 | uint32(binary.LittleEndian.Uint16(e[26:])),
				size:    binary.LittleEndian.Uint32(e[28:]),
				off:     f.clusterOff(c) + int64(i),
			})
		}
	}
	return out, nil
}

func shortName(e []byte) string {
	base := strings.TrimRight(string(e[0:8]), " ")
	ext := strings.TrimRight(string(e[8:11]), " ")
	if base != "" && base[0] == 0x05 {
		base = "\xe5" + base[1:]
	}
	if e[12]&0x08 != 0 {
		base = strings.ToLower(base)
	}
	if e[12]&0x10 != 0 {
		ext = strings.ToLower(ext)
	}
	if ext == "" {
		return base
	}
	return base + "." + ext
}

func lfnChecksum(b []byte) byte {
	var s byte
	for _, c := range b {
		s = (s>>1 | s<<7) + c
	}
	return s
}

// walk visits every entry below the root, depth first in directory order;
// fn gets the slash-separated path (empty for the label and dot entries of
// the root). A file's chain is claimed before fn sees it, and a
// directory's when it is read (see walker), so the whole walk reads at
// most the partition once.
func (f *fatFS) walk(fn func(p string, e fatEntry) error) error {
	w := f.newWalker()
	var rec func(dir string, c uint32, depth int) error
	rec = func(dir string, c uint32, depth int) error {
		if depth > maxTreeDepth {
			return treeErr(dir, 0, ErrTooLarge, "directories nested deeper than %d", maxTreeDepth)
		}
		ents, err := w.readDir(dir, c)
		if err != nil {
			return err
		}
		for _, e := range ents {
			p := e.name
			if dir != "" {
				p = dir + "/" + e.name
			}
			if !e.isLabel() && !e.isDot() {
				if e.name == "" || strings.ContainsAny(e.name, "/\\\x00") {
					return treeErr(p, 0, ErrMalformed, "invalid name %q", e.name)
				}
				if !e.isDir() {
					if err := w.claimFile(p, e); err != nil {
						return err
					}
				}
			}
			if err := fn(p, e); err != nil {
				return err
			}
			if e.isDir() && !e.isDot() && !e.isLabel() {
				if err := rec(p, e.cluster, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return rec("", f.root, 0)
}

// fileReader streams a file's clusters; p names it in errors.
func (f *fatFS) fileReader(p string, e fatEntry) (io.Reader, error) {
	if e.size == 0 {
		return strings.NewReader(""), nil
	}
	need := (int64(e.size) + f.clusterSize - 1) / f.clusterSize
	cl, err := f.chain(p, e.cluster, need)
	if err != nil {
		return nil, err
	}
	if int64(len(cl)) < need {
		return nil, treeErr(p, 0, ErrMalformed, "chain of %d clusters for %d bytes", len(cl), e.size)
	}
	rs := make([]io.Reader, 0, len(cl))
	left := int64(e.size)
	for i := 0; i < len(cl); {
		// merge contiguous clusters into one section
		j := i + 1
		for j < len(cl) && cl[j] == cl[j-1]+1 {
			j++
		}
		n := min(int64(j-i)*f.clusterSize, left)
		rs = append(rs, io.NewSectionReader(f.r, f.clusterOff(cl[i]), n))
		left -= n
		i = j
	}
	return io.MultiReader(rs...), nil
}

// fatTime encodes t as FAT date and time (2-second resolution), clamped to
// the FAT range 1980..2107.
func fatTime(t time.Time) (date, tm uint16, tenths byte) {
	t = t.UTC()
	if t.Year() < 1980 {
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if t.Year() > 2107 {
		t = time.Date(2107, 12, 31, 23, 59, 58, 0, time.UTC)
	}
	date = uint16(t.Year()-1980)<<9 | uint16(t.Month())<<5 | uint16(t.Day())
	tm = uint16(t.Hour())<<11 | uint16(t.Minute())<<5 | uint16(t.Second()/2)
	tenths = byte(t.Second()%2) * 100
	return
}

// stamp finishes a FAT32 file system written by go-diskfs (and mtools):
//   - every directory entry's times become t (go-diskfs and mtools use the
//     wall clock);
//   - ".." entries that point at the root directory get cluster 0, as the
//     FAT specification (and fsck.fat) require;
//   - the FSInfo free-cluster count and next-free hint are filled in
//     (go-diskfs leaves them "unknown");
//   - the volume serial number (boot sector and its backup) becomes volID.
func stamp(f *fatFS, w io.WriterAt, t time.Time, volID uint32) error {
	date, tm, tenths := fatTime(t)
	var b [13]byte // offsets 13..25 of an entry
	b[0] = tenths
	binary.LittleEndian.PutUint16(b[1:], tm)   // 14 create time
	binary.LittleEndian.PutUint16(b[3:], date) // 16 create date
	binary.LittleEndian.PutUint16(b[5:], date) // 18 access date
	err := f.walk(func(_ string, e fatEntry) error {
		ent := make([]byte, 32)
		if _, err := f.r.ReadAt(ent, e.off); err != nil {
			return err
		}
		copy(ent[13:20], b[:7])
		binary.LittleEndian.PutUint16(ent[22:], tm)
		binary.LittleEndian.PutUint16(ent[24:], date)
		if e.name == ".." && e.cluster == f.root {
			copy(ent[20:22], []byte{0, 0})
			copy(ent[26:28], []byte{0, 0})
		}
		_, err := w.WriteAt(ent, e.off)
		return err
	})
	if err != nil {
		return err
	}
	var free, next uint32
	for c := uint32(2); c < f.nclusters+2; c++ {
		if f.fat[c] == 0 {
			if free == 0 {
				next = c
			}
			free++
		}
	}
	bs := make([]byte, 512)
	if _, err := f.r.ReadAt(bs, f.base); err != nil {
		return err
	}
	if fsinfo := int64(binary.LittleEndian.Uint16(bs[48:])); fsinfo > 0 && fsinfo < 6 {
		var fi [8]byte
		binary.LittleEndian.PutUint32(fi[0:], free)
		binary.LittleEndian.PutUint32(fi[4:], next)
		for _, sec := range []int64{fsinfo, fsinfo + 6} {
			sig := make([]byte, 4)
			if _, err := f.r.ReadAt(sig, f.base+sec*f.bps+484); err != nil {
				return err
			}
			if string(sig) != "rrAa" {
				continue
			}
			if _, err := w.WriteAt(fi[:], f.base+sec*f.bps+488); err != nil {
				return err
			}
		}
	}
	var v [4]byte
	binary.LittleEndian.PutUint32(v[:], volID)
	for _, sec := range []int64{0, 6} {
		if _, err := w.WriteAt(v[:], f.base+sec*f.bps+67); err != nil {
			return err
		}
	}
	f.volID = volID
	return nil
}
