package iso

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

const (
	blockSize   = 2048
	systemArea  = 16 // blocks before the first volume descriptor
	maxFileSize = 1<<32 - 1
	maxLoader   = 1 << 20
	// mibBlocks: the image is padded to whole MiB, as xorriso's
	// cylinder alignment (64 heads × 32 sectors) does, so the MBR
	// partition ends on a cylinder.
	mibBlocks = 512
	// gptTailBlocks hold the backup GPT: 128 entries (32 sectors) and the
	// header, rounded up to blocks.
	gptEntries    = 128
	gptTailBlocks = (gptEntries*128/512 + 1 + 3) / 4
)

// node is a directory or file of the tree being written.
type node struct {
	ident    string // identifier as stored
	rrName   string // the component as given (Rock Ridge NM)
	rrPath   string // the path of Rock Ridge names
	key      [2]string
	path     string // visible ISO path
	dir      bool
	parent   *node
	children []*node
	num      int    // path table number (directories)
	lba      uint32 // extent
	size     int64  // files: data bytes; directories: extent bytes
	src      *source
}

// source is where a file's bytes come from.
type source struct {
	from   string // the name given
	path   string
	r      io.Reader
	data   []byte // the loader, read whole and patched
	loader bool
}

type layout struct {
	volumeID   string
	root       *node
	dirs       []*node // path table order
	files      []*node // data order
	boot       bool
	catalogLBA uint32
	ptSize     uint32
	ptL, ptM   uint32
	dataEnd    uint32 // first block after the file data
	total      uint32 // blocks of the image
	gpt        bool
	loader     *node
	efi        *node
	loadSecs   uint16
	hybridMBR  []byte
	rr         bool // Rock Ridge
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// plan checks the spec and lays the image out from the sizes alone.
func plan(spec *Spec, rr bool) (*layout, error) {
	if spec == nil {
		return nil, invalid("nil spec")
	}
	l := &layout{root: &node{dir: true}, rr: rr}
	// fits says whether a record of this identifier and name fits.
	fits := func(ident, name string) bool {
		return !rr || recordLen(len(ident), pxLen+tfLen+5+len(name)) <= maxRecord
	}
	l.volumeID = DefaultVolumeID
	if spec.VolumeID != "" {
		l.volumeID = dchars(spec.VolumeID)
	}
	if len(l.volumeID) > 32 {
		return nil, invalid("volume id %q longer than 32 characters", spec.VolumeID)
	}
	dirs := map[string]*node{"": l.root}
	files := map[string]*node{}
	add := func(f File, defName string, loader bool) (*node, error) {
		name := f.Name
		if name == "" {
			name = defName
		}
		if name == "" {
			return nil, invalid("file without a name")
		}
		if (f.Path == "") == (f.R == nil) {
			return nil, invalid("%s: exactly one of Path and R", name)
		}
		size := f.Size
		if f.Path != "" {
			st, err := os.Stat(f.Path)
			if err != nil {
				return nil, err
			}
			if !st.Mode().IsRegular() {
				return nil, invalid("%s: %s is not a regular file", name, f.Path)
			}
			size = st.Size()
		}
		if size < 0 {
			return nil, invalid("%s: negative size", name)
		}
		if size > maxFileSize {
			return nil, fmt.Errorf("%w: %s: %d bytes (ISO 9660 files are below 4 GiB)", ErrTooLarge, name, size)
		}
		parts, reason := splitName(name)
		if reason != "" {
			return nil, &NameError{Name: name, Reason: reason}
		}
		parent := l.root
		for _, p := range parts[:len(parts)-1] {
			id, r := mapDir(p)
			if r != "" {
				return nil, &NameError{Name: name, ISO: id, Reason: r}
			}
			vis := strings.Join(append(pathOf(parent), id), "/")
			d := dirs[vis]
			if d == nil {
				if !fits(id, p) {
					return nil, &NameError{Name: name, ISO: vis, Reason: "a component too long for its Rock Ridge name"}
				}
				if f := files[vis]; f != nil {
					return nil, &NameError{Name: name, ISO: vis, Other: f.src.from}
				}
				d = &node{ident: id, rrName: p, rrPath: joinPath(parent.rrPath, p), key: [2]string{id, ""}, path: vis, dir: true, parent: parent}
				parent.children = append(parent.children, d)
				dirs[vis] = d
			}
			parent = d
		}
		id, vis, r := mapFile(parts[len(parts)-1])
		full := strings.Join(append(pathOf(parent), vis), "/")
		if r != "" {
			return nil, &NameError{Name: name, ISO: full, Reason: r}
		}
		if !fits(id, parts[len(parts)-1]) {
			return nil, &NameError{Name: name, ISO: full, Reason: "a component too long for its Rock Ridge name"}
		}
		if o := files[full]; o != nil {
			return nil, &NameError{Name: name, ISO: full, Other: o.src.from}
		}
		if dirs[full] != nil {
			return nil, &NameError{Name: name, ISO: full, Other: "a directory of " + full}
		}
		base, ext, _ := strings.Cut(strings.TrimSuffix(id, ";1"), ".")
		n := &node{ident: id, rrName: parts[len(parts)-1], rrPath: joinPath(parent.rrPath, parts[len(parts)-1]),
			key: [2]string{base, ext}, path: full, parent: parent, size: size,
			src: &source{from: name, path: f.Path, r: f.R, loader: loader}}
		if loader {
			b, err := readLoader(f, size)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			n.src.data = b
		}
		parent.children = append(parent.children, n)
		files[full] = n
		return n, nil
	}
	if b := spec.BIOS; b != nil {
		l.boot = true
		switch {
		case b.LoadSectors == 0:
			l.loadSecs = 4
		case b.LoadSectors < 1 || b.LoadSectors > 0xffff:
			return nil, invalid("BIOS load sectors %d (want 1..65535)", b.LoadSectors)
		default:
			l.loadSecs = uint16(b.LoadSectors)
		}
		if len(b.HybridMBR) > 0 {
			if len(b.HybridMBR) < 432 {
				return nil, invalid("hybrid MBR of %d bytes (isohdpfx.bin has 432)", len(b.HybridMBR))
			}
			l.hybridMBR = b.HybridMBR[:432]
		}
		n, err := add(b.Loader, DefaultLoaderName, true)
		if err != nil {
			return nil, err
		}
		l.loader = n
	}
	if spec.EFI != nil {
		l.boot, l.gpt = true, true
		n, err := add(*spec.EFI, DefaultEFIName, false)
		if err != nil {
			return nil, err
		}
		if n.size == 0 {
			return nil, invalid("empty EFI image")
		}
		l.efi = n
	}
	for _, f := range spec.Files {
		if _, err := add(f, "", false); err != nil {
			return nil, err
		}
	}

	// Directories in path table order: breadth first, each one's children
	// sorted by name then extension (ECMA-119 9.3; Go's string order pads
	// with nothing, which sorts like the standard's padding with spaces
	// because space is below every d-character).
	var sortTree func(d *node)
	sortTree = func(d *node) {
		slices.SortFunc(d.children, func(a, b *node) int {
			if c := strings.Compare(a.key[0], b.key[0]); c != 0 {
				return c
			}
			return strings.Compare(a.key[1], b.key[1])
		})
		for _, c := range d.children {
			if c.dir {
				sortTree(c)
			}
		}
	}
	sortTree(l.root)
	l.dirs = []*node{l.root}
	for i := 0; i < len(l.dirs); i++ {
		l.dirs[i].num = i + 1
		for _, c := range l.dirs[i].children {
			if c.dir {
				l.dirs = append(l.dirs, c)
			}
		}
	}
	if len(l.dirs) > 0xffff {
		return nil, fmt.Errorf("%w: %d directories (the path table numbers 65535)", ErrTooLarge, len(l.dirs))
	}

	// Blocks: volume descriptors, catalog, path tables, directories, data.
	lba := uint32(systemArea + 1) // after the PVD
	if l.boot {
		lba++ // boot record
	}
	lba++ // terminator
	if l.boot {
		l.catalogLBA = lba
		lba++
	}
	for _, d := range l.dirs {
		l.ptSize += uint32(ptRecordLen(d))
	}
	ptBlocks := blocks(int64(l.ptSize))
	l.ptL, l.ptM = lba, lba+ptBlocks
	lba += 2 * ptBlocks
	for _, d := range l.dirs {
		d.size = l.dirExtentSize(d)
		d.lba = lba
		lba += blocks(d.size)
	}
	// Data: the boot images first (low LBAs suit old BIOSes), then the
	// other files in path order.
	var rest []*node
	var walk func(d *node)
	walk = func(d *node) {
		for _, c := range d.children {
			if c.dir {
				continue
			}
			if c != l.loader && c != l.efi {
				rest = append(rest, c)
			}
		}
		for _, c := range d.children {
			if c.dir {
				walk(c)
			}
		}
	}
	walk(l.root)
	if l.loader != nil {
		l.files = append(l.files, l.loader)
	}
	if l.efi != nil {
		l.files = append(l.files, l.efi)
	}
	l.files = append(l.files, rest...)
	for _, f := range l.files {
		f.lba = lba
		if uint64(lba)+uint64(blocks(f.size)) > 0xffffffff-mibBlocks-gptTailBlocks {
			return nil, fmt.Errorf("%w: image beyond 2^32 blocks", ErrTooLarge)
		}
		lba += blocks(f.size)
	}
	l.dataEnd = lba
	total := lba
	if l.gpt {
		total += gptTailBlocks
	}
	l.total = (total + mibBlocks - 1) / mibBlocks * mibBlocks
	if l.loader != nil {
		patchBootInfo(l.loader.src.data, l.loader.lba)
	}
	return l, nil
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// name is a node's path as readers list it: Rock Ridge names, or ISO 9660
// ones without Rock Ridge.
func (l *layout) name(n *node) string {
	if l.rr {
		return n.rrPath
	}
	return n.path
}

func pathOf(d *node) []string {
	if d.path == "" {
		return nil
	}
	return strings.Split(d.path, "/")
}

func blocks(n int64) uint32 { return uint32((n + blockSize - 1) / blockSize) }

func ptRecordLen(d *node) int {
	n := len(d.ident)
	if d.parent == nil {
		n = 1
	}
	return 8 + n + n%2
}

func dirRecordLen(identLen int) int { return 33 + identLen + (identLen+1)%2 }

// dirExtentSize is the directory's records ("." and ".." first), none
// crossing a block boundary, in whole blocks.
func (l *layout) dirExtentSize(d *node) int64 {
	var off, size int64 = 0, blockSize
	put := func(n int) {
		if off+int64(n) > size {
			off = size
			size += blockSize
		}
		off += int64(n)
	}
	var date [7]byte // the lengths do not depend on it
	parent := d
	if d.parent != nil {
		parent = d.parent
	}
	put(recordLen(1, len(l.sysUse(d, recDot, date))))
	put(recordLen(1, len(l.sysUse(parent, recDotDot, date))))
	for _, c := range d.children {
		put(recordLen(len(c.ident), len(l.sysUse(c, recChild, date))))
	}
	return size
}

// readLoader reads the BIOS loader whole: its boot info table is computed
// over its bytes before they are written.
func readLoader(f File, size int64) ([]byte, error) {
	if size < 64 || size > maxLoader {
		return nil, invalid("loader of %d bytes (want 64 bytes to 1 MiB)", size)
	}
	r := f.R
	if f.Path != "" {
		fh, err := os.Open(f.Path)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		r = fh
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("%w: loader", ErrShortInput)
		}
		return nil, err
	}
	return bytes.Clone(b), nil
}

// patchBootInfo writes the boot info table isolinux reads (what
// mkisofs -boot-info-table writes): at byte 8 the LBA of the primary volume
// descriptor, the loader's LBA, its length, the 32-bit sum of its
// little-endian words from byte 64, then 40 zero bytes.
func patchBootInfo(b []byte, lba uint32) {
	le.PutUint32(b[8:], systemArea)
	le.PutUint32(b[12:], lba)
	le.PutUint32(b[16:], uint32(len(b)))
	le.PutUint32(b[20:], bootInfoSum(b))
	clear(b[24:64])
}

func bootInfoSum(b []byte) uint32 {
	var sum uint32
	for i := 64; i < len(b); i += 4 {
		var w [4]byte
		copy(w[:], b[i:])
		sum += le.Uint32(w[:])
	}
	return sum
}
