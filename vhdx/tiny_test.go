package vhdx_test

import (
	"encoding/binary"
	"hash/crc32"
	"io"
	"slices"
)

// Tiny images for the hostile tests and the fuzzers: the structures of a
// 3 MiB disk with 1 MiB blocks, held as a few byte slices at their offsets
// (sparseFile) instead of a 6 MiB buffer, so that building and opening one
// costs microseconds.
//
//	0        file type identifier
//	64 KiB   header 1, 128 KiB header 2 (sequence 1 and 2)
//	192 KiB  region table, 256 KiB its copy
//	1 MiB    log (1 MiB, empty)
//	2 MiB    metadata table, items at 2 MiB + 64 KiB
//	3 MiB    BAT: block 0 at 4 MiB, block 1 not present, block 2 at 5 MiB
//	4 MiB    payload blocks (a 16-byte pattern at the start of each)

const (
	tinyMeta = 2 << 20
	tinyBAT  = 3 << 20
	tinySize = 6 << 20
)

type segment struct {
	off  int64
	data []byte
}

// sparseFile is an io.ReaderAt of size bytes, zeros but for its segments.
type sparseFile struct {
	size int64
	segs []segment
}

func (s *sparseFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= s.size {
		return 0, io.EOF
	}
	n := len(p)
	var err error
	if int64(n) > s.size-off {
		n, err = int(s.size-off), io.EOF
	}
	clear(p[:n])
	for _, sg := range s.segs {
		lo, hi := max(off, sg.off), min(off+int64(n), sg.off+int64(len(sg.data)))
		if lo < hi {
			copy(p[lo-off:hi-off], sg.data[lo-sg.off:hi-sg.off])
		}
	}
	return n, err
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// setCRC stores the CRC-32C of b (taken with a zero checksum field) at 4.
func setCRC(b []byte) {
	clear(b[4:8])
	binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(b, crcTable))
}

var le = binary.LittleEndian

func guidBytes(d1 uint32, d2, d3 uint16, d4 uint64) []byte {
	b := le.AppendUint32(nil, d1)
	b = le.AppendUint16(b, d2)
	b = le.AppendUint16(b, d3)
	return binary.BigEndian.AppendUint64(b, d4)
}

var (
	gBAT      = guidBytes(0x2dc27766, 0xf623, 0x4200, 0x9d64115e9bfd4a08)
	gMetadata = guidBytes(0x8b7ca206, 0x4790, 0x4b9a, 0xb8fe575f050f886e)
	gFileP    = guidBytes(0xcaa16737, 0xfa36, 0x4d43, 0xb3b633f0aa44e76b)
	gSize     = guidBytes(0x2fa54224, 0xcd1b, 0x4876, 0xb2115dbed83bf4b8)
	gPage83   = guidBytes(0xbeca12ab, 0xb2e6, 0x4523, 0x93efc309e000c746)
	gLogical  = guidBytes(0x8141bf1d, 0xa96f, 0x4709, 0xba47f233a8faab5f)
	gPhysical = guidBytes(0xcda348c7, 0x445d, 0x4471, 0x9cc9e9885251c556)
)

// tinyParts returns the default structures: header (first 80 bytes),
// region table (header and two entries), metadata table (header and five
// entries), metadata items (40 bytes) and BAT (3 entries).
func tinyParts() (hdr, rt, mdt, items, bat []byte) {
	hdr = make([]byte, 80)
	copy(hdr, "head")
	le.PutUint64(hdr[8:], 1)
	copy(hdr[16:], "file-write-guid!data-write-guid!")
	le.PutUint16(hdr[66:], 1)
	le.PutUint32(hdr[68:], 1<<20)
	le.PutUint64(hdr[72:], 1<<20)

	rt = make([]byte, 16, 80)
	copy(rt, "regi")
	le.PutUint32(rt[8:], 2)
	rt = append(append(rt, gBAT...), make([]byte, 16)...)
	le.PutUint64(rt[32:], tinyBAT)
	le.PutUint32(rt[40:], 1<<20)
	le.PutUint32(rt[44:], 1)
	rt = append(append(rt, gMetadata...), make([]byte, 16)...)
	le.PutUint64(rt[64:], tinyMeta)
	le.PutUint32(rt[72:], 1<<20)
	le.PutUint32(rt[76:], 1)

	mdt = make([]byte, 32, 192)
	copy(mdt, "metadata")
	le.PutUint16(mdt[10:], 5)
	for i, it := range []struct {
		g          []byte
		off, n, fl uint32
	}{{gFileP, 0, 8, 4}, {gSize, 8, 8, 6}, {gPage83, 16, 16, 6}, {gLogical, 32, 4, 6}, {gPhysical, 36, 4, 6}} {
		mdt = append(append(mdt, it.g...), make([]byte, 16)...)
		e := mdt[32+32*i:]
		le.PutUint32(e[16:], 64<<10+it.off)
		le.PutUint32(e[20:], it.n)
		le.PutUint32(e[24:], it.fl)
	}
	items = make([]byte, 40)
	le.PutUint32(items[0:], 1<<20)
	le.PutUint64(items[8:], 3<<20)
	copy(items[16:], "virtual-disk-id!")
	le.PutUint32(items[32:], 512)
	le.PutUint32(items[36:], 4096)

	bat = make([]byte, 24)
	le.PutUint64(bat[0:], 4<<20|6)
	le.PutUint64(bat[16:], 5<<20|6)
	return
}

// tinyDisk is the raw content of the default tiny image.
func tinyDisk() []byte {
	d := make([]byte, 3<<20)
	copy(d, "block zero data!")
	copy(d[2<<20:], "block two data!!")
	return d
}

// tinyImage assembles an image from the parts. Checksums are recomputed
// unless badCRC; the second header has the next sequence number.
func tinyImage(hdr, rt, mdt, items, bat []byte, size int64, badCRC bool) *sparseFile {
	h1 := make([]byte, 4096)
	copy(h1, hdr)
	h2 := slices.Clone(h1)
	le.PutUint64(h2[8:], le.Uint64(h1[8:])+1)
	r := make([]byte, 64<<10)
	copy(r, rt)
	if !badCRC {
		setCRC(h1)
		setCRC(h2)
		setCRC(r)
	}
	if len(items) > 64<<10 {
		items = items[:64<<10]
	}
	if len(bat) > 1<<20 {
		bat = bat[:1<<20]
	}
	return &sparseFile{size: size, segs: []segment{
		{0, []byte("vhdxfile")},
		{64 << 10, h1}, {128 << 10, h2},
		{192 << 10, r}, {256 << 10, r},
		{tinyMeta, mdt}, {tinyMeta + 64<<10, items},
		{tinyBAT, bat},
		{4 << 20, []byte("block zero data!")},
		{5 << 20, []byte("block two data!!")},
	}}
}

func tinyDefault() *sparseFile {
	hdr, rt, mdt, items, bat := tinyParts()
	return tinyImage(hdr, rt, mdt, items, bat, tinySize, false)
}
