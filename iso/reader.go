package iso

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode/utf16"
)

// Reader limits: hostile images cannot make Open read or keep more.
const (
	maxDescriptors = 64       // volume descriptors before the terminator
	maxDirBytes    = 64 << 20 // directory extents read in total
	maxEntries     = 200000   // directory records kept
	maxCatalog     = 8        // blocks of the El Torito catalog read
	maxGPTEntries  = 1 << 20  // bytes of GPT entry array
	// MaxReadFile is the largest file ReadFile returns; Open streams any.
	MaxReadFile = 256 << 20
)

// Info describes an image.
type Info struct {
	VolumeID string `json:"volumeID"`
	SystemID string `json:"systemId,omitempty"`
	// Blocks is the volume space size in 2048-byte blocks.
	Blocks     uint32      `json:"blocks"`
	CatalogLBA uint32      `json:"catalogLba,omitempty"`
	Boot       []BootEntry `json:"boot"`
	MBR        *MBRInfo    `json:"mbr,omitempty"`
	GPT        *GPTInfo    `json:"gpt,omitempty"`
	// Files lists the directories and files, sorted by name.
	Files []FileInfo `json:"files"`
}

// MBRInfo is the hybrid MBR.
type MBRInfo struct {
	Signature uint32 `json:"signature"`
	// BootCode says the first 432 bytes hold code (isohdpfx.bin).
	BootCode bool `json:"bootCode"`
	// BootLBA is the isohybrid loader address at byte 432, in 512-byte
	// sectors (with BootCode).
	BootLBA    uint32      `json:"bootLba,omitempty"`
	Partitions []Partition `json:"partitions"`
}

// GPTInfo is the hybrid GPT (from the primary header).
type GPTInfo struct {
	DiskGUID    string      `json:"diskGUID"`
	FirstUsable int64       `json:"firstUsable"`
	LastUsable  int64       `json:"lastUsable"`
	BackupLBA   int64       `json:"backupLba"`
	BackupOK    bool        `json:"backupOk"` // the backup header is there and valid
	Partitions  []Partition `json:"partitions"`
}

// Image is an opened ISO 9660 image.
type Image struct {
	r     io.ReaderAt
	size  int64
	info  Info
	files map[string]*entry // by path as listed
	isos  map[string]*entry // by upper-case ISO 9660 path
}

type entry struct {
	path    string // Rock Ridge names where there are, else ISO 9660 ones
	iso     string // ISO 9660 path
	dir     bool
	extents []extent
}

type extent struct {
	off, size int64 // bytes
}

func (e *entry) size() int64 {
	var n int64
	for _, x := range e.extents {
		n += x.size
	}
	return n
}

// Open reads the volume descriptors, the whole directory tree, the El
// Torito catalog and the hybrid MBR and GPT of an image of size bytes
// (this package's, xorriso's, genisoimage's). It refuses malformed ones
// with a *FormatError; the work and memory it spends are bounded by the
// limits above whatever the image declares. Files have their Rock Ridge
// names where the image has them (NM entries in the directory records;
// names continued in a continuation area fall back to the ISO 9660 name),
// else their ISO 9660 names; Joliet is not read.
func Open(r io.ReaderAt, size int64) (*Image, error) {
	im := &Image{r: r, size: size, files: map[string]*entry{}, isos: map[string]*entry{}}
	if size < (systemArea+2)*blockSize {
		return nil, formatErr(ErrTruncated, 0, "image", "%d bytes, too small for an ISO 9660 volume", size)
	}
	var pvd, bootRec []byte
	for i := range maxDescriptors + 1 {
		if i == maxDescriptors {
			return nil, formatErr(ErrMalformed, int64(systemArea+i)*blockSize, "volume descriptors", "no terminator among %d", maxDescriptors)
		}
		off := int64(systemArea+i) * blockSize
		b, err := im.read(off, blockSize, "volume descriptor")
		if err != nil {
			return nil, err
		}
		if string(b[1:6]) != "CD001" || b[6] != 1 {
			return nil, formatErr(ErrMalformed, off, "volume descriptor", "no CD001 signature")
		}
		switch b[0] {
		case 255:
		case 1:
			if pvd == nil {
				pvd = b
			}
		case 0:
			if bootRec == nil && string(b[7:7+len(elToritoID)]) == elToritoID {
				bootRec = b
			}
		}
		if b[0] == 255 {
			break
		}
	}
	if pvd == nil {
		return nil, formatErr(ErrMalformed, systemArea*blockSize, "primary volume descriptor", "missing")
	}
	const pvdOff = systemArea * blockSize
	if bs := le.Uint16(pvd[128:]); bs != blockSize {
		return nil, formatErr(ErrUnsupported, pvdOff+128, "logical block size", "%d (want 2048)", bs)
	}
	im.info.VolumeID = strings.TrimRight(string(pvd[40:72]), " \x00")
	im.info.SystemID = strings.TrimRight(string(pvd[8:40]), " \x00")
	im.info.Blocks = le.Uint32(pvd[80:])
	if err := im.readTree(pvd[156:190], pvdOff+156); err != nil {
		return nil, err
	}
	if bootRec != nil {
		if err := im.readCatalog(le.Uint32(bootRec[71:])); err != nil {
			return nil, err
		}
	}
	if err := im.readMBR(); err != nil {
		return nil, err
	}
	if err := im.readGPT(); err != nil {
		return nil, err
	}
	return im, nil
}

// read reads n bytes at off or reports the structure as truncated.
func (im *Image) read(off int64, n int, what string) ([]byte, error) {
	if off < 0 || off+int64(n) > im.size {
		return nil, formatErr(ErrTruncated, off, what, "%d bytes past the image's end", off+int64(n)-im.size)
	}
	b := make([]byte, n)
	if _, err := im.r.ReadAt(b, off); err != nil && !(errors.Is(err, io.EOF)) {
		return nil, fmt.Errorf("iso: read %s at %d: %w", what, off, err)
	} else if err != nil {
		return nil, formatErr(ErrTruncated, off, what, "the reader ended early")
	}
	return b, nil
}

// record is one parsed directory record.
type record struct {
	off        int64 // where the record is, for errors
	lba, size  uint32
	ea         uint8
	flags      uint8
	ident      []byte
	interleave bool
}

func parseRecord(b []byte, off int64) (record, error) {
	n := int(b[0])
	if n < 34 || n > len(b) {
		return record{}, formatErr(ErrMalformed, off, "directory record", "length %d", n)
	}
	fi := int(b[32])
	if fi == 0 || 33+fi > n {
		return record{}, formatErr(ErrMalformed, off, "directory record", "identifier length %d in a record of %d", fi, n)
	}
	return record{off: off, lba: le.Uint32(b[2:]), size: le.Uint32(b[10:]), ea: b[1], flags: b[25],
		ident: b[33 : 33+fi], interleave: b[26] != 0 || b[27] != 0}, nil
}

// readTree walks the directories breadth first from the root record.
func (im *Image) readTree(rootRec []byte, off int64) error {
	root, err := parseRecord(rootRec, off)
	if err != nil {
		return err
	}
	if root.flags&2 == 0 {
		return formatErr(ErrMalformed, off, "root directory record", "not a directory")
	}
	type dir struct {
		rec       record
		path, iso string
		depth     int
	}
	rr, skip := false, 0 // Rock Ridge, from the root's "." record
	queue := []dir{{rec: root}}
	visited := map[uint32]bool{}
	var dirBytes int64
	nEntries := 0
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if visited[d.rec.lba] {
			return formatErr(ErrMalformed, d.rec.off, "directory record", "directory extent %d reached twice (a loop or a shared directory)", d.rec.lba)
		}
		visited[d.rec.lba] = true
		start := int64(d.rec.lba) * blockSize
		size := int64(d.rec.size)
		if size == 0 || start < (systemArea+1)*blockSize || start+size > im.size {
			return formatErr(ErrMalformed, d.rec.off, "directory record", "directory extent of %d bytes at block %d outside the image", size, d.rec.lba)
		}
		if dirBytes += size; dirBytes > maxDirBytes {
			return formatErr(ErrTooLarge, d.rec.off, "directories", "more than %d bytes of directory records", maxDirBytes)
		}
		var pending []extent // a multi-extent file's extents so far
		for bo := int64(0); bo < size; bo += blockSize {
			b, err := im.read(start+bo, int(min(blockSize, size-bo)), "directory")
			if err != nil {
				return err
			}
			for o := 0; o < len(b) && b[o] != 0; {
				rec, err := parseRecord(b[o:], start+bo+int64(o))
				if err != nil {
					return err
				}
				rlen := int(b[o])
				su := b[min(o+dirRecordLen(len(rec.ident)), o+rlen) : o+rlen]
				o += rlen
				if len(rec.ident) == 1 && rec.ident[0] <= 1 {
					if d.depth == 0 && bo == 0 && rec.ident[0] == 0 && len(su) >= 7 &&
						string(su[:2]) == "SP" && su[4] == 0xBE && su[5] == 0xEF {
						rr, skip = true, int(su[6])
					}
					continue // "." and ".."
				}
				if bytes.ContainsAny(rec.ident, "/\x00") {
					return formatErr(ErrMalformed, rec.off, "directory record", "identifier %q", rec.ident)
				}
				if nEntries++; nEntries > maxEntries {
					return formatErr(ErrTooLarge, rec.off, "directories", "more than %d entries", maxEntries)
				}
				isoName := visibleName(string(rec.ident))
				name := isoName
				if rr && len(su) > skip {
					nm, ok := rrName(su[skip:])
					if !ok {
						return formatErr(ErrMalformed, rec.off, "Rock Ridge", "system use entries of %q", isoName)
					}
					if nm == "." || nm == ".." || strings.ContainsAny(nm, "/\x00") {
						return formatErr(ErrMalformed, rec.off, "Rock Ridge", "name %q", nm)
					}
					if nm != "" {
						name = nm
					}
				}
				p, ip := name, isoName
				if d.path != "" {
					p, ip = d.path+"/"+name, d.iso+"/"+isoName
				}
				if rec.flags&2 != 0 {
					if d.depth+1 > maxDepth {
						return formatErr(ErrMalformed, rec.off, "directory record", "directories nested deeper than %d", maxDepth)
					}
					queue = append(queue, dir{rec: rec, path: p, iso: ip, depth: d.depth + 1})
					im.add(&entry{path: p, iso: ip, dir: true, extents: []extent{{int64(rec.lba) * blockSize, int64(rec.size)}}})
					continue
				}
				if rec.interleave {
					return formatErr(ErrUnsupported, rec.off, "directory record", "interleaved file %q", name)
				}
				x := extent{(int64(rec.lba) + int64(rec.ea)) * blockSize, int64(rec.size)}
				if x.size > 0 && x.off+x.size > im.size {
					return formatErr(ErrTruncated, rec.off, "directory record", "file %q extends %d bytes past the image", name, x.off+x.size-im.size)
				}
				pending = append(pending, x)
				if len(pending) > 4096 {
					return formatErr(ErrTooLarge, rec.off, "directory record", "file %q has more than 4096 extents", name)
				}
				if rec.flags&0x80 != 0 {
					continue // more extents follow
				}
				im.add(&entry{path: p, iso: ip, extents: pending})
				pending = nil
			}
		}
		if len(pending) > 0 {
			return formatErr(ErrMalformed, start, "directory", "multi-extent file without its last extent")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(im.files)) {
		e := im.files[k]
		fi := FileInfo{Name: e.path, Size: e.size(), Dir: e.dir}
		if e.iso != e.path {
			fi.ISO = e.iso
		}
		if len(e.extents) > 0 {
			fi.LBA = uint32(e.extents[0].off / blockSize)
		}
		im.info.Files = append(im.info.Files, fi)
	}
	return nil
}

// add keeps the first entry of a name (a later version of it is ignored).
func (im *Image) add(e *entry) {
	if _, ok := im.files[e.path]; !ok {
		im.files[e.path] = e
	}
	k := strings.ToUpper(e.iso)
	if _, ok := im.isos[k]; !ok {
		im.isos[k] = e
	}
}

// readCatalog parses the El Torito boot catalog at block lba.
func (im *Image) readCatalog(lba uint32) error {
	off := int64(lba) * blockSize
	if lba < systemArea || off >= im.size {
		return formatErr(ErrMalformed, systemArea*blockSize+71, "boot record", "catalog at block %d outside the image", lba)
	}
	n := min(int64(maxCatalog*blockSize), (im.size-off)/32*32)
	if n < 64 {
		return formatErr(ErrTruncated, off, "boot catalog", "the image ends inside it")
	}
	b, err := im.read(off, int(n), "boot catalog")
	if err != nil {
		return err
	}
	im.info.CatalogLBA = lba
	if b[0] != 1 || b[30] != 0x55 || b[31] != 0xAA {
		return formatErr(ErrMalformed, off, "boot catalog", "no validation entry")
	}
	var sum uint16
	for i := 0; i < 32; i += 2 {
		sum += le.Uint16(b[i:])
	}
	if sum != 0 {
		return formatErr(ErrChecksum, off, "boot catalog", "validation entry checksum")
	}
	platform := b[1]
	byLBA := map[uint32]string{}
	for _, e := range im.files {
		if !e.dir && len(e.extents) > 0 {
			byLBA[uint32(e.extents[0].off/blockSize)] = e.path
		}
	}
	entryAt := func(i int, platform byte) error {
		e := b[32*i:]
		if e[0] != entryBootable && e[0] != entryNoBoot {
			return formatErr(ErrMalformed, off+int64(32*i), "boot catalog", "boot indicator 0x%02x", e[0])
		}
		if e[1]&0x0f > 4 {
			return formatErr(ErrMalformed, off+int64(32*i), "boot catalog", "media type %d", e[1]&0x0f)
		}
		be := BootEntry{Platform: platform, Bootable: e[0] == entryBootable, Emulation: e[1] & 0x0f,
			LoadSegment: le.Uint16(e[2:]), Sectors: le.Uint16(e[6:]), LBA: le.Uint32(e[8:])}
		if int64(be.LBA)*blockSize >= im.size {
			return formatErr(ErrMalformed, off+int64(32*i)+8, "boot catalog", "boot image at block %d outside the image", be.LBA)
		}
		be.File = byLBA[be.LBA]
		im.info.Boot = append(im.info.Boot, be)
		return nil
	}
	if err := entryAt(1, platform); err != nil {
		return err
	}
	// Sections: a header (0x90, or 0x91 for the last) with its entry count,
	// its entries, each possibly followed by extension entries (0x44).
	i := 2
	nEntries := len(b) / 32
	for i < nEntries {
		h := b[32*i:]
		if h[0] != sectionMore && h[0] != sectionFinal {
			break // the catalog's end (zeros)
		}
		count := int(le.Uint16(h[2:]))
		platform := h[1]
		i++
		for range count {
			for i < nEntries && b[32*i] == sectionExtended {
				i++
			}
			if i >= nEntries {
				return formatErr(ErrMalformed, off+int64(32*i), "boot catalog", "section declares %d entries past the catalog", count)
			}
			if err := entryAt(i, platform); err != nil {
				return err
			}
			i++
		}
		if h[0] == sectionFinal {
			break
		}
	}
	return nil
}

func (im *Image) readMBR() error {
	b, err := im.read(0, sectorSize, "MBR")
	if err != nil {
		return err
	}
	if b[510] != 0x55 || b[511] != 0xAA {
		return nil
	}
	m := &MBRInfo{Signature: le.Uint32(b[mbrSigOff:]), Partitions: []Partition{}}
	m.BootCode = !bytes.Equal(b[:mbrBootLBAOff], make([]byte, mbrBootLBAOff))
	if m.BootCode {
		m.BootLBA = le.Uint32(b[mbrBootLBAOff:])
	}
	secs := im.size / sectorSize
	for i := range 4 {
		e := b[mbrTableOff+16*i:]
		start, n := int64(le.Uint32(e[8:])), int64(le.Uint32(e[12:]))
		if e[4] == 0 && n == 0 {
			continue
		}
		off := int64(mbrTableOff + 16*i)
		if e[0] != 0 && e[0] != 0x80 {
			return formatErr(ErrMalformed, off, "MBR partition", "status 0x%02x", e[0])
		}
		if n == 0 || start+n > secs {
			return formatErr(ErrMalformed, off, "MBR partition", "sectors %d+%d outside the image of %d", start, n, secs)
		}
		m.Partitions = append(m.Partitions, Partition{Index: i + 1, Type: fmt.Sprintf("0x%02x", e[4]),
			Bootable: e[0] == 0x80, Start: start, Sectors: n})
	}
	im.info.MBR = m
	return nil
}

// gptHeader checks a GPT header at sector lba and returns it.
func (im *Image) gptHeader(lba int64) ([]byte, error) {
	off := lba * sectorSize
	h, err := im.read(off, sectorSize, "GPT header")
	if err != nil {
		return nil, err
	}
	if string(h[:8]) != "EFI PART" {
		return nil, nil
	}
	hs := le.Uint32(h[12:])
	if hs < gptHeaderSize || hs > sectorSize {
		return nil, formatErr(ErrMalformed, off+12, "GPT header", "header size %d", hs)
	}
	c := bytes.Clone(h[:hs])
	clear(c[16:20])
	if crc32.ChecksumIEEE(c) != le.Uint32(h[16:]) {
		return nil, formatErr(ErrChecksum, off+16, "GPT header", "CRC-32")
	}
	if int64(le.Uint64(h[24:])) != lba {
		return nil, formatErr(ErrMalformed, off+24, "GPT header", "says it is at sector %d", le.Uint64(h[24:]))
	}
	return h, nil
}

func (im *Image) readGPT() error {
	h, err := im.gptHeader(1)
	if err != nil || h == nil {
		return err
	}
	const off = sectorSize
	secs := uint64(im.size / sectorSize)
	n, es := le.Uint32(h[80:]), le.Uint32(h[84:])
	entLBA := le.Uint64(h[72:])
	if es < 128 || es%8 != 0 || uint64(n)*uint64(es) > maxGPTEntries {
		return formatErr(ErrMalformed, off+80, "GPT header", "%d entries of %d bytes", n, es)
	}
	if entLBA < 2 || entLBA >= secs {
		return formatErr(ErrMalformed, off+72, "GPT header", "entry array at sector %d", entLBA)
	}
	first, last, alt := le.Uint64(h[40:]), le.Uint64(h[48:]), le.Uint64(h[32:])
	if first > last || last >= secs {
		return formatErr(ErrMalformed, off+40, "GPT header", "usable sectors %d..%d in an image of %d", first, last, secs)
	}
	arr, err := im.read(int64(entLBA)*sectorSize, int(n*es), "GPT entries")
	if err != nil {
		return err
	}
	if crc32.ChecksumIEEE(arr) != le.Uint32(h[88:]) {
		return formatErr(ErrChecksum, int64(entLBA)*sectorSize, "GPT entries", "CRC-32")
	}
	g := &GPTInfo{DiskGUID: guidString(h[56:72]), FirstUsable: int64(first), LastUsable: int64(last),
		BackupLBA: int64(alt), Partitions: []Partition{}}
	var zero [16]byte
	for i := range int(n) {
		e := arr[i*int(es):]
		if bytes.Equal(e[:16], zero[:]) {
			continue
		}
		s, l := le.Uint64(e[32:]), le.Uint64(e[40:])
		if s > l || l >= secs {
			return formatErr(ErrMalformed, int64(entLBA)*sectorSize+int64(i)*int64(es), "GPT entry", "sectors %d..%d outside the image of %d", s, l, secs)
		}
		u := make([]uint16, 0, 36)
		for j := 56; j+1 < 128; j += 2 {
			c := le.Uint16(e[j:])
			if c == 0 {
				break
			}
			u = append(u, c)
		}
		g.Partitions = append(g.Partitions, Partition{Index: i + 1, Type: guidString(e[:16]), Start: int64(s),
			Sectors: int64(l - s + 1), Name: string(utf16.Decode(u)), GUID: guidString(e[16:32])})
	}
	if alt > 1 && alt < secs {
		if bh, err := im.gptHeader(int64(alt)); err == nil && bh != nil && le.Uint32(bh[88:]) == le.Uint32(h[88:]) {
			g.BackupOK = true
		}
	}
	im.info.GPT = g
	return nil
}

// Info returns what Open read.
func (im *Image) Info() Info {
	info := im.info
	info.Boot = slices.Clone(info.Boot)
	info.Files = slices.Clone(info.Files)
	if info.MBR != nil {
		m := *info.MBR
		m.Partitions = slices.Clone(m.Partitions)
		info.MBR = &m
	}
	if info.GPT != nil {
		g := *info.GPT
		g.Partitions = slices.Clone(g.Partitions)
		info.GPT = &g
	}
	return info
}

// Size is the image size given to Open.
func (im *Image) Size() int64 { return im.size }

func (im *Image) lookup(name string) (*entry, error) {
	n := strings.Trim(name, "/")
	if e := im.files[n]; e != nil {
		return e, nil
	}
	if e := im.isos[strings.ToUpper(n)]; e != nil {
		return e, nil
	}
	if m, err := MapName(n); err == nil {
		if e := im.isos[m]; e != nil {
			return e, nil
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
}

// Open returns a reader of the named file: its path as Info lists it, its
// ISO 9660 path (any case), or the name given to Write (mapped with
// MapName).
func (im *Image) Open(name string) (*io.SectionReader, error) {
	e, err := im.lookup(name)
	if err != nil {
		return nil, err
	}
	if e.dir {
		return nil, fmt.Errorf("%w: %s is a directory", ErrInvalid, name)
	}
	x := e.extents[0]
	for _, y := range e.extents[1:] {
		if y.off != x.off+x.size {
			return nil, fmt.Errorf("%w: %s: fragmented multi-extent file", ErrUnsupported, name)
		}
		x.size += y.size
	}
	if x.size > 0 && x.off+x.size > im.size {
		return nil, formatErr(ErrTruncated, x.off, "file", "%s extends past the image", name)
	}
	return io.NewSectionReader(im.r, x.off, x.size), nil
}

// ReadFile returns the named file's bytes (at most MaxReadFile).
func (im *Image) ReadFile(name string) ([]byte, error) {
	sr, err := im.Open(name)
	if err != nil {
		return nil, err
	}
	if sr.Size() > MaxReadFile {
		return nil, fmt.Errorf("%w: %s is %d bytes (ReadFile reads at most %d; use Open)", ErrTooLarge, name, sr.Size(), MaxReadFile)
	}
	b := make([]byte, sr.Size())
	if _, err := io.ReadFull(sr, b); err != nil {
		return nil, fmt.Errorf("iso: read %s: %w", name, err)
	}
	return b, nil
}
