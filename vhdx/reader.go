package vhdx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Disk is an opened VHDX: an io.ReaderAt of the virtual disk. It is safe
// for concurrent use (it keeps no state between reads).
type Disk struct {
	r        io.ReaderAt
	fileSize int64
	info     Info
	ratio    int64
	bat      []byte // the BAT entries in use, 8 bytes each
}

// Info is what the header section and the metadata of a VHDX say.
type Info struct {
	Header             Header         `json:"header"`      // the current header
	HeaderIndex        int            `json:"headerIndex"` // 1 or 2: which copy is current
	Regions            []Region       `json:"regions"`
	VirtualSize        int64          `json:"virtualSize"`
	BlockSize          uint32         `json:"blockSize"`
	LogicalSectorSize  uint32         `json:"logicalSectorSize"`
	PhysicalSectorSize uint32         `json:"physicalSectorSize"`
	VirtualDiskID      GUID           `json:"virtualDiskId"`
	LeaveAllocated     bool           `json:"leaveAllocated"`
	HasParent          bool           `json:"hasParent"`
	BATOffset          int64          `json:"batOffset"`
	BATEntries         int64          `json:"batEntries"`
	MetadataOffset     int64          `json:"metadataOffset"`
	MetadataItems      []MetadataItem `json:"metadataItems"`
}

// readAt reads exactly len(b) bytes at off of a file of size bytes; a
// structure past the end is ErrTruncated.
func readAt(r io.ReaderAt, b []byte, off, size int64, field string) error {
	if off < 0 || off > size || int64(len(b)) > size-off {
		return formatErr(ErrTruncated, off, field, "%d bytes past the end of a %d-byte file", len(b), size)
	}
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return formatErr(ErrTruncated, off+int64(n), field, "file ends early")
	}
	return fmt.Errorf("vhdx: reading %s at offset %d: %w", field, off, err)
}

// Open reads the header section, the metadata and the BAT of a VHDX of
// size bytes. Payload blocks are read on demand. It refuses a log that
// must be replayed and differencing disks (ErrUnsupported), and malformed
// structures with typed errors; memory is bounded by the size of the BAT
// (at most MaxBATBytes, and never more than the file holds).
func Open(r io.ReaderAt, size int64) (*Disk, error) {
	p, err := parse(r, size, nil)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// parse does the work of Open; note, when set, receives the problems that
// a valid image may still have (a bad second copy), for Inspect.
func parse(r io.ReaderAt, size int64, note func(err error)) (*Disk, error) {
	if note == nil {
		note = func(error) {}
	}
	if size < headerSectionSize {
		return nil, formatErr(ErrTruncated, 0, "header section", "file of %d bytes is shorter than the 1 MiB header section", size)
	}
	d := &Disk{r: r, fileSize: size}
	sig := make([]byte, 8)
	if err := readAt(r, sig, 0, size, "file type identifier"); err != nil {
		return nil, err
	}
	if string(sig) != "vhdxfile" {
		return nil, formatErr(ErrMalformed, 0, "file type identifier", "signature %q, want \"vhdxfile\"", sig)
	}

	// Headers: the valid copy with the higher sequence number.
	buf := make([]byte, regionTableSize)
	var hdrErr error
	best := -1
	for i, off := range []int64{headerOffset1, headerOffset2} {
		if err := readAt(r, buf[:headerSize], off, size, "header"); err != nil {
			return nil, err
		}
		h, sigOK, crcOK := parseHeader(buf)
		switch {
		case !sigOK:
			hdrErr = formatErr(ErrMalformed, off, "header", "signature %q, want \"head\"", buf[:4])
		case !crcOK:
			hdrErr = formatErr(ErrChecksum, off+4, "header", "CRC-32C mismatch")
		case h.Version != 1:
			hdrErr = formatErr(ErrUnsupported, off+66, "header", "version %d, want 1", h.Version)
		default:
			if best < 0 || h.SequenceNumber > d.info.Header.SequenceNumber {
				best, d.info.Header, d.info.HeaderIndex = i, h, i+1
			}
			continue
		}
		note(hdrErr)
	}
	if best < 0 {
		return nil, hdrErr
	}
	h := d.info.Header
	hoff := int64(headerOffset1)
	if best == 1 {
		hoff = headerOffset2
	}
	if h.LogGUID != (GUID{}) {
		return nil, formatErr(ErrUnsupported, hoff+48, "header", "log GUID %s is set: the log must be replayed", h.LogGUID)
	}
	if h.LogLength%MiB != 0 || h.LogOffset%MiB != 0 || (h.LogLength != 0 && h.LogOffset < headerSectionSize) {
		return nil, formatErr(ErrMalformed, hoff+68, "header", "log at %d of %d bytes is not MiB-aligned past the header section", h.LogOffset, h.LogLength)
	}

	// Region tables: the first valid copy.
	var regions []Region
	var rtErr error
	for _, off := range []int64{regionTableOffset1, regionTableOffset2} {
		if err := readAt(r, buf, off, size, "region table"); err != nil {
			return nil, err
		}
		rs, err := parseRegionTable(buf, off)
		if err != nil {
			note(err)
			rtErr = err
			continue
		}
		if regions == nil {
			regions = rs
		} else if !slices.Equal(regions, rs) {
			note(formatErr(ErrMalformed, off, "region table", "differs from the first copy"))
		}
	}
	if regions == nil {
		return nil, rtErr
	}
	d.info.Regions = regions
	var bat, meta *Region
	spans := [][3]int64{{0, headerSectionSize, -1}}
	if h.LogLength > 0 {
		spans = append(spans, [3]int64{int64(h.LogOffset), int64(h.LogOffset) + int64(h.LogLength), -2})
	}
	for i := range regions {
		rg := &regions[i]
		eoff := int64(regionTableOffset1) + 16 + 32*int64(i)
		switch rg.GUID {
		case guidBAT:
			if bat != nil {
				return nil, formatErr(ErrMalformed, eoff, "region table", "second BAT region")
			}
			bat = rg
		case guidMetadata:
			if meta != nil {
				return nil, formatErr(ErrMalformed, eoff, "region table", "second metadata region")
			}
			meta = rg
		default:
			if rg.Required {
				return nil, formatErr(ErrUnsupported, eoff, "region table", "unknown required region %s", rg.GUID)
			}
		}
		if rg.Offset%MiB != 0 || rg.Length%MiB != 0 || rg.Length == 0 || rg.Offset < headerSectionSize || rg.Offset > MaxVirtualSize*2 {
			return nil, formatErr(ErrMalformed, eoff, "region table", "region %s at %d of %d bytes is not MiB-aligned past the header section", rg.GUID, rg.Offset, rg.Length)
		}
		if int64(rg.Offset)+int64(rg.Length) > size {
			return nil, formatErr(ErrTruncated, eoff, "region table", "region %s at %d of %d bytes ends past the end of the %d-byte file", rg.GUID, rg.Offset, rg.Length, size)
		}
		spans = append(spans, [3]int64{int64(rg.Offset), int64(rg.Offset) + int64(rg.Length), int64(i)})
	}
	if bat == nil || meta == nil {
		return nil, formatErr(ErrMalformed, regionTableOffset1, "region table", "no BAT or no metadata region")
	}
	slices.SortFunc(spans, func(a, b [3]int64) int { return int(min(max(a[0]-b[0], -1), 1)) })
	for i := 1; i < len(spans); i++ {
		if spans[i][0] < spans[i-1][1] {
			return nil, formatErr(ErrMalformed, spans[i][0], "region table", "regions overlap (header section, log or region at %d)", spans[i-1][0])
		}
	}
	d.info.BATOffset = int64(bat.Offset)
	d.info.MetadataOffset = int64(meta.Offset)

	if err := d.parseMetadata(buf, int64(meta.Offset), int64(meta.Length)); err != nil {
		return nil, err
	}

	// The BAT: its size follows from the metadata; it must fit its region
	// (which lies inside the file) and the cap before it is allocated.
	bs := int64(d.info.BlockSize)
	blocks := (d.info.VirtualSize + bs - 1) / bs
	d.ratio = chunkRatio(d.info.BlockSize, d.info.LogicalSectorSize)
	n := batEntries(blocks, d.ratio)
	d.info.BATEntries = n
	if n*8 > int64(bat.Length) {
		return nil, formatErr(ErrMalformed, int64(bat.Offset), "BAT", "%d entries do not fit a region of %d bytes", n, bat.Length)
	}
	if n*8 > MaxBATBytes {
		return nil, formatErr(ErrTooLarge, int64(bat.Offset), "BAT", "%d entries exceed the limit of %d bytes", n, MaxBATBytes)
	}
	d.bat = make([]byte, n*8)
	if err := readAt(r, d.bat, int64(bat.Offset), size, "BAT"); err != nil {
		return nil, err
	}
	for i := range n {
		e := binary.LittleEndian.Uint64(d.bat[8*i:])
		off := int64(bat.Offset) + 8*i
		state := e & 7
		if (i+1)%(d.ratio+1) == 0 { // sector bitmap entry
			if state != BlockNotPresent && state != BlockFullyPresent {
				return nil, formatErr(ErrMalformed, off, "BAT", "sector bitmap entry %d has state %d", i, state)
			}
			continue
		}
		switch state {
		case BlockNotPresent, BlockUndefined, BlockZero, BlockUnmapped:
		case BlockFullyPresent:
			fo := int64(e >> 20 << 20)
			if fo < headerSectionSize {
				return nil, formatErr(ErrMalformed, off, "BAT", "entry %d points into the header section (%d)", i, fo)
			}
			if fo >= size {
				return nil, formatErr(ErrTruncated, off, "BAT", "entry %d points to %d, past the end of the %d-byte file", i, fo, size)
			}
		case BlockPartiallyPresent:
			return nil, formatErr(ErrMalformed, off, "BAT", "entry %d is partially present in a disk without a parent", i)
		default:
			return nil, formatErr(ErrMalformed, off, "BAT", "entry %d has unknown state %d", i, state)
		}
	}
	return d, nil
}

// parseMetadata reads the metadata table and its known items.
func (d *Disk) parseMetadata(buf []byte, moff, mlen int64) error {
	le := binary.LittleEndian
	if mlen < metadataTableSize {
		return formatErr(ErrMalformed, moff, "metadata", "region of %d bytes is smaller than its table", mlen)
	}
	if err := readAt(d.r, buf[:metadataTableSize], moff, d.fileSize, "metadata table"); err != nil {
		return err
	}
	if string(buf[:8]) != "metadata" {
		return formatErr(ErrMalformed, moff, "metadata table", "signature %q, want \"metadata\"", buf[:8])
	}
	n := int(le.Uint16(buf[10:]))
	if n > maxTableEntries {
		return formatErr(ErrMalformed, moff+10, "metadata table", "%d entries, at most %d allowed", n, maxTableEntries)
	}
	var seen [6]bool
	var val [6][]byte
	known := []GUID{guidFileParam, guidDiskSize, guidPage83, guidLogical, guidPhysical, guidParentLoc}
	wantLen := []uint32{8, 8, 16, 4, 4, 0}
	for i := range n {
		e := buf[32+32*i:]
		eoff := moff + 32 + 32*int64(i)
		var it MetadataItem
		copy(it.GUID[:], e)
		it.Offset, it.Length, it.Flags = le.Uint32(e[16:]), le.Uint32(e[20:]), le.Uint32(e[24:])
		d.info.MetadataItems = append(d.info.MetadataItems, it)
		if it.Length > 0 && (it.Offset < metadataTableSize || int64(it.Offset)+int64(it.Length) > mlen) {
			return formatErr(ErrMalformed, eoff, "metadata table", "item %s at %d of %d bytes lies outside the metadata region", it.GUID, it.Offset, it.Length)
		}
		k := slices.Index(known, it.GUID)
		if k < 0 || it.Flags&mdIsUser != 0 {
			if it.Flags&mdIsRequired != 0 {
				return formatErr(ErrUnsupported, eoff, "metadata table", "unknown required item %s", it.GUID)
			}
			continue
		}
		if seen[k] {
			return formatErr(ErrMalformed, eoff, "metadata table", "item %s appears twice", it.GUID)
		}
		seen[k] = true
		if k == 5 {
			continue // parent locator: refused below through HasParent
		}
		if it.Length != wantLen[k] {
			return formatErr(ErrMalformed, eoff, "metadata table", "item %s has %d bytes, want %d", it.GUID, it.Length, wantLen[k])
		}
		val[k] = make([]byte, it.Length)
		if err := readAt(d.r, val[k], moff+int64(it.Offset), d.fileSize, "metadata item"); err != nil {
			return err
		}
	}
	for k := range 5 {
		if !seen[k] {
			return formatErr(ErrMalformed, moff, "metadata table", "required item %s is missing", known[k])
		}
	}
	in := &d.info
	in.BlockSize = le.Uint32(val[0])
	flags := le.Uint32(val[0][4:])
	in.LeaveAllocated, in.HasParent = flags&1 != 0, flags&2 != 0
	vs := le.Uint64(val[1])
	copy(in.VirtualDiskID[:], val[2])
	in.LogicalSectorSize = le.Uint32(val[3])
	in.PhysicalSectorSize = le.Uint32(val[4])
	switch {
	case in.HasParent || seen[5]:
		return formatErr(ErrUnsupported, moff, "metadata", "differencing disk (has a parent)")
	case !validBlockSize(in.BlockSize):
		return formatErr(ErrMalformed, moff, "metadata", "block size %d", in.BlockSize)
	case !validSectorSize(in.LogicalSectorSize) || !validSectorSize(in.PhysicalSectorSize):
		return formatErr(ErrMalformed, moff, "metadata", "sector sizes %d/%d", in.LogicalSectorSize, in.PhysicalSectorSize)
	case vs == 0 || vs%uint64(in.LogicalSectorSize) != 0:
		return formatErr(ErrMalformed, moff, "metadata", "virtual size %d is not a positive multiple of the sector size", vs)
	case vs > MaxVirtualSize:
		return formatErr(ErrTooLarge, moff, "metadata", "virtual size %d exceeds %d", vs, int64(MaxVirtualSize))
	}
	in.VirtualSize = int64(vs)
	return nil
}

// Size returns the virtual disk size in bytes.
func (d *Disk) Size() int64 { return d.info.VirtualSize }

// Info returns what the header section and metadata say.
func (d *Disk) Info() Info { return d.info }

// BlockState returns the BAT state of payload block i and, for a fully
// present block, its file offset.
func (d *Disk) BlockState(i int64) (state int, fileOffset int64) {
	e := binary.LittleEndian.Uint64(d.bat[8*batIndex(i, d.ratio):])
	return int(e & 7), int64(e >> 20 << 20)
}

// ReadAt reads the virtual disk. Blocks that are not present read as
// zeros, and so does the part of a present block past the end of the file
// (qemu leaves the tail of its last block unallocated).
func (d *Disk) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%w: negative offset %d", ErrInvalid, off)
	}
	if off >= d.info.VirtualSize {
		return 0, io.EOF
	}
	var eof error
	if rem := d.info.VirtualSize - off; int64(len(p)) > rem {
		p, eof = p[:rem], io.EOF
	}
	bs := int64(d.info.BlockSize)
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		b, in := pos/bs, pos%bs
		l := int(min(int64(len(p)-n), bs-in))
		state, fo := d.BlockState(b)
		q := p[n : n+l]
		if state != BlockFullyPresent {
			clear(q)
		} else {
			at := fo + in
			avail := max(0, min(int64(l), d.fileSize-at))
			if avail > 0 {
				got, err := d.r.ReadAt(q[:avail], at)
				if got < int(avail) {
					if err == nil || errors.Is(err, io.EOF) {
						return n + got, formatErr(ErrTruncated, at+int64(got), "payload block", "file ends early")
					}
					return n + got, fmt.Errorf("vhdx: reading block %d at offset %d: %w", b, at, err)
				}
			}
			clear(q[avail:])
		}
		n += l
	}
	return n, eof
}
