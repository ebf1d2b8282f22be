package iso

import (
	"encoding/binary"
	"fmt"
	"time"
)

var (
	le = binary.LittleEndian
	be = binary.BigEndian
)

// Both-endian fields (ECMA-119 7.2.3, 7.3.3): little-endian, then big.
func putBoth16(b []byte, v uint16) { le.PutUint16(b, v); be.PutUint16(b[2:], v) }
func putBoth32(b []byte, v uint32) { le.PutUint32(b, v); be.PutUint32(b[4:], v) }

// fillStr writes s into b padded with spaces (a- and d-character fields).
func fillStr(b []byte, s string) {
	n := copy(b, s)
	for i := n; i < len(b); i++ {
		b[i] = ' '
	}
}

// recDate is a directory record's date (ECMA-119 9.1.5): years since 1900,
// month, day, hour, minute, second, GMT offset 0.
func recDate(t time.Time) [7]byte {
	t = t.UTC()
	y := min(max(t.Year()-1900, 0), 255)
	return [7]byte{byte(y), byte(t.Month()), byte(t.Day()), byte(t.Hour()), byte(t.Minute()), byte(t.Second()), 0}
}

// volDate is a volume descriptor's date (ECMA-119 8.4.26.1): 16 digits and
// a GMT offset.
func volDate(t time.Time) [17]byte {
	var d [17]byte
	t = t.UTC()
	y := min(max(t.Year(), 1), 9999)
	copy(d[:], fmt.Sprintf("%04d%02d%02d%02d%02d%02d00", y, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second()))
	return d
}

// noDate is an unspecified volume descriptor date.
func noDate() [17]byte {
	var d [17]byte
	copy(d[:], "0000000000000000")
	return d
}

// putDirRecord writes a directory record at b and returns its length.
func putDirRecord(b []byte, ident []byte, lba uint32, size uint32, dir bool, date [7]byte, su []byte) int {
	n := recordLen(len(ident), len(su))
	clear(b[:n])
	b[0] = byte(n)
	putBoth32(b[2:], lba)
	putBoth32(b[10:], size)
	copy(b[18:25], date[:])
	if dir {
		b[25] = 2
	}
	putBoth16(b[28:], 1)
	b[32] = byte(len(ident))
	copy(b[33:], ident)
	copy(b[dirRecordLen(len(ident)):], su)
	return n
}

// El Torito catalog constants.
const (
	elToritoID      = "EL TORITO SPECIFICATION"
	entryBootable   = 0x88
	entryNoBoot     = 0x00
	sectionMore     = 0x90
	sectionFinal    = 0x91
	sectionExtended = 0x44
)

// validationEntry returns the catalog's first entry with its checksum: the
// 16-bit little-endian words of the entry sum to zero.
func validationEntry(platform byte) [32]byte {
	var e [32]byte
	e[0] = 1
	e[1] = platform
	e[30], e[31] = 0x55, 0xAA
	var sum uint16
	for i := 0; i < 32; i += 2 {
		sum += le.Uint16(e[i:])
	}
	le.PutUint16(e[28:], -sum)
	return e
}

func bootEntryBytes(sectors uint16, lba uint32) [32]byte {
	var e [32]byte
	e[0] = entryBootable
	le.PutUint16(e[6:], sectors)
	le.PutUint32(e[8:], lba)
	return e
}

// efiSectors is the sector count of the EFI entry: the image's 512-byte
// sectors, or 0 when they do not fit in 16 bits. 0 is what xorriso writes
// then, and edk2 (OVMF) takes a count below 2 to mean "up to the end of the
// volume"; it reads larger counts as 2048-byte blocks, so any count covers
// the image.
func efiSectors(size int64) uint16 {
	s := (size + 511) / 512
	if s > 0xffff {
		return 0
	}
	return uint16(s)
}
