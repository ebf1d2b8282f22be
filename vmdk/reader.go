package vmdk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/zlib"
)

// Disk is an opened streamOptimized VMDK: an io.ReaderAt of the raw disk.
// It is safe for concurrent use.
type Disk struct {
	r        io.ReaderAt
	fileSize int64
	hdr      Header
	footer   *Header
	desc     *Descriptor
	capacity int64 // bytes
	grain    int64 // grain size in bytes
	gtes     int64 // entries per grain table
	gd       []uint32

	mu       sync.Mutex
	gtSector uint32 // sector of the cached grain table, 0 = none
	gt       []byte
	cached   int64 // index of the grain in buf, -1 = none
	buf      []byte
	cbuf     []byte
	zr       io.ReadCloser
}

// maxGDBytes caps the grain directory a reader loads.
const maxGDBytes = 32 << 20

// maxCompressed bounds the compressed size of one grain of n bytes.
func maxCompressed(n int64) int64 { return n + n/8 + 4096 }

// Open reads the header, the footer when the header says the grain
// directory is at the end, the descriptor and the grain directory of a
// streamOptimized VMDK of size bytes. Grain tables and grains are read on
// demand. A stream without its footer (an interrupted write) fails with
// ErrTruncated.
func Open(r io.ReaderAt, size int64) (*Disk, error) {
	if size < SectorSize {
		return nil, formatErr(ErrTruncated, 0, "file of %d bytes has no header", size)
	}
	sec := make([]byte, SectorSize)
	if err := readFull(r, sec, 0, size); err != nil {
		return nil, err
	}
	d := &Disk{r: r, fileSize: size, cached: -1}
	if err := d.hdr.UnmarshalBinary(sec); err != nil {
		return nil, err
	}
	h := d.hdr
	if err := checkReadable(&h, 0); err != nil {
		return nil, err
	}
	if h.GDOffset == GDAtEnd {
		if size < 4*SectorSize {
			return nil, formatErr(ErrTruncated, size, "no footer: the stream is incomplete")
		}
		end := size / SectorSize * SectorSize
		tail := make([]byte, 3*SectorSize)
		if err := readFull(r, tail, end-3*SectorSize, size); err != nil {
			return nil, err
		}
		le := binary.LittleEndian
		if le.Uint64(tail[0:]) != 1 || le.Uint32(tail[8:]) != 0 || le.Uint32(tail[12:]) != MarkerFooter ||
			!isZero(tail[2*SectorSize:]) {
			return nil, formatErr(ErrTruncated, end-3*SectorSize, "no footer marker, footer and end-of-stream at the end: the stream is incomplete")
		}
		var f Header
		if err := f.UnmarshalBinary(tail[SectorSize : 2*SectorSize]); err != nil {
			return nil, formatErr(ErrCorrupt, end-2*SectorSize, "footer: %v", err)
		}
		if f.Capacity != h.Capacity || f.GrainSize != h.GrainSize || f.NumGTEsPerGT != h.NumGTEsPerGT ||
			f.Flags != h.Flags || f.CompressAlgorithm != h.CompressAlgorithm {
			return nil, formatErr(ErrCorrupt, end-2*SectorSize, "footer disagrees with header")
		}
		if f.GDOffset == GDAtEnd {
			return nil, formatErr(ErrCorrupt, end-2*SectorSize, "footer has no grain directory offset")
		}
		d.footer = &f
		h.GDOffset = f.GDOffset
	}
	d.capacity = int64(h.Capacity) * SectorSize
	d.grain = int64(h.GrainSize) * SectorSize
	d.gtes = int64(h.NumGTEsPerGT)
	grains := (d.capacity + d.grain - 1) / d.grain
	numGTs := (grains + d.gtes - 1) / d.gtes
	if numGTs*4 > maxGDBytes {
		return nil, formatErr(ErrTooLarge, 0, "grain directory of %d entries", numGTs)
	}
	gdOff, ok := sectorOffset(h.GDOffset, numGTs*4, size)
	if !ok {
		return nil, formatErr(ErrCorrupt, 0, "grain directory at sector %d (%d entries) outside the file of %d bytes", h.GDOffset, numGTs, size)
	}
	// Decode the directory in chunks, so a 32 MiB directory costs 32 MiB
	// rather than twice that.
	d.gd = make([]uint32, numGTs)
	raw := make([]byte, min(numGTs*4, 64<<10))
	for i := int64(0); i < numGTs; {
		c := raw[:min(int64(len(raw)), (numGTs-i)*4)]
		if err := readFull(r, c, gdOff+i*4, size); err != nil {
			return nil, err
		}
		for j := 0; j < len(c); j, i = j+4, i+1 {
			d.gd[i] = binary.LittleEndian.Uint32(c[j:])
		}
	}
	if h.DescriptorOffset != 0 && h.DescriptorSize != 0 {
		if h.DescriptorSize > maxDescriptorSectors {
			return nil, formatErr(ErrCorrupt, 0, "descriptor of %d sectors", h.DescriptorSize)
		}
		off, ok := sectorOffset(h.DescriptorOffset, int64(h.DescriptorSize)*SectorSize, size)
		if !ok {
			return nil, formatErr(ErrCorrupt, 0, "descriptor outside the file")
		}
		text := make([]byte, h.DescriptorSize*SectorSize)
		if err := readFull(r, text, off, size); err != nil {
			return nil, err
		}
		desc, err := ParseDescriptor(text)
		if err != nil {
			return nil, err
		}
		d.desc = desc
	}
	return d, nil
}

// checkReadable rejects headers this reader cannot or will not handle.
func checkReadable(h *Header, off int64) error {
	if h.Version < 1 || h.Version > 3 {
		return formatErr(ErrUnsupported, off, "version %d", h.Version)
	}
	if h.Flags&FlagCompressed == 0 || h.Flags&FlagMarkers == 0 {
		return formatErr(ErrUnsupported, off, "flags %#x: not a compressed stream with markers", h.Flags)
	}
	if h.CompressAlgorithm != CompressDeflate {
		return formatErr(ErrUnsupported, off, "compressAlgorithm %d", h.CompressAlgorithm)
	}
	if h.GrainSize < 8 || h.GrainSize > 2048 || h.GrainSize&(h.GrainSize-1) != 0 {
		return formatErr(ErrCorrupt, off, "grainSize %d", h.GrainSize)
	}
	if h.NumGTEsPerGT < 1 || h.NumGTEsPerGT > 4096 {
		return formatErr(ErrCorrupt, off, "numGTEsPerGT %d", h.NumGTEsPerGT)
	}
	if h.Capacity == 0 {
		return formatErr(ErrCorrupt, off, "capacity 0")
	}
	if h.Capacity > MaxCapacity/SectorSize {
		return formatErr(ErrTooLarge, off, "capacity of %d sectors", h.Capacity)
	}
	return nil
}

// sectorOffset returns the byte offset of sector s if n bytes from there
// lie within a file of size bytes.
func sectorOffset(s uint64, n, size int64) (int64, bool) {
	if s == 0 || s > uint64(size)/SectorSize {
		return 0, false
	}
	off := int64(s) * SectorSize
	return off, n >= 0 && off+n <= size
}

func readFull(r io.ReaderAt, p []byte, off, size int64) error {
	if off+int64(len(p)) > size {
		return formatErr(ErrTruncated, off, "need %d bytes, the file has %d", len(p), size-off)
	}
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return formatErr(ErrTruncated, off+int64(n), "short read")
	}
	return fmt.Errorf("vmdk: read at %d: %w", off, err)
}

// Size returns the capacity of the disk in bytes.
func (d *Disk) Size() int64 { return d.capacity }

// Header returns the header (sector 0).
func (d *Disk) Header() Header { return d.hdr }

// Footer returns the footer, or nil for the footer-less layout.
func (d *Disk) Footer() *Header {
	if d.footer == nil {
		return nil
	}
	f := *d.footer
	return &f
}

// Descriptor returns the parsed descriptor, or nil if the file has none.
func (d *Disk) Descriptor() *Descriptor { return d.desc }

// ReadAt reads raw disk bytes. Unallocated grains read as zeros. It returns
// io.EOF at or past the capacity and a *FormatError for damaged grains.
func (d *Disk) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%w: negative offset", ErrInvalid)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for n < len(p) {
		if off >= d.capacity {
			return n, io.EOF
		}
		g := off / d.grain
		in := off % d.grain
		if err := d.loadGrain(g); err != nil {
			return n, err
		}
		c := copy(p[n:], d.buf[in:min(d.grain, d.capacity-g*d.grain)])
		n += c
		off += int64(c)
	}
	return n, nil
}

func (d *Disk) loadGrain(g int64) error {
	if d.cached == g {
		return nil
	}
	if d.buf == nil {
		d.buf = make([]byte, d.grain)
	}
	d.cached = -1
	gte, err := d.gte(g)
	if err != nil {
		return err
	}
	if gte == 0 || (gte == 1 && d.hdr.Flags&FlagZeroGTE != 0) {
		clear(d.buf)
		d.cached = g
		return nil
	}
	moff, ok := sectorOffset(uint64(gte), 12, d.fileSize)
	if !ok {
		return formatErr(ErrCorrupt, 0, "grain %d points to sector %d outside the file", g, gte)
	}
	var m [12]byte
	if err := readFull(d.r, m[:], moff, d.fileSize); err != nil {
		return err
	}
	lba := binary.LittleEndian.Uint64(m[:])
	csize := int64(binary.LittleEndian.Uint32(m[8:]))
	if lba != uint64(g)*uint64(d.hdr.GrainSize) {
		return formatErr(ErrCorrupt, moff, "grain marker for LBA %d where grain %d (LBA %d) was expected", lba, g, uint64(g)*d.hdr.GrainSize)
	}
	if csize == 0 || csize > maxCompressed(d.grain) {
		return formatErr(ErrCorrupt, moff, "compressed grain size %d", csize)
	}
	if cap(d.cbuf) < int(csize) {
		d.cbuf = make([]byte, maxCompressed(d.grain))
	}
	cb := d.cbuf[:csize]
	if err := readFull(d.r, cb, moff+12, d.fileSize); err != nil {
		return err
	}
	if err := d.inflate(cb, moff); err != nil {
		return err
	}
	d.cached = g
	return nil
}

// inflate decompresses one zlib grain into d.buf: at most one grain of
// output, zero-filled when shorter.
func (d *Disk) inflate(cb []byte, off int64) error {
	var err error
	src := &sliceReader{b: cb}
	if d.zr == nil {
		d.zr, err = zlib.NewReader(src)
	} else {
		err = d.zr.(zlib.Resetter).Reset(src, nil)
	}
	if err != nil {
		d.zr = nil
		return formatErr(ErrCorrupt, off, "grain is not a zlib stream: %v", err)
	}
	n, err := inflateInto(d.zr, d.buf)
	if err != nil {
		return formatErr(ErrCorrupt, off, "grain: %v", err)
	}
	clear(d.buf[n:])
	return nil
}

var errTooLong = errors.New("inflates to more than one grain")

// inflateInto reads a whole zlib stream into buf, failing if it is longer
// than buf or damaged (including its Adler-32).
func inflateInto(zr io.Reader, buf []byte) (int, error) {
	n := 0
	for {
		if n == len(buf) {
			var one [1]byte
			m, err := zr.Read(one[:])
			if m > 0 {
				return n, errTooLong
			}
			if err == io.EOF {
				return n, nil
			}
			if err != nil {
				return n, err
			}
			continue
		}
		m, err := zr.Read(buf[n:])
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

type sliceReader struct{ b []byte }

func (s *sliceReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

func (s *sliceReader) ReadByte() (byte, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c, nil
}

// gte returns the grain table entry of grain g.
func (d *Disk) gte(g int64) (uint32, error) {
	gti := g / d.gtes
	if gti >= int64(len(d.gd)) {
		return 0, formatErr(ErrCorrupt, 0, "grain %d beyond the directory", g)
	}
	s := d.gd[gti]
	if s == 0 {
		return 0, nil
	}
	if s != d.gtSector {
		off, ok := sectorOffset(uint64(s), d.gtes*4, d.fileSize)
		if !ok {
			return 0, formatErr(ErrCorrupt, 0, "grain table %d at sector %d outside the file", gti, s)
		}
		if d.gt == nil {
			d.gt = make([]byte, d.gtes*4)
		}
		d.gtSector = 0
		if err := readFull(d.r, d.gt, off, d.fileSize); err != nil {
			return 0, err
		}
		d.gtSector = s
	}
	return binary.LittleEndian.Uint32(d.gt[4*(g%d.gtes):]), nil
}
