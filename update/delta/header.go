package delta

import (
	"encoding/binary"
	"encoding/hex"
	"io"
)

// Magic opens every patch; the last byte is the format version.
const Magic = "FKDELTA1"

// FormatName is the name the update package records for this format.
const FormatName = "fkdelta1"

// HeaderSize is the size of the fixed header.
const HeaderSize = 8 + 8 + 8 + 4 + 32 + 32

// SegmentSize is the length of new file each segment covers (the last
// one may be shorter). Segments are diffed and compressed independently,
// which makes the output identical for any worker count and bounds what
// the applier holds: one segment's streams.
const SegmentSize = 4 << 20

// MaxInputSize is the largest old or new file Diff accepts: old-file
// positions in the index are 32-bit.
const MaxInputSize = 1<<32 - 1

// Header is the fixed start of a patch.
type Header struct {
	OldSize   int64    `json:"oldSize"`
	NewSize   int64    `json:"newSize"`
	Segment   int      `json:"segment"`
	OldSHA256 [32]byte `json:"-"`
	NewSHA256 [32]byte `json:"-"`
}

// OldDigest and NewDigest return the hex SHA-256 of the old and new files.
func (h *Header) OldDigest() string { return hex.EncodeToString(h.OldSHA256[:]) }
func (h *Header) NewDigest() string { return hex.EncodeToString(h.NewSHA256[:]) }

func (h *Header) marshal() []byte {
	b := make([]byte, HeaderSize)
	copy(b, Magic)
	binary.BigEndian.PutUint64(b[8:], uint64(h.OldSize))
	binary.BigEndian.PutUint64(b[16:], uint64(h.NewSize))
	binary.BigEndian.PutUint32(b[24:], uint32(h.Segment))
	copy(b[28:], h.OldSHA256[:])
	copy(b[60:], h.NewSHA256[:])
	return b
}

// ReadHeader reads and checks the fixed header of a patch. It reads
// exactly HeaderSize bytes.
func ReadHeader(r io.Reader) (*Header, error) {
	var b [HeaderSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return nil, perr(ErrMalformed, -1, "header: %v", err)
	}
	if string(b[:7]) != Magic[:7] {
		return nil, perr(ErrMalformed, -1, "not a fogkit delta (magic %q)", b[:8])
	}
	if b[7] != Magic[7] {
		return nil, perr(ErrUnsupported, -1, "format version %q (this reader knows %q)", b[7], Magic[7])
	}
	h := &Header{
		OldSize: int64(binary.BigEndian.Uint64(b[8:])),
		NewSize: int64(binary.BigEndian.Uint64(b[16:])),
		Segment: int(binary.BigEndian.Uint32(b[24:])),
	}
	copy(h.OldSHA256[:], b[28:60])
	copy(h.NewSHA256[:], b[60:92])
	if h.OldSize < 0 || h.OldSize > MaxInputSize || h.NewSize < 0 || h.NewSize > MaxInputSize {
		return nil, perr(ErrTooLarge, -1, "sizes old %d new %d out of range", h.OldSize, h.NewSize)
	}
	if h.Segment != SegmentSize {
		return nil, perr(ErrMalformed, -1, "segment size %d (want %d)", h.Segment, SegmentSize)
	}
	return h, nil
}
