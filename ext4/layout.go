package ext4

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// Geometry constants of what Format writes.
const (
	blocksPerGroup = 8 * BlockSize // one block bitmap block covers a group
	inodeSize      = 256
	inodesPerBlock = BlockSize / inodeSize
	bytesPerInode  = 16384 // mke2fs's default ratio
	descSize       = 64    // 64bit group descriptors
	logFlex        = 4     // 16 groups share one flex group
	flexGroups     = 1 << logFlex
	firstIno       = 11 // first non-reserved inode: lost+found
	rootIno        = 2
	journalIno     = 8
	lostFoundBlks  = 4 // 16 KiB, as mke2fs makes it
	maxExtentLen   = 32768
	maxJournal     = 32768 // 128 MiB: four in-inode extents always reach it
)

// extent is a run of blocks.
type extent struct {
	start, n uint64
}

// layout is where everything goes for one size. It is a pure function of
// the block count, so Format and Verify agree on it.
type layout struct {
	blocks    uint64 // file system blocks
	groups    uint64
	ipg       uint64 // inodes per group
	itb       uint64 // inode table blocks per group
	gdtBlocks uint64
	bbitmap   []uint64
	ibitmap   []uint64
	itable    []uint64
	root      uint64 // root directory block
	lostFound uint64 // first of lostFoundBlks blocks
	journal   []extent
	jblocks   uint64
	used      []uint64 // blocks in use per group
	touched   []bool   // group holds more than its own superblock backup
	cursor    uint64
}

// hasSuper says whether group g holds a superblock and GDT (sparse_super:
// groups 0, 1 and powers of 3, 5 and 7).
func hasSuper(g uint64) bool {
	if g <= 1 {
		return true
	}
	for _, b := range []uint64{3, 5, 7} {
		n := b
		for n < g {
			n *= b
		}
		if n == g {
			return true
		}
	}
	return false
}

// journalSize follows mke2fs's table, capped at 128 MiB: a data disk of
// an appliance gains nothing from a larger log, and the cap keeps the
// journal in four extents inside its inode.
func journalSize(blocks uint64) uint64 {
	switch {
	case blocks < 32768:
		return 1024
	case blocks < 256*1024:
		return 4096
	case blocks < 512*1024:
		return 8192
	case blocks < 4096*1024:
		return 16384
	default:
		return maxJournal
	}
}

func newLayout(size int64) (*layout, error) {
	if size < MinSize || size > MaxSize {
		return nil, fmt.Errorf("%w: size %d outside [%d, %d]", ErrOptions, size, int64(MinSize), int64(MaxSize))
	}
	blocks := uint64(size) / BlockSize
	l := &layout{}
	for {
		l.blocks = blocks
		l.groups = (blocks + blocksPerGroup - 1) / blocksPerGroup
		inodes := blocks * BlockSize / bytesPerInode
		ipg := (inodes + l.groups - 1) / l.groups
		ipg = (ipg + inodesPerBlock - 1) / inodesPerBlock * inodesPerBlock // fill the table blocks
		ipg = min(ipg, 8*BlockSize)
		l.ipg = ipg
		l.itb = ipg / inodesPerBlock
		l.gdtBlocks = (l.groups*descSize + BlockSize - 1) / BlockSize
		// A last group smaller than its own share of metadata plus a
		// little room is dropped, as mke2fs does: it would only hold
		// metadata, and with flex_bg it may have to hold its own table.
		rem := blocks % blocksPerGroup
		if l.groups > 1 && rem != 0 && rem < 3+l.itb+l.gdtBlocks+50 {
			blocks -= rem
			continue
		}
		break
	}
	l.bbitmap = make([]uint64, l.groups)
	l.ibitmap = make([]uint64, l.groups)
	l.itable = make([]uint64, l.groups)
	l.used = make([]uint64, l.groups)
	l.touched = make([]bool, l.groups)
	for g := uint64(0); g < l.groups; g++ {
		if hasSuper(g) {
			l.used[g] += 1 + l.gdtBlocks
		}
	}
	// Flex group 0's metadata, then the directories and the journal
	// right behind it, then every other flex group's metadata in its own
	// first group.
	if err := l.flex(0); err != nil {
		return nil, err
	}
	var err error
	if l.root, err = l.alloc(1); err != nil {
		return nil, err
	}
	if l.lostFound, err = l.alloc(lostFoundBlks); err != nil {
		return nil, err
	}
	l.jblocks = journalSize(l.blocks)
	for left := l.jblocks; left > 0; {
		e, err := l.allocRun(min(left, maxExtentLen))
		if err != nil {
			return nil, err
		}
		if len(l.journal) == 4 {
			return nil, fmt.Errorf("%w: journal does not fit in four extents", ErrOptions)
		}
		l.journal = append(l.journal, e)
		left -= e.n
	}
	for f := uint64(1); f*flexGroups < l.groups; f++ {
		l.cursor = max(l.cursor, f*flexGroups*blocksPerGroup)
		if err := l.flex(f); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// flex places flex group f's block bitmaps, inode bitmaps and inode
// tables, each kind contiguous, as mke2fs packs them.
func (l *layout) flex(f uint64) error {
	first, last := f*flexGroups, min((f+1)*flexGroups, l.groups)
	var err error
	for g := first; g < last; g++ {
		if l.bbitmap[g], err = l.alloc(1); err != nil {
			return err
		}
	}
	for g := first; g < last; g++ {
		if l.ibitmap[g], err = l.alloc(1); err != nil {
			return err
		}
	}
	for g := first; g < last; g++ {
		if l.itable[g], err = l.alloc(l.itb); err != nil {
			return err
		}
	}
	return nil
}

// reservedEnd returns the end of group g's superblock and GDT copy, or
// the group's start when it has none.
func (l *layout) reservedEnd(g uint64) uint64 {
	if hasSuper(g) {
		return g*blocksPerGroup + 1 + l.gdtBlocks
	}
	return g * blocksPerGroup
}

// peek returns the run of up to n blocks at the cursor, stopping before
// the next superblock copy.
func (l *layout) peek(n uint64) (extent, error) {
	c := max(l.cursor, l.reservedEnd(l.cursor/blocksPerGroup))
	end := c + n
	for h := c/blocksPerGroup + 1; h*blocksPerGroup < end; h++ {
		if hasSuper(h) {
			end = h * blocksPerGroup
			break
		}
	}
	if end > l.blocks || end == c {
		return extent{}, fmt.Errorf("%w: size too small for the metadata", ErrOptions)
	}
	return extent{c, end - c}, nil
}

// take marks e used and moves the cursor behind it.
func (l *layout) take(e extent) {
	end := e.start + e.n
	l.cursor = end
	for b := e.start; b < end; {
		g := b / blocksPerGroup
		next := min(end, (g+1)*blocksPerGroup)
		l.used[g] += next - b
		l.touched[g] = true
		b = next
	}
}

// allocRun takes up to n blocks from the cursor.
func (l *layout) allocRun(n uint64) (extent, error) {
	e, err := l.peek(n)
	if err == nil {
		l.take(e)
	}
	return e, err
}

// alloc takes n contiguous blocks, skipping a superblock copy that
// would split them.
func (l *layout) alloc(n uint64) (uint64, error) {
	for {
		e, err := l.peek(n)
		if err != nil {
			return 0, err
		}
		if e.n == n {
			l.take(e)
			return e.start, nil
		}
		l.cursor = e.start + e.n
	}
}

// groupBlocks returns the number of blocks in group g.
func (l *layout) groupBlocks(g uint64) uint64 {
	if g == l.groups-1 {
		return l.blocks - g*blocksPerGroup
	}
	return blocksPerGroup
}

// ids derives the UUID and hash seed from the seed, label and block
// count: SHA-256 over a domain-separated encoding, so neither can be
// mistaken for the other.
func ids(seed, label string, blocks uint64) (uuid, hashSeed [16]byte) {
	h := func(domain string) []byte {
		d := sha256.New()
		var n [8]byte
		for _, s := range []string{domain, seed, label} {
			binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
			d.Write(n[:])
			d.Write([]byte(s))
		}
		binary.LittleEndian.PutUint64(n[:], blocks)
		d.Write(n[:])
		return d.Sum(nil)
	}
	copy(uuid[:], h("fogkit ext4 uuid"))
	copy(hashSeed[:], h("fogkit ext4 hash seed"))
	// RFC 9562 version 8 (custom) and variant 10.
	uuid[6] = uuid[6]&0x0f | 0x80
	uuid[8] = uuid[8]&0x3f | 0x80
	hashSeed[6] = hashSeed[6]&0x0f | 0x80
	hashSeed[8] = hashSeed[8]&0x3f | 0x80
	return
}
