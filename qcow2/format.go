package qcow2

import (
	"encoding/binary"
	"fmt"
)

// On-disk constants (qemu's docs/interop/qcow2.txt).
const (
	magic          = 0x514649fb // "QFI\xfb"
	minClusterBits = 9
	maxClusterBits = 21

	// Header layout: version 2 headers are 72 bytes, version 3 at least
	// 104; qemu writes 112 (the compression type byte and padding).
	headerV2Len = 72
	headerV3Len = 104
	headerLen   = 112

	incDirty           = 1 << 0
	incCorrupt         = 1 << 1
	incExternalData    = 1 << 2
	incCompressionType = 1 << 3
	incExtendedL2      = 1 << 4
	incKnown           = incDirty | incCorrupt | incExternalData | incCompressionType | incExtendedL2

	entryCopied     = uint64(1) << 63
	entryCompressed = uint64(1) << 62
	entryZero       = uint64(1) // standard L2 entry: reads as zeros
	l1OffsetMask    = 0x00fffffffffffe00
	l2OffsetMask    = 0x00fffffffffffe00
	l1Reserved      = 0x7f000000000001ff
	l2Reserved      = 0x3f000000000001fe
	refcountOrder   = 4 // 16-bit refcounts, qemu's default

	// maxL1Bytes is qemu's limit on the L1 table (QCOW_MAX_L1_SIZE).
	maxL1Bytes = 32 << 20
	// maxRefTableBytes is qemu's limit on the refcount table.
	maxRefTableBytes = 8 << 20
	// MaxSize is the largest virtual size this package writes or reads:
	// 2^56 bytes, the reach of a host offset.
	MaxSize = int64(1) << 56
)

// Compression type values of the header byte at offset 104.
const (
	compressionTypeZlib = 0
	compressionTypeZstd = 1
)

// Header is the decoded qcow2 header.
type Header struct {
	Version               uint32 `json:"version"`
	BackingFileOffset     uint64 `json:"backingFileOffset"`
	BackingFileSize       uint32 `json:"backingFileSize"`
	ClusterBits           uint32 `json:"clusterBits"`
	Size                  uint64 `json:"size"`
	CryptMethod           uint32 `json:"cryptMethod"`
	L1Size                uint32 `json:"l1Size"`
	L1TableOffset         uint64 `json:"l1TableOffset"`
	RefcountTableOffset   uint64 `json:"refcountTableOffset"`
	RefcountTableClusters uint32 `json:"refcountTableClusters"`
	NbSnapshots           uint32 `json:"nbSnapshots"`
	SnapshotsOffset       uint64 `json:"snapshotsOffset"`
	IncompatibleFeatures  uint64 `json:"incompatibleFeatures"`
	CompatibleFeatures    uint64 `json:"compatibleFeatures"`
	AutoclearFeatures     uint64 `json:"autoclearFeatures"`
	RefcountOrder         uint32 `json:"refcountOrder"`
	HeaderLength          uint32 `json:"headerLength"`
	CompressionType       uint8  `json:"compressionType"`
}

// CompressionName is "zlib" or "zstd" (or "unknown").
func (h *Header) CompressionName() string {
	switch h.CompressionType {
	case compressionTypeZlib:
		return CompressionZlib
	case compressionTypeZstd:
		return CompressionZstd
	}
	return "unknown"
}

func (h *Header) encode() []byte {
	b := make([]byte, headerLen+8) // header and the end-of-extensions marker
	be := binary.BigEndian
	be.PutUint32(b[0:], magic)
	be.PutUint32(b[4:], h.Version)
	be.PutUint64(b[8:], h.BackingFileOffset)
	be.PutUint32(b[16:], h.BackingFileSize)
	be.PutUint32(b[20:], h.ClusterBits)
	be.PutUint64(b[24:], h.Size)
	be.PutUint32(b[32:], h.CryptMethod)
	be.PutUint32(b[36:], h.L1Size)
	be.PutUint64(b[40:], h.L1TableOffset)
	be.PutUint64(b[48:], h.RefcountTableOffset)
	be.PutUint32(b[56:], h.RefcountTableClusters)
	be.PutUint32(b[60:], h.NbSnapshots)
	be.PutUint64(b[64:], h.SnapshotsOffset)
	be.PutUint64(b[72:], h.IncompatibleFeatures)
	be.PutUint64(b[80:], h.CompatibleFeatures)
	be.PutUint64(b[88:], h.AutoclearFeatures)
	be.PutUint32(b[96:], h.RefcountOrder)
	be.PutUint32(b[100:], h.HeaderLength)
	b[104] = h.CompressionType
	return b
}

// parseHeader decodes and checks the header; b holds at least the first
// min(file size, cluster) bytes that are available, fileSize is the size of
// the whole file.
func parseHeader(b []byte, fileSize int64) (*Header, error) {
	if len(b) < headerV2Len {
		return nil, formatErr(ErrTruncated, 0, "header", "%d bytes, want at least %d", len(b), headerV2Len)
	}
	be := binary.BigEndian
	if be.Uint32(b) != magic {
		return nil, formatErr(ErrMalformed, 0, "header.magic", "%#x", be.Uint32(b))
	}
	h := &Header{
		Version:               be.Uint32(b[4:]),
		BackingFileOffset:     be.Uint64(b[8:]),
		BackingFileSize:       be.Uint32(b[16:]),
		ClusterBits:           be.Uint32(b[20:]),
		Size:                  be.Uint64(b[24:]),
		CryptMethod:           be.Uint32(b[32:]),
		L1Size:                be.Uint32(b[36:]),
		L1TableOffset:         be.Uint64(b[40:]),
		RefcountTableOffset:   be.Uint64(b[48:]),
		RefcountTableClusters: be.Uint32(b[56:]),
		NbSnapshots:           be.Uint32(b[60:]),
		SnapshotsOffset:       be.Uint64(b[64:]),
		RefcountOrder:         refcountOrder,
		HeaderLength:          headerV2Len,
	}
	switch h.Version {
	case 2:
	case 3:
		if len(b) < headerV3Len {
			return nil, formatErr(ErrTruncated, 0, "header", "%d bytes, want at least %d", len(b), headerV3Len)
		}
		h.IncompatibleFeatures = be.Uint64(b[72:])
		h.CompatibleFeatures = be.Uint64(b[80:])
		h.AutoclearFeatures = be.Uint64(b[88:])
		h.RefcountOrder = be.Uint32(b[96:])
		h.HeaderLength = be.Uint32(b[100:])
		if h.HeaderLength < headerV3Len || h.HeaderLength%8 != 0 || int(h.HeaderLength) > len(b) {
			return nil, formatErr(ErrMalformed, 100, "header.header_length", "%d", h.HeaderLength)
		}
		if h.HeaderLength > headerV3Len {
			h.CompressionType = b[104]
		}
	default:
		return nil, formatErr(ErrUnsupported, 4, "header.version", "%d", h.Version)
	}
	if h.ClusterBits < minClusterBits || h.ClusterBits > maxClusterBits {
		return nil, formatErr(ErrMalformed, 20, "header.cluster_bits", "%d (want %d..%d)", h.ClusterBits, minClusterBits, maxClusterBits)
	}
	if h.BackingFileOffset != 0 || h.BackingFileSize != 0 {
		return nil, formatErr(ErrUnsupported, 8, "header.backing_file_offset", "backing files are not supported")
	}
	if h.CryptMethod != 0 {
		return nil, formatErr(ErrUnsupported, 32, "header.crypt_method", "encryption method %d", h.CryptMethod)
	}
	if f := h.IncompatibleFeatures; f&^incKnown != 0 {
		return nil, formatErr(ErrUnsupported, 72, "header.incompatible_features", "unknown bits %#x", f&^incKnown)
	}
	switch {
	case h.IncompatibleFeatures&incCorrupt != 0:
		return nil, formatErr(ErrMalformed, 72, "header.incompatible_features", "image marked corrupt")
	case h.IncompatibleFeatures&incExternalData != 0:
		return nil, formatErr(ErrUnsupported, 72, "header.incompatible_features", "external data file")
	case h.IncompatibleFeatures&incExtendedL2 != 0:
		return nil, formatErr(ErrUnsupported, 72, "header.incompatible_features", "extended L2 entries")
	}
	if h.IncompatibleFeatures&incCompressionType == 0 && h.CompressionType != compressionTypeZlib {
		return nil, formatErr(ErrMalformed, 104, "header.compression_type", "%d without the compression type feature bit", h.CompressionType)
	}
	if h.CompressionType > compressionTypeZstd {
		return nil, formatErr(ErrUnsupported, 104, "header.compression_type", "%d", h.CompressionType)
	}
	if h.RefcountOrder > 6 {
		return nil, formatErr(ErrMalformed, 96, "header.refcount_order", "%d", h.RefcountOrder)
	}
	if h.Size > uint64(MaxSize) {
		return nil, formatErr(ErrTooLarge, 24, "header.size", "%d", h.Size)
	}
	cs := uint64(1) << h.ClusterBits
	l2Entries := cs / 8
	need := (h.Size + cs*l2Entries - 1) / (cs * l2Entries)
	if uint64(h.L1Size) < need {
		return nil, formatErr(ErrMalformed, 36, "header.l1_size", "%d entries cannot map %d bytes", h.L1Size, h.Size)
	}
	if uint64(h.L1Size)*8 > maxL1Bytes {
		return nil, formatErr(ErrTooLarge, 36, "header.l1_size", "%d entries", h.L1Size)
	}
	if h.L1TableOffset%cs != 0 {
		return nil, formatErr(ErrMalformed, 40, "header.l1_table_offset", "%#x not cluster-aligned", h.L1TableOffset)
	}
	if h.L1Size > 0 && (h.L1TableOffset == 0 || h.L1TableOffset > uint64(fileSize) || uint64(h.L1Size)*8 > uint64(fileSize)-h.L1TableOffset) {
		return nil, formatErr(ErrTruncated, 40, "header.l1_table_offset", "L1 table at %#x (%d entries) beyond the file's %d bytes", h.L1TableOffset, h.L1Size, fileSize)
	}
	if h.RefcountTableOffset%cs != 0 || h.RefcountTableOffset == 0 {
		return nil, formatErr(ErrMalformed, 48, "header.refcount_table_offset", "%#x", h.RefcountTableOffset)
	}
	if uint64(h.RefcountTableClusters)*cs > maxRefTableBytes {
		return nil, formatErr(ErrTooLarge, 56, "header.refcount_table_clusters", "%d", h.RefcountTableClusters)
	}
	if h.RefcountTableOffset > uint64(fileSize) || uint64(h.RefcountTableClusters)*cs > uint64(fileSize)-h.RefcountTableOffset {
		return nil, formatErr(ErrTruncated, 48, "header.refcount_table_offset", "refcount table at %#x (%d clusters) beyond the file's %d bytes", h.RefcountTableOffset, h.RefcountTableClusters, fileSize)
	}
	return h, nil
}

// compressedLayout returns the shift and mask of the sector-count field of
// a compressed L2 entry: x = 62 - (cluster_bits - 8).
func compressedLayout(clusterBits uint32) (shift uint, offMask, countMask uint64) {
	x := uint(62 - (clusterBits - 8))
	return x, uint64(1)<<x - 1, uint64(1)<<(clusterBits-8) - 1
}

func (h *Header) String() string {
	return fmt.Sprintf("qcow2 v%d, %d bytes, %d-byte clusters", h.Version, h.Size, uint64(1)<<h.ClusterBits)
}
