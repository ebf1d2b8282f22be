package vmdk

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/klauspost/compress/zlib"
)

// VerifyOptions tune Verify. A nil *VerifyOptions means the defaults.
type VerifyOptions struct {
	// SkipInflate skips decompressing grains: faster, but damaged zlib data
	// and wrong grain lengths go unnoticed.
	SkipInflate bool `json:"skipInflate,omitempty"`
	// MaxFindings caps the findings kept; 0 means 100. Report.Omitted
	// counts the rest.
	MaxFindings int `json:"maxFindings,omitempty"`
}

// Finding is one violation of the streamOptimized layout rules.
type Finding struct {
	Offset int64  `json:"offset"` // byte offset in the stream
	Rule   string `json:"rule"`   // e.g. "header.version", "gt.entry", "tail.layout"
	Detail string `json:"detail"`
}

func (f Finding) String() string { return fmt.Sprintf("%d: %s: %s", f.Offset, f.Rule, f.Detail) }

// Report is what Verify found.
type Report struct {
	Header          Header      `json:"header"`
	Footer          *Header     `json:"footer,omitempty"`
	Descriptor      *Descriptor `json:"descriptor,omitempty"`
	Size            int64       `json:"size"`     // bytes read
	Capacity        int64       `json:"capacity"` // bytes
	Grains          int64       `json:"grains"`
	CompressedBytes int64       `json:"compressedBytes"` // sum of grain compressed sizes
	ZeroGrains      int64       `json:"zeroGrains"`      // grains written that inflate to zeros
	GrainTables     int64       `json:"grainTables"`
	Directories     int64       `json:"directories"`
	EndOfStream     bool        `json:"endOfStream"`
	Findings        []Finding   `json:"findings"`
	Omitted         int         `json:"omitted,omitempty"` // findings beyond MaxFindings
}

// OK reports whether the walk found no violation.
func (r *Report) OK() bool { return len(r.Findings) == 0 && r.Omitted == 0 }

// Verify reads a streamOptimized VMDK from r to its end and checks it
// against the layout FORMATS.md describes (header fields, descriptor keys,
// ascending zlib grains that each inflate to one full grain, a grain table
// after each block with grains and none for blocks without, a directory
// matching the tables, footer marker, footer and end-of-stream as the last
// three sectors, a footer equal to the header except gdOffset, grain sizes
// that match their zlib streams exactly). Violations become Findings; the error is non-nil only
// when the walk cannot go on (ErrBadMagic, ErrTruncated, ErrCorrupt,
// ErrUnsupported, ErrTooLarge, I/O or context errors), and the report then
// holds what was found so far.
func Verify(ctx context.Context, r io.Reader, opts *VerifyOptions) (*Report, error) {
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() {
		br.Reset(nil) // drop the caller's reader before pooling
		readers.Put(br)
	}()
	w := &walker{ctx: ctx, br: br, rep: &Report{Findings: []Finding{}}, max: 100}
	if opts != nil {
		w.skipInflate = opts.SkipInflate
		if opts.MaxFindings > 0 {
			w.max = opts.MaxFindings
		}
	}
	err := w.walk()
	if w.zr != nil {
		inflaters.Put(w.zr)
	}
	w.rep.Size = w.pos
	return w.rep, err
}

// readers pools Verify's 256 KiB read buffers: allocating and clearing
// one per call dominated the cost of inspecting small streams.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 256<<10) }}

// inflaters pools zlib readers (their window and tables are most of what
// remains) for the same reason.
var inflaters sync.Pool

type pendingGrain struct {
	idx    int64  // grain index
	sector uint32 // sector of its marker
}

type walker struct {
	ctx         context.Context
	br          *bufio.Reader
	rep         *Report
	max         int
	skipInflate bool
	pos         int64 // bytes consumed
	sec         [SectorSize]byte
	hdrSec      [SectorSize]byte // sector 0 as read

	grainBytes, gtes, numGTs int64
	zr                       io.ReadCloser
	gbuf, rbuf               []byte
}

func (w *walker) add(off int64, rule, format string, args ...any) {
	if len(w.rep.Findings) >= w.max {
		w.rep.Omitted++
		return
	}
	w.rep.Findings = append(w.rep.Findings, Finding{Offset: off, Rule: rule, Detail: fmt.Sprintf(format, args...)})
}

// read fills p from the stream; a short stream is ErrTruncated.
func (w *walker) read(p []byte) error {
	n, err := io.ReadFull(w.br, p)
	w.pos += int64(n)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return formatErr(ErrTruncated, w.pos, "stream ends early")
		}
		return fmt.Errorf("vmdk: read at %d: %w", w.pos, err)
	}
	return nil
}

// ctxChunk is how much skip and drain consume between context checks.
const ctxChunk = 1 << 20

func (w *walker) skip(n int64) error {
	for n > 0 {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		m, err := w.br.Discard(int(min(n, ctxChunk)))
		w.pos += int64(m)
		n -= int64(m)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return formatErr(ErrTruncated, w.pos, "stream ends early")
			}
			return fmt.Errorf("vmdk: read at %d: %w", w.pos, err)
		}
	}
	return nil
}

// drain reads the stream to its end and returns how many bytes that was.
// The stream may be endless (a pipe that keeps sending), so the context
// is checked between chunks.
func (w *walker) drain() (int64, error) {
	var total int64
	for {
		if err := w.ctx.Err(); err != nil {
			return total, err
		}
		n, err := w.br.Discard(ctxChunk)
		total += int64(n)
		w.pos += int64(n)
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("vmdk: read at %d: %w", w.pos, err)
		}
	}
}

func (w *walker) walk() error {
	rep := w.rep
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if err := w.read(w.sec[:]); err != nil {
		return err
	}
	if err := rep.Header.UnmarshalBinary(w.sec[:]); err != nil {
		return err
	}
	w.hdrSec = w.sec
	h := rep.Header
	w.checkHeader(&h, 0, "header")
	if !isZero(w.sec[79:]) {
		w.add(79, "header.padding", "bytes 79–511 are not zero")
	}
	if h.GDOffset != GDAtEnd {
		w.add(56, "header.gdOffset", "gdOffset %d, want 0xFFFFFFFFFFFFFFFF (directory at end)", h.GDOffset)
	}
	if err := checkReadable(&h, 0); err != nil {
		return err
	}
	rep.Capacity = int64(h.Capacity) * SectorSize
	w.grainBytes = int64(h.GrainSize) * SectorSize
	w.gtes = int64(h.NumGTEsPerGT)
	grains := (rep.Capacity + w.grainBytes - 1) / w.grainBytes
	w.numGTs = (grains + w.gtes - 1) / w.gtes
	if w.numGTs*4 > maxGDBytes {
		return formatErr(ErrTooLarge, 12, "grain directory of %d entries", w.numGTs)
	}

	// Descriptor.
	start := int64(h.OverHead) * SectorSize
	if h.OverHead > 1<<20 {
		return formatErr(ErrCorrupt, 64, "overHead of %d sectors", h.OverHead)
	}
	if h.DescriptorOffset >= 1 && h.DescriptorOffset <= 1<<20 && h.DescriptorSize >= 1 &&
		h.DescriptorSize <= maxDescriptorSectors {
		if err := w.skip(int64(h.DescriptorOffset)*SectorSize - w.pos); err != nil {
			return err
		}
		text := make([]byte, h.DescriptorSize*SectorSize)
		dpos := w.pos
		if err := w.read(text); err != nil {
			return err
		}
		d, err := ParseDescriptor(text)
		if err != nil {
			return err
		}
		rep.Descriptor = d
		w.checkDescriptor(d, dpos, h.Capacity)
	} else {
		w.add(28, "descriptor.missing", "no usable descriptor (offset %d, size %d)", h.DescriptorOffset, h.DescriptorSize)
	}
	if w.pos > start {
		start = w.pos
	}
	if err := w.skip(start - w.pos); err != nil {
		return err
	}
	return w.walkMarkers(&h)
}

func (w *walker) checkHeader(h *Header, off int64, what string) {
	type field struct {
		name      string
		at        int64
		got, want uint64
	}
	for _, f := range []field{
		{"version", 4, uint64(h.Version), Version},
		{"flags", 8, uint64(h.Flags), Flags},
		{"grainSize", 20, h.GrainSize, GrainSectors},
		{"descriptorOffset", 28, h.DescriptorOffset, DescriptorOffset},
		{"descriptorSize", 36, h.DescriptorSize, DescriptorSize},
		{"numGTEsPerGT", 44, uint64(h.NumGTEsPerGT), GTEsPerGT},
		{"rgdOffset", 48, h.RGDOffset, 0},
		{"overHead", 64, h.OverHead, OverHead},
		{"uncleanShutdown", 72, uint64(h.UncleanShutdown), 0},
		{"compressAlgorithm", 77, uint64(h.CompressAlgorithm), CompressDeflate},
	} {
		if f.got != f.want {
			w.add(off+f.at, what+"."+f.name, "%d (%#x), want %d (%#x)", f.got, f.got, f.want, f.want)
		}
	}
	if h.NewlineChars != newlineChars {
		w.add(off+73, what+".newline", "newline test bytes %q, want %q", h.NewlineChars[:], newlineChars[:])
	}
	if h.Capacity == 0 {
		w.add(off+12, what+".capacity", "capacity 0")
	}
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := strconv.ParseUint(s, 16, 64)
	return err == nil
}

func (w *walker) checkDescriptor(d *Descriptor, off int64, sectors uint64) {
	switch {
	case d.CID == "":
		w.add(off, "descriptor.cid", "no CID")
	case !isHex(d.CID, 8):
		w.add(off, "descriptor.cid", "CID %q is not 8 hex digits", d.CID)
	case d.CID == "ffffffff" || d.CID == "fffffffe":
		w.add(off, "descriptor.cid", "CID %s is reserved", d.CID)
	}
	ci, pi := -1, -1
	for i, k := range d.Order {
		if k == "CID" && ci < 0 {
			ci = i
		}
		if k == "parentCID" && pi < 0 {
			pi = i
		}
	}
	if ci >= 0 && pi >= 0 && ci > pi {
		w.add(off, "descriptor.order", "CID comes after parentCID")
	}
	if d.ParentCID != "ffffffff" {
		w.add(off, "descriptor.parentCID", "parentCID %q, want ffffffff", d.ParentCID)
	}
	if d.CreateType != "streamOptimized" {
		w.add(off, "descriptor.createType", "createType %q, want streamOptimized", d.CreateType)
	}
	if len(d.Extents) != 1 {
		w.add(off, "descriptor.extent", "%d extent lines, want 1", len(d.Extents))
	} else if e := d.Extents[0]; e.Access != "RW" || e.Type != "SPARSE" || e.Sectors != sectors || e.File == "" {
		w.add(off, "descriptor.extent", "extent %s %d %s %q, want RW %d SPARSE \"<name>\"", e.Access, e.Sectors, e.Type, e.File, sectors)
	}
	adapter := d.DDB["ddb.adapterType"]
	switch adapter {
	case AdapterLSILogic, AdapterIDE, AdapterBusLogic:
	default:
		w.add(off, "descriptor.adapterType", "ddb.adapterType %q", adapter)
	}
	cyl, heads, secs := geometry(sectors, adapter)
	for _, g := range []struct {
		key  string
		want uint64
	}{{"ddb.geometry.cylinders", cyl}, {"ddb.geometry.heads", heads}, {"ddb.geometry.sectors", secs}} {
		if v := d.DDB[g.key]; v != strconv.FormatUint(g.want, 10) {
			w.add(off, "descriptor.geometry", "%s = %q, want %d", g.key, v, g.want)
		}
	}
	if d.DDB["ddb.toolsVersion"] == "" {
		w.add(off, "descriptor.toolsVersion", "no ddb.toolsVersion")
	}
	if d.DDB["ddb.virtualHWVersion"] == "" {
		w.add(off, "descriptor.virtualHWVersion", "no ddb.virtualHWVersion")
	}
	if v, ok := d.DDB["ddb.longContentID"]; ok && !(len(v) == 32 && isHex(v[:16], 16) && isHex(v[16:], 16)) {
		w.add(off, "descriptor.longContentID", "ddb.longContentID %q is not 32 hex digits", v)
	}
}

func (w *walker) walkMarkers(h *Header) error {
	rep := w.rep
	le := binary.LittleEndian
	var (
		pending    []pendingGrain
		lastIdx    int64 = -1
		lastClosed int64 = -1
		// gtPos maps a block to the sector of its grain table's data. A
		// map, not a slice of numGTs entries: the header's capacity claim
		// would otherwise cost up to 32 MiB for a stream of a few sectors.
		// It holds at most one entry per grain-table marker read.
		gtPos                             = map[int64]uint32{}
		gdData, footerMarker, gdEnd int64 = -1, -1, -1
		records                     int
	)
	gtSectors := (w.gtes*4 + SectorSize - 1) / SectorSize
	gdSectors := (w.numGTs*4 + SectorSize - 1) / SectorSize
	missingGT := func(off int64) {
		if len(pending) > 0 {
			w.add(off, "gt.missing", "block %d has %d grains but no grain table follows them", pending[0].idx/w.gtes, len(pending))
			pending = pending[:0]
		}
	}
	for {
		if records++; records%64 == 0 {
			if err := w.ctx.Err(); err != nil {
				return err
			}
		}
		off := w.pos
		if err := w.read(w.sec[:]); err != nil {
			return err
		}
		val, size, typ := le.Uint64(w.sec[0:]), le.Uint32(w.sec[8:]), le.Uint32(w.sec[12:])
		if size != 0 { // grain marker
			if int64(size) > maxCompressed(w.grainBytes) {
				return formatErr(ErrCorrupt, off, "compressed grain size %d", size)
			}
			if gdData >= 0 {
				w.add(off, "order", "grain after the grain directory")
			}
			if err := w.grain(off, val, size, &pending, &lastIdx, lastClosed, missingGT); err != nil {
				return err
			}
			continue
		}
		switch typ {
		case MarkerEOS:
			if val != 0 {
				w.add(off, "eos.marker", "end-of-stream marker with value %d", val)
			}
			rep.EndOfStream = true
			missingGT(off)
			eos := off
			// Anything after the end-of-stream marker is a violation.
			n, err := w.drain()
			if err != nil {
				return err
			}
			if n > 0 {
				w.add(eos+SectorSize, "eos.trailing", "%d bytes after the end-of-stream marker", n)
			}
			switch {
			case gdData < 0:
				w.add(eos, "gd.missing", "no grain directory")
			case rep.Footer == nil:
				w.add(eos, "footer.missing", "no footer")
			}
			if footerMarker < 0 || footerMarker != eos-2*SectorSize || n > 0 {
				w.add(eos, "tail.layout", "the last three sectors must be footer marker, footer, end-of-stream")
			}
			if gdEnd >= 0 && footerMarker >= 0 && footerMarker != gdEnd {
				w.add(footerMarker, "order", "footer marker does not directly follow the grain directory")
			}
			return nil
		case MarkerGT:
			if val != uint64(gtSectors) {
				w.add(off, "gt.marker", "grain table marker value %d, want %d", val, gtSectors)
			}
			if val > 2048 {
				return formatErr(ErrCorrupt, off, "grain table of %d sectors", val)
			}
			if gdData >= 0 {
				w.add(off, "order", "grain table after the grain directory")
			}
			data := w.pos
			buf := make([]byte, val*SectorSize)
			if err := w.read(buf); err != nil {
				return err
			}
			rep.GrainTables++
			if len(pending) == 0 {
				w.add(off, "gt.empty", "grain table for a block without grains")
				continue
			}
			blk := pending[0].idx / w.gtes
			var want = make(map[int64]uint32, len(pending))
			for _, p := range pending {
				want[p.idx%w.gtes] = p.sector
			}
			bad := 0
			first := ""
			for i := int64(0); i < w.gtes; i++ {
				var got uint32
				if 4*i+4 <= int64(len(buf)) {
					got = le.Uint32(buf[4*i:])
				}
				if got != want[i] {
					if bad == 0 {
						first = fmt.Sprintf("entry %d is %d, want %d", i, got, want[i])
					}
					bad++
				}
			}
			if bad > 0 {
				w.add(data, "gt.entry", "grain table of block %d: %d wrong entries (%s)", blk, bad, first)
			}
			if data/SectorSize > 0xffffffff {
				return formatErr(ErrTooLarge, off, "grain table beyond 2 TiB")
			}
			if blk < w.numGTs {
				gtPos[blk] = uint32(data / SectorSize)
			}
			lastClosed = blk
			pending = pending[:0]
		case MarkerGD:
			if val != uint64(gdSectors) {
				w.add(off, "gd.marker", "grain directory marker value %d, want %d", val, gdSectors)
			}
			// Compare counts, not val*SectorSize, which can overflow.
			if val > (maxGDBytes+SectorSize)/SectorSize {
				return formatErr(ErrCorrupt, off, "grain directory of %d sectors", val)
			}
			missingGT(off)
			rep.Directories++
			if gdData >= 0 {
				w.add(off, "gd.duplicate", "more than one grain directory")
			}
			gdData = w.pos
			if err := w.directory(int64(val), gtPos); err != nil {
				return err
			}
			gdEnd = w.pos
		case MarkerFooter:
			if val != 1 {
				w.add(off, "footer.marker", "footer marker value %d, want 1", val)
			}
			footerMarker = off
			fpos := w.pos
			if err := w.read(w.sec[:]); err != nil {
				return err
			}
			var f Header
			if err := f.UnmarshalBinary(w.sec[:]); err != nil {
				w.add(fpos, "footer.magic", "footer: %v", err)
			} else {
				rep.Footer = &f
				w.checkHeader(&f, fpos, "footer")
				// The footer is a copy of the header but for gdOffset:
				// compare every other byte, padding included.
				if i := diffExceptGD(w.sec[:], w.hdrSec[:]); i >= 0 {
					w.add(fpos+int64(i), "footer.header", "footer byte %d is %#02x, header %#02x: the footer must equal the header except gdOffset", i, w.sec[i], w.hdrSec[i])
				}
				if f.Capacity != h.Capacity {
					w.add(fpos+12, "footer.capacity", "footer capacity %d, header %d", f.Capacity, h.Capacity)
				}
				switch {
				case gdData < 0:
					w.add(fpos+56, "gd.missing", "footer before any grain directory")
				case f.GDOffset != uint64(gdData/SectorSize):
					w.add(fpos+56, "footer.gdOffset", "footer gdOffset %d, directory at sector %d", f.GDOffset, gdData/SectorSize)
				}
			}
			if val > 1 {
				if val > 1<<20 {
					return formatErr(ErrCorrupt, off, "footer marker value %d", val)
				}
				if err := w.skip(int64(val-1) * SectorSize); err != nil {
					return err
				}
			}
		default:
			return formatErr(ErrCorrupt, off, "unknown marker type %d", typ)
		}
	}
}

// grain checks one grain record whose first sector is in w.sec.
func (w *walker) grain(off int64, lba uint64, size uint32, pending *[]pendingGrain, lastIdx *int64, lastClosed int64, missingGT func(int64)) error {
	rep := w.rep
	total := (12 + int64(size) + SectorSize - 1) / SectorSize * SectorSize
	if int64(cap(w.rbuf)) < total {
		w.rbuf = make([]byte, (12+maxCompressed(w.grainBytes)+SectorSize-1)/SectorSize*SectorSize)
	}
	rec := w.rbuf[:total]
	copy(rec, w.sec[:])
	if total > SectorSize {
		if err := w.read(rec[SectorSize:]); err != nil {
			return err
		}
	}
	rep.Grains++
	rep.CompressedBytes += int64(size)
	data := rec[12 : 12+size]
	if !isZero(rec[12+size:]) {
		w.add(off+12+int64(size), "grain.padding", "grain record padding is not zero")
	}
	gs := uint64(w.grainBytes / SectorSize)
	switch {
	case lba%gs != 0:
		w.add(off, "grain.lba", "LBA %d is not a multiple of the grain size %d", lba, gs)
	case lba >= rep.Header.Capacity:
		w.add(off, "grain.lba", "LBA %d beyond the capacity of %d sectors", lba, rep.Header.Capacity)
	}
	idx := int64(min(lba/gs, 1<<62))
	if idx <= *lastIdx {
		w.add(off, "grain.order", "LBA %d does not ascend (previous grain %d)", lba, *lastIdx)
	}
	*lastIdx = max(*lastIdx, idx)
	blk := idx / w.gtes
	if blk <= lastClosed {
		w.add(off, "grain.afterTable", "grain of block %d after that block's grain table", blk)
	}
	if len(*pending) > 0 && (*pending)[0].idx/w.gtes != blk {
		missingGT(off)
	}
	if off/SectorSize <= 0xffffffff && len(*pending) < int(w.gtes) {
		*pending = append(*pending, pendingGrain{idx: idx, sector: uint32(off / SectorSize)})
	}
	if w.skipInflate {
		return nil
	}
	if len(data) < 2 || (uint16(data[0])<<8|uint16(data[1]))%31 != 0 || data[0]&0x0f != 8 {
		w.add(off+12, "grain.zlib", "grain data is not a zlib stream (raw deflate?)")
		return nil
	}
	if w.gbuf == nil {
		w.gbuf = make([]byte, w.grainBytes)
	}
	var err error
	src := bytes.NewReader(data)
	if w.zr == nil {
		if z, ok := inflaters.Get().(io.ReadCloser); ok {
			w.zr = z
		}
	}
	if w.zr == nil {
		w.zr, err = zlib.NewReader(src)
	} else {
		err = w.zr.(zlib.Resetter).Reset(src, nil)
	}
	if err != nil {
		w.zr = nil
		w.add(off+12, "grain.zlib", "%v", err)
		return nil
	}
	n, err := inflateInto(w.zr, w.gbuf)
	switch {
	case err != nil:
		w.add(off+12, "grain.zlib", "grain at LBA %d: %v", lba, err)
	case src.Len() != 0:
		w.add(off+8, "grain.length", "grain at LBA %d: marker says %d compressed bytes, the zlib stream ends after %d", lba, size, int(size)-src.Len())
	case int64(n) != w.grainBytes:
		w.add(off+12, "grain.size", "grain at LBA %d inflates to %d bytes, want %d", lba, n, w.grainBytes)
	case isZero(w.gbuf):
		rep.ZeroGrains++
		w.add(off, "grain.zero", "all-zero grain at LBA %d is written", lba)
	}
	return nil
}

// diffExceptGD returns the first byte where two header sectors differ
// outside gdOffset (bytes 56–63), or -1.
func diffExceptGD(a, b []byte) int {
	for i := range SectorSize {
		if (i < 56 || i >= 64) && a[i] != b[i] {
			return i
		}
	}
	return -1
}

// directory reads and checks n sectors of grain directory in chunks.
func (w *walker) directory(n int64, gtPos map[int64]uint32) error {
	le := binary.LittleEndian
	start := w.pos
	buf := make([]byte, 64<<10)
	bad, first := 0, ""
	idx := int64(0)
	for rem := n * SectorSize; rem > 0; {
		c := buf[:min(rem, int64(len(buf)))]
		if err := w.read(c); err != nil {
			return err
		}
		rem -= int64(len(c))
		for i := 0; i+4 <= len(c); i, idx = i+4, idx+1 {
			got := le.Uint32(c[i:])
			want := gtPos[idx]
			if got != want {
				if bad == 0 {
					first = fmt.Sprintf("entry %d is %d, want %d", idx, got, want)
				}
				bad++
			}
		}
	}
	missing, lowest := 0, int64(-1)
	for blk, sec := range gtPos {
		if blk >= idx && sec != 0 {
			missing++
			if lowest < 0 || blk < lowest {
				lowest = blk
			}
		}
	}
	if missing > 0 {
		if bad == 0 {
			first = fmt.Sprintf("no entry for block %d", lowest)
		}
		bad += missing
	}
	if bad > 0 {
		w.add(start, "gd.entry", "grain directory: %d wrong entries (%s)", bad, first)
	}
	return nil
}
