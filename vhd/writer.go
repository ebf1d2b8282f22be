package vhd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
)

// Result describes a written VHD.
type Result struct {
	Type        string   `json:"type"`        // "fixed" or "dynamic"
	Size        int64    `json:"size"`        // bytes of the VHD file
	VirtualSize int64    `json:"virtualSize"` // disk size in bytes
	Padding     int64    `json:"padding"`     // zero bytes added after the input to reach VirtualSize
	Blocks      int64    `json:"blocks"`      // dynamic: blocks stored; fixed: 0
	ZeroBlocks  int64    `json:"zeroBlocks"`  // all-zero blocks (not stored in a dynamic disk; holes in a fixed file when w is one)
	Geometry    Geometry `json:"geometry"`
	UniqueID    ID       `json:"uniqueId"`
}

// Write converts the raw disk image src of size bytes into a VHD written
// sequentially to w.
//
// A fixed VHD is the raw data, padded to the virtual size, and the footer.
// Its unique ID hashes the content while it streams, so Write and
// WriteStream give the same bytes. When w is an *os.File positioned at its
// end, all-zero blocks become holes (w is seeked forward over them instead
// of written), so the file is as sparse as the input.
//
// A dynamic VHD needs its block allocation table before its blocks: Write
// reads src twice, first to find the all-zero blocks (and hash the rest
// for the unique ID), then to copy the others. The layout is the one qemu
// and Hyper-V write: footer copy, dynamic header, table, blocks (a full
// sector bitmap and 2 MiB of data each) in disk order, footer.
//
// A failed or cancelled write leaves w without the final footer: no reader
// accepts it as a VHD (a dynamic one keeps its leading copy, which readers
// that fall back to it see as a disk with blocks missing; the caller
// removes failed output).
func Write(ctx context.Context, w io.Writer, src io.ReaderAt, size int64, o *Options) (*Result, error) {
	c, err := resolve(o, size)
	if err != nil {
		return nil, err
	}
	if f, ok := src.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() < size {
			return nil, fmt.Errorf("%w: file %s has %d bytes, size is %d", ErrShortInput, f.Name(), st.Size(), size)
		}
	}
	if !c.dynamic {
		s := newSource(&c, nil, src)
		defer s.close()
		return writeFixed(ctx, w, s, &c)
	}
	return writeDynamic(ctx, w, src, &c)
}

// WriteStream is Write for a sequential reader holding exactly size bytes
// of raw disk. Fixed output is identical to Write's. A dynamic VHD cannot
// be streamed (its table precedes the blocks and says which are stored),
// so a dynamic type fails with ErrInvalid: use Write with an io.ReaderAt.
func WriteStream(ctx context.Context, w io.Writer, src io.Reader, size int64, o *Options) (*Result, error) {
	c, err := resolve(o, size)
	if err != nil {
		return nil, err
	}
	if c.dynamic {
		return nil, fmt.Errorf("%w: a dynamic VHD needs two passes over an io.ReaderAt (use Write)", ErrInvalid)
	}
	return writeFixed(ctx, w, newSource(&c, src, nil), &c)
}

func (c *config) footer(dynamic bool, id ID) *Footer {
	f := &Footer{Features: featureBit, Version: formatVersion, DataOffset: ^uint64(0), Timestamp: c.timestamp,
		CreatorApp: c.creator, CreatorVersion: 0x00010000, CreatorHostOS: "Wi2k",
		OriginalSize: uint64(c.vsize), CurrentSize: uint64(c.vsize), Geometry: GeometryFor(c.vsize),
		DiskType: diskTypeFixed, UniqueID: id}
	if dynamic {
		f.DataOffset = FooterSize
		f.DiskType = diskTypeDynamic
	}
	return f
}

// idHash starts the content hash of the unique ID; blocks that are all
// zeros are left out, so holes and written zeros hash alike.
func (c *config) idHash() hash.Hash {
	h := sha256.New()
	var b [24]byte
	copy(b[:8], "fgkt-vhd")
	if c.dynamic {
		b[8] = 1
	}
	binary.BigEndian.PutUint64(b[16:], uint64(c.vsize))
	h.Write(b[:])
	return h
}

// hashBlock adds block idx to the content fingerprint: the CRC-32C and
// CRC-32 (IEEE) of each non-zero 64 KiB chunk, with its position, go into
// the SHA-256. Both CRCs run in hardware, where hashing the data itself
// with SHA-256 cost more than reading and writing it. The ID this makes
// tells disks apart; it is not a digest that resists crafted collisions.
func hashBlock(h hash.Hash, idx int64, data []byte) {
	var b [16]byte
	for i := 0; i < len(data); i += fpChunk {
		c := data[i:min(len(data), i+fpChunk)]
		if isZero(c) {
			continue
		}
		binary.BigEndian.PutUint64(b[:], uint64(idx*BlockSize+int64(i)))
		binary.BigEndian.PutUint32(b[8:], crc32.Checksum(c, castagnoli))
		binary.BigEndian.PutUint32(b[12:], crc32.ChecksumIEEE(c))
		h.Write(b[:])
	}
}

const fpChunk = 64 << 10

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (c *config) finishID(h hash.Hash) ID {
	if c.uniqueID != (ID{}) {
		return c.uniqueID
	}
	var id ID
	copy(id[:], h.Sum(nil))
	id[6] = id[6]&0x0f | 0x80 // RFC 9562 version 8 (custom), variant 10
	id[8] = id[8]&0x3f | 0x80
	return id
}

var zeroBlock = make([]byte, BlockSize)

func isZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), len(zeroBlock))
		if !bytes.Equal(b[:n], zeroBlock[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

func (c *config) report(stage string, done int64) {
	if c.progress != nil {
		c.progress(Event{Stage: stage, Done: min(done, c.vsize), Total: c.vsize})
	}
}

func writeFixed(ctx context.Context, w io.Writer, src *source, c *config) (*Result, error) {
	out := newOutput(w)
	res := &Result{Type: TypeFixed, VirtualSize: c.vsize, Padding: c.vsize - c.size, Geometry: GeometryFor(c.vsize)}
	h := c.idHash()
	buf := make([]byte, BlockSize)
	nblocks := (c.vsize + BlockSize - 1) / BlockSize
	for i := range nblocks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b := buf[:min(BlockSize, c.vsize-i*BlockSize)]
		zero, err := src.read(b, i)
		if err != nil {
			return nil, err
		}
		if zero {
			res.ZeroBlocks++
			err = out.zeros(int64(len(b)))
		} else {
			hashBlock(h, i, b)
			err = out.data(b)
		}
		if err != nil {
			return nil, err
		}
		c.report("write", (i+1)*BlockSize)
	}
	res.UniqueID = c.finishID(h)
	if err := out.write(c.footer(false, res.UniqueID).marshal()); err != nil {
		return nil, err
	}
	res.Size = out.n
	return res, nil
}

func writeDynamic(ctx context.Context, w io.Writer, src io.ReaderAt, c *config) (*Result, error) {
	nblocks := (c.vsize + BlockSize - 1) / BlockSize
	res := &Result{Type: TypeDynamic, VirtualSize: c.vsize, Padding: c.vsize - c.size, Geometry: GeometryFor(c.vsize)}
	batBytes := roundUp(nblocks*4, SectorSize)
	dataStart := int64(FooterSize+HeaderSize) + batBytes
	blockBytes := bitmapSize(BlockSize) + BlockSize
	bat := make([]byte, batBytes)
	for i := range bat {
		bat[i] = 0xFF
	}
	h := c.idHash()
	buf := make([]byte, BlockSize)
	sr := newSource(c, nil, src)
	defer sr.close()
	next := dataStart
	for i := range nblocks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		zero, err := sr.read(buf, i)
		if err != nil {
			return nil, err
		}
		if zero {
			res.ZeroBlocks++
		} else {
			hashBlock(h, i, buf)
			binary.BigEndian.PutUint32(bat[4*i:], uint32(next/SectorSize))
			next += blockBytes
			res.Blocks++
		}
		c.report("scan", (i+1)*BlockSize)
	}
	if next/SectorSize > 1<<32-1 {
		return nil, fmt.Errorf("%w: %d blocks do not fit 32-bit sector offsets", ErrTooLarge, res.Blocks)
	}
	res.UniqueID = c.finishID(h)
	footer := c.footer(true, res.UniqueID).marshal()
	hdr := (&DynamicHeader{DataOffset: ^uint64(0), TableOffset: FooterSize + HeaderSize, Version: formatVersion,
		MaxTableEntries: uint32(nblocks), BlockSize: BlockSize}).marshal()
	out := newOutput(w)
	for _, b := range [][]byte{footer, hdr, bat} {
		if err := out.write(b); err != nil {
			return nil, err
		}
	}
	bitmap := bytes.Repeat([]byte{0xFF}, int(bitmapSize(BlockSize)))
	for i := range nblocks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if binary.BigEndian.Uint32(bat[4*i:]) == batUnused {
			continue
		}
		if _, err := sr.read(buf, i); err != nil {
			return nil, err
		}
		if err := out.write(bitmap); err != nil {
			return nil, err
		}
		if err := out.data(buf); err != nil {
			return nil, err
		}
		c.report("write", (i+1)*BlockSize)
	}
	if err := out.write(footer); err != nil {
		return nil, err
	}
	res.Size = out.n
	return res, nil
}

// output writes sequentially; on a regular file positioned at its end it
// turns runs of zeros into holes by seeking forward (what it skips reads
// as zeros, and the footer that always follows extends the file over it).
type output struct {
	w    io.Writer
	f    *os.File
	n    int64
	hole int64
}

func newOutput(w io.Writer) *output {
	o := &output{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			if pos, err := f.Seek(0, io.SeekCurrent); err == nil && pos == st.Size() {
				o.f = f
			}
		}
	}
	return o
}

func (o *output) zeros(n int64) error {
	if o.f != nil {
		o.hole += n
		o.n += n
		return nil
	}
	for n > 0 {
		k := min(n, int64(len(zeroBlock)))
		if err := o.write(zeroBlock[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// data writes a block of disk data; on a sparse-capable file its 4 KiB
// runs of zeros become holes too.
func (o *output) data(b []byte) error {
	if o.f == nil {
		return o.write(b)
	}
	const page = 4096
	for len(b) > 0 {
		n := 0
		zero := isZero(b[:min(page, len(b))])
		for n < len(b) && isZero(b[n:min(n+page, len(b))]) == zero {
			n = min(n+page, len(b))
		}
		var err error
		if zero {
			err = o.zeros(int64(n))
		} else {
			err = o.write(b[:n])
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

func (o *output) write(b []byte) error {
	if o.hole > 0 {
		if _, err := o.f.Seek(o.hole, io.SeekCurrent); err != nil {
			return fmt.Errorf("vhd: write: %w", err)
		}
		o.hole = 0
	}
	n, err := o.w.Write(b)
	o.n += int64(n)
	if err != nil {
		return fmt.Errorf("vhd: write: %w", err)
	}
	return nil
}
