package qcow2

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zstd"
)

// Image reads the guest disk of a qcow2 image. Its ReadAt is safe for
// concurrent use. Memory: the L1 table (at most 32 MiB, capped against the
// file size and virtual size before it is allocated), one cached L2 table
// and a cluster or two of buffers per ReadAt.
type Image struct {
	r                  io.ReaderAt
	fileSize           int64
	h                  *Header
	cs                 int64
	l2Entries          int64
	l1                 []uint64
	shift              uint
	offMask, countMask uint64

	mu      sync.Mutex
	l2Index int64 // L1 index of the cached L2 table, -1 if none
	l2      []uint64
}

// Open reads and checks the header and the L1 table of the qcow2 image r
// of size bytes. It refuses images it cannot read faithfully with
// ErrUnsupported (backing files, encryption, external data, extended L2,
// unknown incompatible features) and broken ones with ErrMalformed,
// ErrTruncated or ErrTooLarge, all as *FormatError.
func Open(r io.ReaderAt, size int64) (*Image, error) {
	if size < headerV2Len {
		return nil, formatErr(ErrTruncated, 0, "header", "file of %d bytes", size)
	}
	hb := make([]byte, min(size, 1<<maxClusterBits))
	if err := readFull(r, hb, 0, size); err != nil {
		return nil, err
	}
	h, err := parseHeader(hb, size)
	if err != nil {
		return nil, err
	}
	im := &Image{r: r, fileSize: size, h: h, cs: 1 << h.ClusterBits, l2Index: -1}
	im.l2Entries = im.cs / 8
	im.shift, im.offMask, im.countMask = compressedLayout(h.ClusterBits)
	// Only the entries that map the virtual size matter; parseHeader
	// checked that the table fits in the file, so this allocation is
	// bounded by the file size too.
	n := (int64(h.Size) + im.cs*im.l2Entries - 1) / (im.cs * im.l2Entries)
	im.l1 = make([]uint64, n)
	raw := make([]byte, min(n*8, 64<<10)) // read in chunks: no second copy of the table
	for i := range im.l1 {
		off := int64(h.L1TableOffset) + int64(i)*8
		if k := int64(i) * 8 % int64(len(raw)); k == 0 {
			if err := readFull(r, raw[:min(int64(len(raw)), (n-int64(i))*8)], off, size); err != nil {
				return nil, err
			}
		}
		e := binary.BigEndian.Uint64(raw[int64(i)*8%int64(len(raw)):])
		if e&l1Reserved != 0 {
			return nil, formatErr(ErrMalformed, off, "l1.entry", "reserved bits set in %#x", e)
		}
		if t := e & l1OffsetMask; t != 0 {
			if t%uint64(im.cs) != 0 {
				return nil, formatErr(ErrMalformed, off, "l1.entry", "L2 table offset %#x not cluster-aligned", t)
			}
			if t > uint64(size) || uint64(size)-t < uint64(im.cs) {
				return nil, formatErr(ErrTruncated, off, "l1.entry", "L2 table at %#x beyond the file's %d bytes", t, size)
			}
		}
		im.l1[i] = e & l1OffsetMask
	}
	return im, nil
}

func readFull(r io.ReaderAt, b []byte, off, size int64) error {
	if off < 0 || off > size || int64(len(b)) > size-off {
		return formatErr(ErrTruncated, off, "read", "%d bytes beyond the file's %d bytes", len(b), size)
	}
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return formatErr(ErrTruncated, off+int64(n), "read", "file ends early")
	}
	return fmt.Errorf("qcow2: reading at offset %d: %w", off, err)
}

// Header returns a copy of the decoded header.
func (im *Image) Header() Header { return *im.h }

// Size is the virtual disk size in bytes.
func (im *Image) Size() int64 { return int64(im.h.Size) }

// l2Entry returns the L2 entry of guest cluster g and its file offset.
func (im *Image) l2Entry(g int64) (uint64, int64, error) {
	i := g / im.l2Entries
	t := im.l1[i]
	if t == 0 {
		return 0, 0, nil
	}
	off := int64(t) + (g%im.l2Entries)*8
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.l2Index != i {
		if im.l2 == nil {
			im.l2 = make([]uint64, im.l2Entries)
		}
		raw := make([]byte, im.cs)
		if err := readFull(im.r, raw, int64(t), im.fileSize); err != nil {
			im.l2Index = -1
			return 0, 0, err
		}
		for j := range im.l2 {
			im.l2[j] = binary.BigEndian.Uint64(raw[j*8:])
		}
		im.l2Index = i
	}
	return im.l2[g%im.l2Entries], off, nil
}

// ReadAt reads guest bytes; unallocated and zero clusters read as zeros.
func (im *Image) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%w: negative offset", ErrInvalid)
	}
	size := int64(im.h.Size)
	if off >= size {
		return 0, io.EOF
	}
	want := len(p)
	if int64(len(p)) > size-off {
		p = p[:size-off]
	}
	var cl []byte
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		g, in := pos/im.cs, pos%im.cs
		chunk := p[n:min(len(p), n+int(im.cs-in))]
		e, eoff, err := im.l2Entry(g)
		if err != nil {
			return n, err
		}
		switch {
		case e == 0:
			clear(chunk)
		case e&entryCompressed != 0:
			if cl == nil {
				cl = make([]byte, im.cs)
			}
			if err := im.decompress(cl, e, eoff); err != nil {
				return n, err
			}
			copy(chunk, cl[in:])
		default:
			if e&l2Reserved != 0 {
				return n, formatErr(ErrMalformed, eoff, "l2.entry", "reserved bits set in %#x", e)
			}
			host := e & l2OffsetMask
			if e&entryZero != 0 && im.h.Version >= 3 {
				clear(chunk)
				break
			}
			if host == 0 {
				clear(chunk)
				break
			}
			if host%uint64(im.cs) != 0 {
				return n, formatErr(ErrMalformed, eoff, "l2.entry", "data offset %#x not cluster-aligned", host)
			}
			if err := readFull(im.r, chunk, int64(host)+in, im.fileSize); err != nil {
				return n, err
			}
		}
		n += len(chunk)
	}
	if n < want {
		return n, io.EOF
	}
	return n, nil
}

// compressedRange is the file range a compressed L2 entry points at.
func (im *Image) compressedRange(e uint64) (off, n int64) {
	host := e & im.offMask
	sectors := e>>im.shift&im.countMask + 1
	end := host&^511 + sectors*512
	return int64(host), int64(end - host)
}

var flateReaders sync.Pool

var zstdDecoders = sync.Pool{New: func() any {
	d, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(1<<maxClusterBits),
		zstd.WithDecoderMaxMemory(2<<maxClusterBits), zstd.WithDecoderLowmem(true))
	return d
}}

func (im *Image) decompress(dst []byte, e uint64, eoff int64) error {
	off, n := im.compressedRange(e)
	// The last sector may reach past the end of the file.
	n = min(n, im.fileSize-off)
	if off >= im.fileSize || n <= 0 {
		return formatErr(ErrTruncated, eoff, "l2.entry", "compressed cluster at %#x beyond the file's %d bytes", off, im.fileSize)
	}
	src := make([]byte, n)
	if err := readFull(im.r, src, off, im.fileSize); err != nil {
		return err
	}
	var rd io.Reader
	switch im.h.CompressionType {
	case compressionTypeZstd:
		// A frame may ask for a window of up to 2 GiB; qemu's and ours
		// never exceed the cluster, so larger ones are refused before the
		// decoder allocates for them.
		var zh zstd.Header
		if err := zh.Decode(src); err != nil {
			return formatErr(ErrMalformed, off, "cluster.zstd", "%v", err)
		}
		if zh.WindowSize > uint64(max(im.cs, zstd.MinWindowSize)) {
			return formatErr(ErrMalformed, off, "cluster.zstd", "window of %d bytes for a %d-byte cluster", zh.WindowSize, im.cs)
		}
		d := zstdDecoders.Get().(*zstd.Decoder)
		defer zstdDecoders.Put(d)
		if err := d.Reset(bytes.NewReader(src)); err != nil {
			return formatErr(ErrMalformed, off, "cluster.zstd", "%v", err)
		}
		rd = d
	default:
		br := bytes.NewReader(src)
		fr, ok := flateReaders.Get().(io.ReadCloser)
		if ok {
			fr.(flate.Resetter).Reset(br, nil)
		} else {
			fr = flate.NewReader(br)
		}
		defer flateReaders.Put(fr)
		rd = fr
	}
	// Reading exactly one cluster bounds the output; trailing bytes of the
	// last sector are ignored, as qemu does.
	if _, err := io.ReadFull(rd, dst); err != nil {
		return formatErr(ErrMalformed, off, "cluster.compressed", "%v", err)
	}
	return nil
}
