package iso

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"strings"
	"unicode/utf16"
)

// The isohybrid system area (the first 32 KiB, 64 sectors of 512 bytes):
//
//	0     boot code: the first 432 bytes of isohdpfx.bin (or zeros)
//	432   the BIOS loader's LBA in 512-byte sectors, 32 bits (isohdpfx loads it)
//	436   zero, 440 disk signature, 444 zero
//	446   partition 1: status 0x80 with boot code, type 0x00, the whole image
//	      (type 0 as xorriso writes it: firmware skips it when checking
//	      partitions for overlaps, and a mount of it sees the ISO 9660 volume)
//	462   partition 2: type 0xEF, the EFI image (with EFI)
//	510   0x55 0xAA
//	512   GPT header (with EFI), 1024 its 128 entries; the backup entries and
//	      header are the image's last 33 sectors
//
// The MBR is not protective, so firmware and Linux use the MBR partitions;
// the GPT (as isohybrid --uefi writes it: a basic data partition from 0
// over the ISO and an EFI System partition on the EFI image, overlapping)
// serves tools that look for one.
const (
	sectorSize     = 512
	mbrBootLBAOff  = 432
	mbrSigOff      = 440
	mbrTableOff    = 446
	gptHeaderSize  = 92
	gptEntrySize   = 128
	gptFirstUsable = 64 // the volume descriptors start here
	mbrHeads       = 64
	mbrSecsPerHead = 32
)

// seeded derives deterministic bytes for one purpose from the seed.
func seeded(seed, purpose string) []byte {
	h := sha256.Sum256([]byte("fogkit/iso\x00" + purpose + "\x00" + seed))
	return h[:]
}

// guidFromSeed is a version 4 GUID in GPT's on-disk byte order.
func guidFromSeed(seed, purpose string) [16]byte {
	var g [16]byte
	copy(g[:], seeded(seed, purpose))
	g[7] = g[7]&0x0f | 0x40 // version, in the little-endian third field
	g[8] = g[8]&0x3f | 0x80 // variant
	return g
}

// guidString formats an on-disk (mixed-endian) GUID.
func guidString(b []byte) string {
	return strings.ToUpper(fmt.Sprintf("%08X-%04X-%04X-%s-%s", le.Uint32(b), le.Uint16(b[4:]), le.Uint16(b[6:]),
		hex.EncodeToString(b[8:10]), hex.EncodeToString(b[10:16])))
}

// guidBytes parses a GUID string into on-disk order; s is a constant.
func guidBytes(s string) [16]byte {
	var g [16]byte
	h, _ := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	le.PutUint32(g[:], be.Uint32(h))
	le.PutUint16(g[4:], be.Uint16(h[4:]))
	le.PutUint16(g[6:], be.Uint16(h[6:]))
	copy(g[8:], h[8:])
	return g
}

// chs encodes a sector address for the MBR with the isohybrid geometry (64
// heads, 32 sectors), or 1023/254/63 past its reach.
func chs(lba int64) [3]byte {
	c := lba / (mbrHeads * mbrSecsPerHead)
	if c > 1023 {
		return [3]byte{0xfe, 0xff, 0xff}
	}
	h := (lba / mbrSecsPerHead) % mbrHeads
	s := lba%mbrSecsPerHead + 1
	return [3]byte{byte(h), byte(s) | byte(c>>8)<<6, byte(c)}
}

func putMBRPart(b []byte, boot bool, typ byte, start, sectors int64) {
	if boot {
		b[0] = 0x80
	}
	s, e := chs(start), chs(start+sectors-1)
	copy(b[1:4], s[:])
	b[4] = typ
	copy(b[5:8], e[:])
	// An MBR counts 2^32 sectors at most (2 TiB): beyond, the entry
	// covers what it can.
	le.PutUint32(b[8:], uint32(min(start, 0xffffffff)))
	le.PutUint32(b[12:], uint32(min(sectors, 0xffffffff-min(start, 0xffffffff))))
}

// hybrid builds the system area (32 KiB) and the backup GPT (the image's
// last gptTailBlocks blocks), and fills the result's partition lists.
func hybrid(l *layout, seed string, res *Result) (sys, tail []byte) {
	sys = make([]byte, systemArea*blockSize)
	totalSecs := int64(l.total) * 4
	copy(sys, l.hybridMBR)
	if l.loader != nil {
		le.PutUint32(sys[mbrBootLBAOff:], l.loader.lba*4)
	}
	res.DiskSignature = le.Uint32(seeded(seed, "mbr disk signature"))
	le.PutUint32(sys[mbrSigOff:], res.DiskSignature)
	boot := len(l.hybridMBR) > 0
	putMBRPart(sys[mbrTableOff:], boot, 0x00, 0, totalSecs)
	res.MBR = append(res.MBR, Partition{Index: 1, Type: "0x00", Bootable: boot, Start: 0, Sectors: totalSecs})
	if l.efi != nil {
		start, n := int64(l.efi.lba)*4, (l.efi.size+sectorSize-1)/sectorSize
		putMBRPart(sys[mbrTableOff+16:], false, 0xef, start, n)
		res.MBR = append(res.MBR, Partition{Index: 2, Type: "0xef", Start: start, Sectors: n})
	}
	sys[510], sys[511] = 0x55, 0xaa
	if !l.gpt {
		return sys, nil
	}

	entries := make([]byte, gptEntries*gptEntrySize)
	diskGUID := guidFromSeed(seed, "gpt disk")
	res.DiskGUID = guidString(diskGUID[:])
	lastUsable := totalSecs - 1 - gptEntries*gptEntrySize/sectorSize - 1
	type part struct {
		typ        string
		first, end int64 // end exclusive
		name       string
		attrs      uint64
	}
	parts := []part{
		{GUIDBasicData, 0, int64(l.dataEnd) * 4, "ISO9660", 1 << 60}, // read-only
		{GUIDEFISystem, int64(l.efi.lba) * 4, int64(l.efi.lba)*4 + (l.efi.size+sectorSize-1)/sectorSize, "EFI", 0},
	}
	for i, p := range parts {
		e := entries[i*gptEntrySize:]
		t := guidBytes(p.typ)
		copy(e, t[:])
		g := guidFromSeed(seed, fmt.Sprint("gpt partition ", i+1))
		copy(e[16:], g[:])
		le.PutUint64(e[32:], uint64(p.first))
		le.PutUint64(e[40:], uint64(p.end-1))
		le.PutUint64(e[48:], p.attrs)
		for j, u := range utf16.Encode([]rune(p.name)) {
			le.PutUint16(e[56+2*j:], u)
		}
		res.GPT = append(res.GPT, Partition{Index: i + 1, Type: p.typ, Start: p.first, Sectors: p.end - p.first,
			Name: p.name, GUID: guidString(g[:])})
	}
	entriesCRC := crc32.ChecksumIEEE(entries)
	header := func(my, alt, entriesLBA int64) []byte {
		h := make([]byte, sectorSize)
		copy(h, "EFI PART")
		le.PutUint32(h[8:], 0x00010000)
		le.PutUint32(h[12:], gptHeaderSize)
		le.PutUint64(h[24:], uint64(my))
		le.PutUint64(h[32:], uint64(alt))
		le.PutUint64(h[40:], gptFirstUsable)
		le.PutUint64(h[48:], uint64(lastUsable))
		copy(h[56:], diskGUID[:])
		le.PutUint64(h[72:], uint64(entriesLBA))
		le.PutUint32(h[80:], gptEntries)
		le.PutUint32(h[84:], gptEntrySize)
		le.PutUint32(h[88:], entriesCRC)
		le.PutUint32(h[16:], crc32.ChecksumIEEE(h[:gptHeaderSize]))
		return h
	}
	copy(sys[sectorSize:], header(1, totalSecs-1, 2))
	copy(sys[2*sectorSize:], entries)
	tail = make([]byte, gptTailBlocks*blockSize)
	backupEntries := totalSecs - 1 - int64(len(entries))/sectorSize
	off := len(tail) - sectorSize - len(entries)
	copy(tail[off:], entries)
	copy(tail[len(tail)-sectorSize:], header(totalSecs-1, 1, backupEntries))
	return sys, tail
}
