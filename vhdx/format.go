package vhdx

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Layout constants of [MS-VHDX].
const (
	MiB = 1 << 20

	// Offsets of the header section's structures.
	headerOffset1      = 64 << 10
	headerOffset2      = 128 << 10
	regionTableOffset1 = 192 << 10
	regionTableOffset2 = 256 << 10
	headerSize         = 4 << 10
	regionTableSize    = 64 << 10
	headerSectionSize  = MiB

	// Where Write places the log, the metadata region and the BAT.
	logOffset      = MiB
	logLength      = MiB
	metadataOffset = 2 * MiB
	metadataLength = MiB
	batOffset      = 3 * MiB

	metadataTableSize = 64 << 10
	maxTableEntries   = 2047

	// DefaultBlockSize is qemu-img's default payload block size.
	DefaultBlockSize = 32 * MiB
	// MaxVirtualSize is the largest virtual disk the format allows (64 TiB).
	MaxVirtualSize = 64 << 40
	// MaxBATBytes caps the block allocation table a reader loads (64 MiB:
	// 8 Mi entries, 256 TiB of 32 MiB blocks).
	MaxBATBytes = 64 * MiB
)

// BAT entry states.
const (
	BlockNotPresent       = 0
	BlockUndefined        = 1
	BlockZero             = 2
	BlockUnmapped         = 3
	BlockFullyPresent     = 6
	BlockPartiallyPresent = 7
)

// GUID is a GUID as stored on disk: Data1, Data2 and Data3 little-endian,
// Data4 as is (the Microsoft mixed-endian layout).
type GUID [16]byte

// String formats the GUID in the usual 8-4-4-4-12 form.
func (g GUID) String() string {
	le := binary.LittleEndian
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x", le.Uint32(g[0:]), le.Uint16(g[4:]), le.Uint16(g[6:]), g[8:10], g[10:])
}

// MarshalText writes the 8-4-4-4-12 form.
func (g GUID) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

// mustGUID parses a constant GUID in 8-4-4-4-12 form.
func mustGUID(s string) GUID {
	var g GUID
	var d1 uint32
	var d2, d3 uint16
	var d4 [8]byte
	_, err := fmt.Sscanf(s, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", &d1, &d2, &d3,
		&d4[0], &d4[1], &d4[2], &d4[3], &d4[4], &d4[5], &d4[6], &d4[7])
	if err != nil {
		panic("vhdx: bad GUID constant " + s)
	}
	le := binary.LittleEndian
	le.PutUint32(g[0:], d1)
	le.PutUint16(g[4:], d2)
	le.PutUint16(g[6:], d3)
	copy(g[8:], d4[:])
	return g
}

// Region and metadata item identifiers.
var (
	guidBAT       = mustGUID("2dc27766-f623-4200-9d64-115e9bfd4a08")
	guidMetadata  = mustGUID("8b7ca206-4790-4b9a-b8fe-575f050f886e")
	guidFileParam = mustGUID("caa16737-fa36-4d43-b3b6-33f0aa44e76b")
	guidDiskSize  = mustGUID("2fa54224-cd1b-4876-b211-5dbed83bf4b8")
	guidPage83    = mustGUID("beca12ab-b2e6-4523-93ef-c309e000c746")
	guidLogical   = mustGUID("8141bf1d-a96f-4709-ba47-f233a8faab5f")
	guidPhysical  = mustGUID("cda348c7-445d-4471-9cc9-e9885251c556")
	guidParentLoc = mustGUID("a8d35f2d-b30b-454d-abf7-d3d84834ab0c")
)

// Metadata entry flags.
const (
	mdIsUser        = 1
	mdIsVirtualDisk = 2
	mdIsRequired    = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum is the CRC-32C of b with the 4 bytes at off taken as zero.
func checksum(b []byte, off int) uint32 {
	var zero [4]byte
	c := crc32.Update(0, castagnoli, b[:off])
	c = crc32.Update(c, castagnoli, zero[:])
	return crc32.Update(c, castagnoli, b[off+4:])
}

// Header is a VHDX header (one of the two copies in the header section).
type Header struct {
	Checksum       uint32 `json:"checksum"`
	SequenceNumber uint64 `json:"sequenceNumber"`
	FileWriteGUID  GUID   `json:"fileWriteGuid"`
	DataWriteGUID  GUID   `json:"dataWriteGuid"`
	LogGUID        GUID   `json:"logGuid"`
	LogVersion     uint16 `json:"logVersion"`
	Version        uint16 `json:"version"`
	LogLength      uint32 `json:"logLength"`
	LogOffset      uint64 `json:"logOffset"`
}

// put encodes h into a 4 KiB buffer with its checksum.
func (h *Header) put(b []byte) {
	clear(b[:headerSize])
	le := binary.LittleEndian
	copy(b, "head")
	le.PutUint64(b[8:], h.SequenceNumber)
	copy(b[16:], h.FileWriteGUID[:])
	copy(b[32:], h.DataWriteGUID[:])
	copy(b[48:], h.LogGUID[:])
	le.PutUint16(b[64:], h.LogVersion)
	le.PutUint16(b[66:], h.Version)
	le.PutUint32(b[68:], h.LogLength)
	le.PutUint64(b[72:], h.LogOffset)
	h.Checksum = checksum(b[:headerSize], 4)
	le.PutUint32(b[4:], h.Checksum)
}

// parseHeader decodes a 4 KiB header; ok says whether its signature and
// checksum are right.
func parseHeader(b []byte) (h Header, sigOK, crcOK bool) {
	le := binary.LittleEndian
	h.Checksum = le.Uint32(b[4:])
	h.SequenceNumber = le.Uint64(b[8:])
	copy(h.FileWriteGUID[:], b[16:])
	copy(h.DataWriteGUID[:], b[32:])
	copy(h.LogGUID[:], b[48:])
	h.LogVersion = le.Uint16(b[64:])
	h.Version = le.Uint16(b[66:])
	h.LogLength = le.Uint32(b[68:])
	h.LogOffset = le.Uint64(b[72:])
	return h, string(b[:4]) == "head", checksum(b[:headerSize], 4) == h.Checksum
}

// Region is an entry of the region table.
type Region struct {
	GUID     GUID   `json:"guid"`
	Offset   uint64 `json:"offset"`
	Length   uint32 `json:"length"`
	Required bool   `json:"required"`
}

// putRegionTable encodes a 64 KiB region table.
func putRegionTable(b []byte, rs []Region) {
	clear(b[:regionTableSize])
	le := binary.LittleEndian
	copy(b, "regi")
	le.PutUint32(b[8:], uint32(len(rs)))
	for i, r := range rs {
		e := b[16+32*i:]
		copy(e, r.GUID[:])
		le.PutUint64(e[16:], r.Offset)
		le.PutUint32(e[24:], r.Length)
		if r.Required {
			le.PutUint32(e[28:], 1)
		}
	}
	le.PutUint32(b[4:], checksum(b[:regionTableSize], 4))
}

// parseRegionTable decodes a 64 KiB region table at file offset off.
func parseRegionTable(b []byte, off int64) ([]Region, error) {
	le := binary.LittleEndian
	if string(b[:4]) != "regi" {
		return nil, formatErr(ErrMalformed, off, "region table", "signature %q, want \"regi\"", b[:4])
	}
	if checksum(b[:regionTableSize], 4) != le.Uint32(b[4:]) {
		return nil, formatErr(ErrChecksum, off+4, "region table", "CRC-32C mismatch")
	}
	n := le.Uint32(b[8:])
	if n > maxTableEntries {
		return nil, formatErr(ErrMalformed, off+8, "region table", "%d entries, at most %d allowed", n, maxTableEntries)
	}
	rs := make([]Region, n)
	for i := range rs {
		e := b[16+32*i:]
		copy(rs[i].GUID[:], e)
		rs[i].Offset = le.Uint64(e[16:])
		rs[i].Length = le.Uint32(e[24:])
		rs[i].Required = le.Uint32(e[28:])&1 != 0
	}
	return rs, nil
}

// MetadataItem is an entry of the metadata table.
type MetadataItem struct {
	GUID   GUID   `json:"guid"`
	Offset uint32 `json:"offset"` // from the start of the metadata region
	Length uint32 `json:"length"`
	Flags  uint32 `json:"flags"` // 1 IsUser, 2 IsVirtualDisk, 4 IsRequired
}

// chunkRatio is the number of payload blocks one sector bitmap block
// covers.
func chunkRatio(blockSize, logical uint32) int64 {
	return (int64(1) << 23) * int64(logical) / int64(blockSize)
}

// batEntries is the number of BAT entries of a non-differencing disk:
// payload entries with a sector bitmap entry after every chunkRatio of them
// (only the last, partial chunk has none).
func batEntries(dataBlocks, ratio int64) int64 {
	if dataBlocks == 0 {
		return 0
	}
	return dataBlocks + (dataBlocks-1)/ratio
}

// batIndex is the BAT index of payload block i.
func batIndex(i, ratio int64) int64 { return i + i/ratio }

func validBlockSize(bs uint32) bool {
	return bs >= MiB && bs <= 256*MiB && bs&(bs-1) == 0
}

func validSectorSize(s uint32) bool { return s == 512 || s == 4096 }
