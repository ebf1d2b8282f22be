package vmdk

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Layout constants of a streamOptimized VMDK as this package writes it.
const (
	SectorSize       = 512
	GrainSectors     = 128                       // grainSize in the header
	GrainSize        = GrainSectors * SectorSize // 64 KiB
	GTEsPerGT        = 512                       // numGTEsPerGT
	DescriptorOffset = 1                         // sectors
	DescriptorSize   = 20                        // sectors
	OverHead         = 128                       // sectors before the first grain
	Version          = 3
	Flags            = 0x00030001 // valid newline test, compressed grains, markers

	// GDAtEnd is the header's gdOffset of a streamOptimized file: the real
	// offset is in the footer.
	GDAtEnd = ^uint64(0)

	// MaxCapacity is the largest disk (in bytes) this package writes or
	// reads: 64 TiB, which keeps the grain directory at most 8 MiB.
	MaxCapacity = 64 << 40

	// Flag bits.
	FlagNewlineTest = 1 << 0
	FlagZeroGTE     = 1 << 2 // grain table entry 1 means "zero grain"
	FlagCompressed  = 1 << 16
	FlagMarkers     = 1 << 17

	// Marker types (the u32 at byte 12 of a metadata marker).
	MarkerEOS    = 0
	MarkerGT     = 1
	MarkerGD     = 2
	MarkerFooter = 3

	// CompressDeflate is compressAlgorithm 1: zlib (RFC 1950) streams.
	CompressDeflate = 1

	magic = 0x564d444b // "KDMV" little-endian

	maxDescriptorSectors = 2048 // 1 MiB of descriptor text at most
)

// Header is the 512-byte sparse extent header (also the footer).
type Header struct {
	Version           uint32  `json:"version"`
	Flags             uint32  `json:"flags"`
	Capacity          uint64  `json:"capacity"` // sectors
	GrainSize         uint64  `json:"grainSize"`
	DescriptorOffset  uint64  `json:"descriptorOffset"`
	DescriptorSize    uint64  `json:"descriptorSize"`
	NumGTEsPerGT      uint32  `json:"numGTEsPerGT"`
	RGDOffset         uint64  `json:"rgdOffset"`
	GDOffset          uint64  `json:"gdOffset"`
	OverHead          uint64  `json:"overHead"`
	UncleanShutdown   uint8   `json:"uncleanShutdown"`
	NewlineChars      [4]byte `json:"newlineChars"`
	CompressAlgorithm uint16  `json:"compressAlgorithm"`
}

var newlineChars = [4]byte{'\n', ' ', '\r', '\n'}

// streamHeader returns the header of a streamOptimized disk of the given
// number of sectors, with gdOffset = GDAtEnd.
func streamHeader(sectors uint64) Header {
	return Header{
		Version: Version, Flags: Flags, Capacity: sectors, GrainSize: GrainSectors,
		DescriptorOffset: DescriptorOffset, DescriptorSize: DescriptorSize,
		NumGTEsPerGT: GTEsPerGT, GDOffset: GDAtEnd, OverHead: OverHead,
		NewlineChars: newlineChars, CompressAlgorithm: CompressDeflate,
	}
}

// MarshalBinary encodes the header as one 512-byte sector.
func (h *Header) MarshalBinary() ([]byte, error) {
	b := make([]byte, SectorSize)
	h.put(b)
	return b, nil
}

func (h *Header) put(b []byte) {
	le := binary.LittleEndian
	le.PutUint32(b[0:], magic)
	le.PutUint32(b[4:], h.Version)
	le.PutUint32(b[8:], h.Flags)
	le.PutUint64(b[12:], h.Capacity)
	le.PutUint64(b[20:], h.GrainSize)
	le.PutUint64(b[28:], h.DescriptorOffset)
	le.PutUint64(b[36:], h.DescriptorSize)
	le.PutUint32(b[44:], h.NumGTEsPerGT)
	le.PutUint64(b[48:], h.RGDOffset)
	le.PutUint64(b[56:], h.GDOffset)
	le.PutUint64(b[64:], h.OverHead)
	b[72] = h.UncleanShutdown
	copy(b[73:77], h.NewlineChars[:])
	le.PutUint16(b[77:], h.CompressAlgorithm)
	clear(b[79:SectorSize])
}

// UnmarshalBinary decodes a header sector; it fails with ErrBadMagic when
// the magic is not "KDMV" and ErrTruncated when b is shorter than 512 bytes.
func (h *Header) UnmarshalBinary(b []byte) error {
	if len(b) < SectorSize {
		return formatErr(ErrTruncated, 0, "header needs %d bytes, have %d", SectorSize, len(b))
	}
	le := binary.LittleEndian
	if le.Uint32(b[0:]) != magic {
		return formatErr(ErrBadMagic, 0, "magic %q", b[0:4])
	}
	*h = Header{
		Version: le.Uint32(b[4:]), Flags: le.Uint32(b[8:]), Capacity: le.Uint64(b[12:]),
		GrainSize: le.Uint64(b[20:]), DescriptorOffset: le.Uint64(b[28:]),
		DescriptorSize: le.Uint64(b[36:]), NumGTEsPerGT: le.Uint32(b[44:]),
		RGDOffset: le.Uint64(b[48:]), GDOffset: le.Uint64(b[56:]), OverHead: le.Uint64(b[64:]),
		UncleanShutdown: b[72], CompressAlgorithm: le.Uint16(b[77:]),
	}
	copy(h.NewlineChars[:], b[73:77])
	return nil
}

// putMarker writes a metadata marker sector (val, size 0, type).
func putMarker(b []byte, val uint64, typ uint32) {
	clear(b[:SectorSize])
	binary.LittleEndian.PutUint64(b[0:], val)
	binary.LittleEndian.PutUint32(b[12:], typ)
}

// Descriptor is the parsed text descriptor.
type Descriptor struct {
	Version    string            `json:"version,omitempty"`
	CID        string            `json:"cid"`
	ParentCID  string            `json:"parentCid"`
	CreateType string            `json:"createType"`
	Extents    []Extent          `json:"extents"`
	DDB        map[string]string `json:"ddb"`
	// Order lists the keys (version, encoding, CID, parentCID, createType)
	// in the order they appear: FORMATS.md wants CID before parentCID.
	Order []string `json:"order,omitempty"`
}

// Extent is one extent line: `RW 2048 SPARSE "disk.vmdk"`.
type Extent struct {
	Access  string `json:"access"`
	Sectors uint64 `json:"sectors"`
	Type    string `json:"type"`
	File    string `json:"file"`
}

// Adapter types accepted in Options.AdapterType.
const (
	AdapterLSILogic = "lsilogic"
	AdapterIDE      = "ide"
	AdapterBusLogic = "buslogic"
)

// geometry returns (cylinders, heads, sectors) for the descriptor: 255 heads
// and 63 sectors with min(65535, ceil(sectors/16065)) cylinders for SCSI
// adapters; 16 heads, 63 sectors, min(16383, ceil(sectors/1008)) for IDE.
func geometry(sectors uint64, adapter string) (uint64, uint64, uint64) {
	heads, maxCyl := uint64(255), uint64(65535)
	if adapter == AdapterIDE {
		heads, maxCyl = 16, 16383
	}
	per := heads * 63
	cyl := (sectors + per - 1) / per
	return min(cyl, maxCyl), heads, 63
}

type descParams struct {
	sectors       uint64
	cid           uint32
	longContentID string
	adapter       string
	hwVersion     int
	toolsVersion  int
	fileName      string
}

// descriptorText renders the descriptor; it must fit DescriptorSize sectors.
func descriptorText(p descParams) string {
	cyl, heads, secs := geometry(p.sectors, p.adapter)
	var b strings.Builder
	b.WriteString("# Disk DescriptorFile\n")
	b.WriteString("version=1\n")
	b.WriteString("encoding=\"UTF-8\"\n")
	fmt.Fprintf(&b, "CID=%08x\n", p.cid)
	b.WriteString("parentCID=ffffffff\n")
	b.WriteString("createType=\"streamOptimized\"\n")
	b.WriteString("\n# Extent description\n")
	fmt.Fprintf(&b, "RW %d SPARSE \"%s\"\n", p.sectors, p.fileName)
	b.WriteString("\n# The Disk Data Base\n#DDB\n\n")
	fmt.Fprintf(&b, "ddb.adapterType = \"%s\"\n", p.adapter)
	fmt.Fprintf(&b, "ddb.geometry.cylinders = \"%d\"\n", cyl)
	fmt.Fprintf(&b, "ddb.geometry.heads = \"%d\"\n", heads)
	fmt.Fprintf(&b, "ddb.geometry.sectors = \"%d\"\n", secs)
	fmt.Fprintf(&b, "ddb.longContentID = \"%s\"\n", p.longContentID)
	fmt.Fprintf(&b, "ddb.toolsVersion = \"%d\"\n", p.toolsVersion)
	fmt.Fprintf(&b, "ddb.virtualHWVersion = \"%d\"\n", p.hwVersion)
	return b.String()
}

// ParseDescriptor parses descriptor text (up to the first NUL byte). It is
// lenient: unknown lines are ignored; ErrCorrupt only for lines that cannot
// be understood at all inside the extent section.
func ParseDescriptor(text []byte) (*Descriptor, error) {
	if i := strings.IndexByte(string(text), 0); i >= 0 {
		text = text[:i]
	}
	if len(text) > maxDescriptorSectors*SectorSize {
		return nil, formatErr(ErrTooLarge, 0, "descriptor of %d bytes", len(text))
	}
	d := &Descriptor{DDB: map[string]string{}}
	sc := bufio.NewScanner(strings.NewReader(string(text)))
	sc.Buffer(make([]byte, 0, 4096), len(text)+1)
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimSuffix(sc.Text(), "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if ext, ok := parseExtent(line); ok {
			d.Extents = append(d.Extents, ext)
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		v = strings.Trim(strings.TrimSpace(v), `"`)
		if strings.HasPrefix(k, "ddb.") {
			d.DDB[k] = v
			continue
		}
		switch k {
		case "version":
			d.Version = v
		case "CID":
			d.CID = v
		case "parentCID":
			d.ParentCID = v
		case "createType":
			d.CreateType = v
		default:
			continue
		}
		d.Order = append(d.Order, k)
	}
	return d, nil
}

func parseExtent(line string) (Extent, bool) {
	f := strings.Fields(line)
	if len(f) < 4 {
		return Extent{}, false
	}
	switch f[0] {
	case "RW", "RDONLY", "NOACCESS":
	default:
		return Extent{}, false
	}
	n, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return Extent{}, false
	}
	rest := skipFields(line, 3)
	name := rest
	if strings.HasPrefix(rest, `"`) {
		if j := strings.IndexByte(rest[1:], '"'); j >= 0 {
			name = rest[1 : 1+j]
		}
	}
	return Extent{Access: f[0], Sectors: n, Type: f[2], File: name}, true
}

// skipFields returns s after its first n whitespace-separated fields.
func skipFields(s string, n int) string {
	for ; n > 0; n-- {
		s = strings.TrimLeft(s, " \t")
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return ""
		}
		s = s[i:]
	}
	return strings.TrimSpace(s)
}
