package vhd

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// On-disk constants of the Virtual Hard Disk Image Format Specification.
const (
	SectorSize    = 512
	FooterSize    = 512     // the hard disk footer, at the end of every VHD
	HeaderSize    = 1024    // the dynamic disk header
	BlockSize     = 2 << 20 // the block size this package writes (the spec's default)
	batUnused     = 0xFFFFFFFF
	footerCookie  = "conectix"
	headerCookie  = "cxsparse"
	formatVersion = 0x00010000
	featureBit    = 0x00000002 // "reserved", always set

	diskTypeFixed        = 2
	diskTypeDynamic      = 3
	diskTypeDifferencing = 4

	// MaxDynamicSize is the largest virtual size this package writes as a
	// dynamic disk and the largest qemu accepts: 0xff000000 sectors
	// (2040 GiB). BAT entries are 32-bit sector offsets, so a dynamic file
	// cannot grow much past 2 TiB anyway.
	MaxDynamicSize = 0xff000000 * SectorSize
	// MaxFixedSize is the largest virtual size this package writes or
	// reads: 64 TiB (Azure's largest managed disk is 32 TiB).
	MaxFixedSize = 64 << 40
	// maxBATEntries caps the table a reader loads (32 MiB of entries).
	maxBATEntries = 8 << 20
	// maxBlockSize caps the block size a reader accepts.
	maxBlockSize = 256 << 20
)

// Type names of Options.Type and Report.Type.
const (
	TypeFixed        = "fixed"
	TypeDynamic      = "dynamic"
	TypeDifferencing = "differencing"
)

// epoch is the origin of VHD timestamps.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// ID is a VHD unique identifier (a UUID). It reads and writes as 32
// lower-case hex digits in JSON.
type ID [16]byte

func (id ID) String() string { return hex.EncodeToString(id[:]) }

// MarshalText writes the ID as hex.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText reads 32 hex digits.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	if err != nil || len(v) != len(id) {
		return fmt.Errorf("%w: unique id %q", ErrInvalid, b)
	}
	copy(id[:], v)
	return nil
}

// Geometry is the CHS geometry of the footer.
type Geometry struct {
	Cylinders       uint16 `json:"cylinders"`
	Heads           uint8  `json:"heads"`
	SectorsPerTrack uint8  `json:"sectorsPerTrack"`
}

// Sectors is the disk size the geometry describes, in sectors.
func (g Geometry) Sectors() int64 {
	return int64(g.Cylinders) * int64(g.Heads) * int64(g.SectorsPerTrack)
}

// GeometryFor computes the CHS geometry of a disk of size bytes with the
// algorithm of the specification's appendix. It describes at most size
// bytes (the remainder of the last cylinder is lost to CHS), and at most
// 65535×16×255 sectors (about 127 GiB).
func GeometryFor(size int64) Geometry {
	total := size / SectorSize
	total = min(total, 65535*16*255)
	var spt, heads, cth int64
	if total >= 65535*16*63 {
		spt, heads = 255, 16
		cth = total / spt
	} else {
		spt = 17
		cth = total / spt
		heads = max((cth+1023)/1024, 4)
		if cth >= heads*1024 || heads > 16 {
			spt, heads = 31, 16
			cth = total / spt
		}
		if cth >= heads*1024 {
			spt, heads = 63, 16
			cth = total / spt
		}
	}
	return Geometry{Cylinders: uint16(cth / heads), Heads: uint8(heads), SectorsPerTrack: uint8(spt)}
}

// Footer is the 512-byte hard disk footer (big-endian on disk).
type Footer struct {
	Features       uint32   `json:"features"`
	Version        uint32   `json:"version"`
	DataOffset     uint64   `json:"dataOffset"` // dynamic header offset; all ones for fixed disks
	Timestamp      uint32   `json:"timestamp"`  // seconds since 2000-01-01 00:00:00 UTC
	CreatorApp     string   `json:"creatorApp"`
	CreatorVersion uint32   `json:"creatorVersion"`
	CreatorHostOS  string   `json:"creatorHostOs"`
	OriginalSize   uint64   `json:"originalSize"`
	CurrentSize    uint64   `json:"currentSize"`
	Geometry       Geometry `json:"geometry"`
	DiskType       uint32   `json:"diskType"`
	Checksum       uint32   `json:"checksum"`
	UniqueID       ID       `json:"uniqueId"`
	SavedState     bool     `json:"savedState"`
}

// Time is the footer timestamp as a time.
func (f *Footer) Time() time.Time { return epoch.Add(time.Duration(f.Timestamp) * time.Second) }

// checksum is the one's complement of the byte sum of b, with the four
// bytes at skip (the checksum field) counted as zeros.
func checksum(b []byte, skip int) uint32 {
	var s uint32
	for i, c := range b {
		if i < skip || i >= skip+4 {
			s += uint32(c)
		}
	}
	return ^s
}

func put4(b []byte, s string) { copy(b, (s + "\x00\x00\x00\x00")[:4]) }

// marshal encodes the footer and sets its checksum (the field is
// recomputed, f.Checksum is ignored).
func (f *Footer) marshal() []byte {
	b := make([]byte, FooterSize)
	be := binary.BigEndian
	copy(b, footerCookie)
	be.PutUint32(b[8:], f.Features)
	be.PutUint32(b[12:], f.Version)
	be.PutUint64(b[16:], f.DataOffset)
	be.PutUint32(b[24:], f.Timestamp)
	put4(b[28:32], f.CreatorApp)
	be.PutUint32(b[32:], f.CreatorVersion)
	put4(b[36:40], f.CreatorHostOS)
	be.PutUint64(b[40:], f.OriginalSize)
	be.PutUint64(b[48:], f.CurrentSize)
	be.PutUint16(b[56:], f.Geometry.Cylinders)
	b[58] = f.Geometry.Heads
	b[59] = f.Geometry.SectorsPerTrack
	be.PutUint32(b[60:], f.DiskType)
	copy(b[68:84], f.UniqueID[:])
	if f.SavedState {
		b[84] = 1
	}
	be.PutUint32(b[64:], checksum(b, 64))
	return b
}

// parseFooter decodes a footer found at off; it checks the cookie and the
// checksum only.
func parseFooter(b []byte, off int64) (*Footer, error) {
	if len(b) < FooterSize || !bytes.Equal(b[:8], []byte(footerCookie)) {
		return nil, formatErr(ErrMalformed, off, "no footer cookie %q", footerCookie)
	}
	be := binary.BigEndian
	f := &Footer{
		Features: be.Uint32(b[8:]), Version: be.Uint32(b[12:]), DataOffset: be.Uint64(b[16:]),
		Timestamp: be.Uint32(b[24:]), CreatorApp: string(b[28:32]), CreatorVersion: be.Uint32(b[32:]),
		CreatorHostOS: string(b[36:40]), OriginalSize: be.Uint64(b[40:]), CurrentSize: be.Uint64(b[48:]),
		Geometry: Geometry{be.Uint16(b[56:]), b[58], b[59]}, DiskType: be.Uint32(b[60:]),
		Checksum: be.Uint32(b[64:]), SavedState: b[84] != 0,
	}
	copy(f.UniqueID[:], b[68:84])
	if want := checksum(b[:FooterSize], 64); want != f.Checksum {
		return f, formatErr(ErrChecksum, off, "footer checksum %#08x, computed %#08x", f.Checksum, want)
	}
	return f, nil
}

// DynamicHeader is the 1024-byte dynamic disk header (the fields this
// package uses; parent fields are for differencing disks).
type DynamicHeader struct {
	DataOffset      uint64 `json:"dataOffset"`
	TableOffset     uint64 `json:"tableOffset"`
	Version         uint32 `json:"version"`
	MaxTableEntries uint32 `json:"maxTableEntries"`
	BlockSize       uint32 `json:"blockSize"`
	Checksum        uint32 `json:"checksum"`
}

func (h *DynamicHeader) marshal() []byte {
	b := make([]byte, HeaderSize)
	be := binary.BigEndian
	copy(b, headerCookie)
	be.PutUint64(b[8:], h.DataOffset)
	be.PutUint64(b[16:], h.TableOffset)
	be.PutUint32(b[24:], h.Version)
	be.PutUint32(b[28:], h.MaxTableEntries)
	be.PutUint32(b[32:], h.BlockSize)
	be.PutUint32(b[36:], checksum(b, 36))
	return b
}

func parseHeader(b []byte, off int64) (*DynamicHeader, error) {
	if len(b) < HeaderSize || !bytes.Equal(b[:8], []byte(headerCookie)) {
		return nil, formatErr(ErrMalformed, off, "no dynamic header cookie %q", headerCookie)
	}
	be := binary.BigEndian
	h := &DynamicHeader{DataOffset: be.Uint64(b[8:]), TableOffset: be.Uint64(b[16:]), Version: be.Uint32(b[24:]),
		MaxTableEntries: be.Uint32(b[28:]), BlockSize: be.Uint32(b[32:]), Checksum: be.Uint32(b[36:])}
	if want := checksum(b[:HeaderSize], 36); want != h.Checksum {
		return h, formatErr(ErrChecksum, off, "dynamic header checksum %#08x, computed %#08x", h.Checksum, want)
	}
	return h, nil
}

// bitmapSize is the size of a block's sector bitmap, padded to a sector.
func bitmapSize(blockSize int64) int64 {
	return roundUp((blockSize/SectorSize+7)/8, SectorSize)
}

func typeName(t uint32) string {
	switch t {
	case diskTypeFixed:
		return TypeFixed
	case diskTypeDynamic:
		return TypeDynamic
	case diskTypeDifferencing:
		return TypeDifferencing
	}
	return fmt.Sprintf("type %d", t)
}
