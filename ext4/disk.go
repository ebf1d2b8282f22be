package ext4

import (
	"encoding/binary"
	"time"
)

// Feature flags Format sets (see doc.go for why each).
const (
	compatHasJournal = 0x4
	compatExtAttr    = 0x8
	compatDirIndex   = 0x20

	incompatFiletype = 0x2
	incompatExtents  = 0x40
	incompat64bit    = 0x80
	incompatFlexBG   = 0x200

	roSparseSuper  = 0x1
	roLargeFile    = 0x2
	roHugeFile     = 0x8
	roDirNlink     = 0x20
	roExtraIsize   = 0x40
	roMetadataCsum = 0x400

	formatCompat   = compatHasJournal | compatExtAttr | compatDirIndex
	formatIncompat = incompatFiletype | incompatExtents | incompat64bit | incompatFlexBG
	formatRoCompat = roSparseSuper | roLargeFile | roHugeFile | roDirNlink | roExtraIsize | roMetadataCsum
)

// Group descriptor flags.
const (
	bgInodeUninit  = 0x1
	bgBlockUninit  = 0x2
	bgItableZeroed = 0x4
)

const (
	superMagic     = 0xEF53
	extentMagic    = 0xF30A
	extentsFlag    = 0x80000
	modeDir        = 0o040000
	modeReg        = 0o100000
	ftDir          = 2
	dirTailSize    = 12
	jbdMagic       = 0xC03B3998
	jbdSuperV2     = 4
	extraIsize     = 32
	superOffset    = 1024
	superSize      = 1024
	hashHalfMD4    = 1
	flagSignedHash = 0x1
)

var le = binary.LittleEndian

// fsTimes splits a time into ext4's 32-bit seconds plus the extra field
// (two epoch bits and the nanoseconds).
func fsTimes(t time.Time) (lo, extra uint32) {
	s := t.Unix()
	lo = uint32(s)
	epoch := (s - int64(int32(lo))) >> 32
	return lo, uint32(epoch&3) | uint32(t.Nanosecond())<<2
}

// fsTime is a superblock's time: the low 32 bits and a high byte.
func fsTime(p []byte, off, hiOff int, t time.Time) {
	s := uint64(t.Unix())
	le.PutUint32(p[off:], uint32(s))
	p[hiOff] = byte(s >> 32)
}

// fs is one file system's fixed values, shared by every encoder.
type fs struct {
	l        *layout
	o        Options
	uuid     [16]byte
	hashSeed [16]byte
	csumSeed uint32
}

func newFS(l *layout, o Options) *fs {
	f := &fs{l: l, o: o}
	f.uuid, f.hashSeed = ids(o.Seed, o.Label, l.blocks)
	f.csumSeed = crc32c(^uint32(0), f.uuid[:])
	return f
}

func (f *fs) freeBlocks() uint64 {
	var used uint64
	for _, u := range f.l.used {
		used += u
	}
	return f.l.blocks - used
}

func (f *fs) inodes() uint64 { return f.l.ipg * f.l.groups }

// superblock encodes the superblock as group g's copy holds it.
func (f *fs) superblock(g uint64) []byte {
	p := make([]byte, superSize)
	l := f.l
	le.PutUint32(p[0x00:], uint32(f.inodes()))
	le.PutUint32(p[0x04:], uint32(l.blocks))
	le.PutUint32(p[0x150:], uint32(l.blocks>>32))
	free := f.freeBlocks()
	le.PutUint32(p[0x0C:], uint32(free))
	le.PutUint32(p[0x158:], uint32(free>>32))
	le.PutUint32(p[0x10:], uint32(f.inodes()-firstIno))
	le.PutUint32(p[0x14:], 0) // first data block
	le.PutUint32(p[0x18:], 2) // 1024 << 2
	le.PutUint32(p[0x1C:], 2)
	le.PutUint32(p[0x20:], blocksPerGroup)
	le.PutUint32(p[0x24:], blocksPerGroup)
	le.PutUint32(p[0x28:], uint32(l.ipg))
	fsTime(p, 0x30, 0x274, f.o.ModTime) // write time
	le.PutUint16(p[0x36:], 0xFFFF)      // no mount-count checks
	le.PutUint16(p[0x38:], superMagic)
	le.PutUint16(p[0x3A:], 1)           // clean
	le.PutUint16(p[0x3C:], 1)           // errors=continue
	fsTime(p, 0x40, 0x277, f.o.ModTime) // last check
	le.PutUint32(p[0x4C:], 1)           // dynamic revision
	le.PutUint32(p[0x54:], firstIno)
	le.PutUint16(p[0x58:], inodeSize)
	le.PutUint16(p[0x5A:], uint16(g))
	le.PutUint32(p[0x5C:], formatCompat)
	le.PutUint32(p[0x60:], formatIncompat)
	le.PutUint32(p[0x64:], formatRoCompat)
	copy(p[0x68:], f.uuid[:])
	copy(p[0x78:0x88], f.o.Label)
	le.PutUint32(p[0xE0:], journalIno)
	copy(p[0xEC:0xFC], f.hashSeed[:])
	p[0xFC] = hashHalfMD4
	p[0xFD] = 1 // s_jnl_blocks holds a copy of the journal's i_block
	le.PutUint16(p[0xFE:], descSize)
	fsTime(p, 0x108, 0x276, f.o.ModTime) // creation time
	ib := f.journalIBlock()
	copy(p[0x10C:], ib[:])
	le.PutUint32(p[0x10C+15*4:], uint32(l.jblocks*BlockSize>>32))
	le.PutUint32(p[0x10C+16*4:], uint32(l.jblocks*BlockSize))
	le.PutUint16(p[0x15C:], extraIsize)
	le.PutUint16(p[0x15E:], extraIsize)
	le.PutUint32(p[0x160:], flagSignedHash)
	p[0x174] = logFlex
	p[0x175] = 1 // crc32c
	le.PutUint32(p[0x3FC:], crc32c(^uint32(0), p[:0x3FC]))
	return p
}

// desc encodes group g's descriptor with its checksum.
func (f *fs) desc(g uint64, bbCsum, ibCsum uint32) []byte {
	l := f.l
	p := make([]byte, descSize)
	put := func(lo, hi int, v uint64) {
		le.PutUint32(p[lo:], uint32(v))
		le.PutUint32(p[hi:], uint32(v>>32))
	}
	put16 := func(lo, hi int, v uint64) {
		le.PutUint16(p[lo:], uint16(v))
		le.PutUint16(p[hi:], uint16(v>>16))
	}
	put(0x00, 0x20, l.bbitmap[g])
	put(0x04, 0x24, l.ibitmap[g])
	put(0x08, 0x28, l.itable[g])
	put16(0x0C, 0x2C, l.groupBlocks(g)-l.used[g])
	freeInodes, dirs := l.ipg, uint64(0)
	if g == 0 {
		freeInodes, dirs = l.ipg-firstIno, 2
	}
	put16(0x0E, 0x2E, freeInodes)
	put16(0x10, 0x30, dirs)
	le.PutUint16(p[0x12:], f.groupFlags(g))
	put16(0x18, 0x38, uint64(bbCsum))
	put16(0x1A, 0x3A, uint64(ibCsum))
	put16(0x1C, 0x32, freeInodes) // unused inodes at the table's end
	var n [4]byte
	le.PutUint32(n[:], uint32(g))
	c := crc32c(f.csumSeed, n[:])
	c = crc32c(c, p)
	le.PutUint16(p[0x1E:], uint16(c))
	return p
}

func (f *fs) groupFlags(g uint64) uint16 {
	var fl uint16
	if g != 0 {
		fl |= bgInodeUninit
	}
	if !f.blockBitmapWritten(g) {
		fl |= bgBlockUninit
	}
	if !f.o.NotZeroed {
		fl |= bgItableZeroed
	}
	return fl
}

// blockBitmapWritten: a group whose blocks hold nothing but its own
// superblock copy is BLOCK_UNINIT (the kernel and e2fsck compute its
// bitmap); the last group never is, as in mke2fs.
func (f *fs) blockBitmapWritten(g uint64) bool {
	return f.l.touched[g] || g == f.l.groups-1
}

// blockBitmap returns group g's block bitmap.
func (f *fs) blockBitmap(g uint64) []byte {
	l := f.l
	p := make([]byte, BlockSize)
	start, end := g*blocksPerGroup, g*blocksPerGroup+l.groupBlocks(g)
	set := func(e extent) {
		a, b := max(e.start, start), min(e.start+e.n, end)
		for x := a; x < b; x++ {
			i := x - start
			p[i/8] |= 1 << (i % 8)
		}
	}
	if hasSuper(g) {
		set(extent{start, 1 + l.gdtBlocks})
	}
	// The metadata of g's flex group lies in the flex group's first
	// group; set keeps only what falls inside g.
	for h := g / flexGroups * flexGroups; h < min(l.groups, g/flexGroups*flexGroups+flexGroups); h++ {
		set(extent{l.bbitmap[h], 1})
		set(extent{l.ibitmap[h], 1})
		set(extent{l.itable[h], l.itb})
	}
	if g < flexGroups+2 { // the directories and journal follow flex 0's metadata in groups 0-2
		for h := range min(l.groups, flexGroups) {
			set(extent{l.bbitmap[h], 1})
			set(extent{l.ibitmap[h], 1})
			set(extent{l.itable[h], l.itb})
		}
		set(extent{l.root, 1})
		set(extent{l.lostFound, lostFoundBlks})
		for _, e := range l.journal {
			set(e)
		}
	}
	// Padding past the last group's end reads as in use.
	for i := end - start; i < blocksPerGroup; i++ {
		p[i/8] |= 1 << (i % 8)
	}
	return p
}

// inodeBitmap returns group 0's inode bitmap (the others are
// INODE_UNINIT and never written).
func (f *fs) inodeBitmap() []byte {
	p := make([]byte, BlockSize)
	for i := uint64(0); i < firstIno; i++ {
		p[i/8] |= 1 << (i % 8)
	}
	for i := f.l.ipg; i < 8*BlockSize; i++ {
		p[i/8] |= 1 << (i % 8)
	}
	return p
}

// extentIBlock encodes an in-inode extent tree of up to four extents.
func extentIBlock(logical []uint64, es []extent) [60]byte {
	var b [60]byte
	le.PutUint16(b[0:], extentMagic)
	le.PutUint16(b[2:], uint16(len(es)))
	le.PutUint16(b[4:], 4)
	for i, e := range es {
		o := 12 + 12*i
		le.PutUint32(b[o:], uint32(logical[i]))
		le.PutUint16(b[o+4:], uint16(e.n))
		le.PutUint16(b[o+6:], uint16(e.start>>32))
		le.PutUint32(b[o+8:], uint32(e.start))
	}
	return b
}

func (f *fs) journalIBlock() [60]byte {
	logical := make([]uint64, len(f.l.journal))
	var n uint64
	for i, e := range f.l.journal {
		logical[i] = n
		n += e.n
	}
	return extentIBlock(logical, f.l.journal)
}

// inode encodes an in-use inode with its checksum.
func (f *fs) inode(ino uint32, mode uint16, links uint16, size uint64, ib [60]byte) []byte {
	p := make([]byte, inodeSize)
	le.PutUint16(p[0x00:], mode)
	le.PutUint32(p[0x04:], uint32(size))
	le.PutUint32(p[0x6C:], uint32(size>>32))
	lo, extra := fsTimes(f.o.ModTime)
	for _, o := range []int{0x08, 0x0C, 0x10, 0x90} { // atime, ctime, mtime, crtime
		le.PutUint32(p[o:], lo)
	}
	for _, o := range []int{0x84, 0x88, 0x8C, 0x94} {
		le.PutUint32(p[o:], extra)
	}
	le.PutUint16(p[0x1A:], links)
	sectors := (size + BlockSize - 1) / BlockSize * (BlockSize / 512)
	le.PutUint32(p[0x1C:], uint32(sectors))
	le.PutUint16(p[0x74:], uint16(sectors>>32))
	le.PutUint32(p[0x20:], extentsFlag)
	copy(p[0x28:], ib[:])
	le.PutUint16(p[0x80:], extraIsize)
	c := f.inodeCsum(ino, p)
	le.PutUint16(p[0x7C:], uint16(c))
	le.PutUint16(p[0x82:], uint16(c>>16))
	return p
}

// inodeSeed is the checksum seed of inode ino (generation 0).
func (f *fs) inodeSeed(ino uint32) uint32 {
	var n [4]byte
	le.PutUint32(n[:], ino)
	c := crc32c(f.csumSeed, n[:])
	return crc32c(c, []byte{0, 0, 0, 0})
}

// inodeCsum checksums p with both checksum fields zero.
func (f *fs) inodeCsum(ino uint32, p []byte) uint32 {
	return crc32c(f.inodeSeed(ino), p)
}

// inodeTableBlock returns the first block of group 0's inode table:
// inodes 1 to 16. The reserved inodes other than root and the journal
// are zero apart from their checksum, as mke2fs writes them.
func (f *fs) inodeTableBlock() []byte {
	p := make([]byte, BlockSize)
	l := f.l
	for ino := uint32(1); ino <= firstIno; ino++ {
		var in []byte
		switch ino {
		case rootIno:
			in = f.inode(ino, modeDir|0o755, 3, BlockSize, extentIBlock([]uint64{0}, []extent{{l.root, 1}}))
		case journalIno:
			in = f.inode(ino, modeReg|0o600, 1, l.jblocks*BlockSize, f.journalIBlock())
		case firstIno:
			in = f.inode(ino, modeDir|0o700, 2, lostFoundBlks*BlockSize,
				extentIBlock([]uint64{0}, []extent{{l.lostFound, lostFoundBlks}}))
		default:
			in = make([]byte, inodeSize)
			le.PutUint16(in[0x7C:], uint16(f.inodeCsum(ino, in))) // no extra fields: low half only
		}
		copy(p[(ino-1)*inodeSize:], in)
	}
	return p
}

// dirBlock encodes a directory block from its entries (the last one's
// record runs to the checksum tail) and seals it with the tail.
type dirent struct {
	ino  uint32
	name string
}

func (f *fs) dirBlock(dir uint32, ents []dirent) []byte {
	p := make([]byte, BlockSize)
	off := 0
	for i, e := range ents {
		rec := (8 + len(e.name) + 3) &^ 3
		if i == len(ents)-1 {
			rec = BlockSize - dirTailSize - off
		}
		le.PutUint32(p[off:], e.ino)
		le.PutUint16(p[off+4:], uint16(rec))
		p[off+6] = byte(len(e.name))
		if e.ino != 0 {
			p[off+7] = ftDir
		}
		copy(p[off+8:], e.name)
		off += rec
	}
	t := p[BlockSize-dirTailSize:]
	le.PutUint16(t[4:], dirTailSize)
	t[7] = 0xDE
	le.PutUint32(t[8:], crc32c(f.inodeSeed(dir), p[:BlockSize-dirTailSize]))
	return p
}

// journalSuper encodes the first journal block: an empty jbd2 v2 log
// (s_start 0, so nothing is ever replayed from it).
func (f *fs) journalSuper() []byte {
	p := make([]byte, BlockSize)
	be := binary.BigEndian
	be.PutUint32(p[0x00:], jbdMagic)
	be.PutUint32(p[0x04:], jbdSuperV2)
	be.PutUint32(p[0x0C:], BlockSize)
	be.PutUint32(p[0x10:], uint32(f.l.jblocks))
	be.PutUint32(p[0x14:], 1) // first log block
	be.PutUint32(p[0x18:], 1) // first transaction ID
	copy(p[0x30:], f.uuid[:])
	be.PutUint32(p[0x40:], 1) // one user: this file system
	return p
}
