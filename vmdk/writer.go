package vmdk

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"sync"

	"github.com/klauspost/compress/zlib"
)

// Digest is a SHA-256 digest as raw bytes, so it goes into ova.File's
// Digest (a []byte) as it is, with no hex round trip; it reads and writes
// as lower-case hex in JSON and prints as hex with %s and String.
type Digest []byte

func (d Digest) String() string { return hex.EncodeToString(d) }

// MarshalText writes the digest as lower-case hex.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a hex digest.
func (d *Digest) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Result describes a written VMDK.
type Result struct {
	Size          int64  `json:"size"`          // bytes written
	SHA256        Digest `json:"sha256"`        // SHA-256 of those bytes (lower-case hex in JSON)
	Capacity      int64  `json:"capacity"`      // disk capacity in bytes (a multiple of 512)
	Grains        int64  `json:"grains"`        // grains written (compressed)
	ZeroGrains    int64  `json:"zeroGrains"`    // all-zero grains skipped (holes included)
	GrainTables   int64  `json:"grainTables"`   // grain tables written
	GDEntries     int64  `json:"gdEntries"`     // entries of the grain directory
	CID           string `json:"cid"`           // descriptor CID (8 hex digits)
	LongContentID string `json:"longContentId"` // ddb.longContentID (32 hex digits)
}

// Write converts the raw disk image src of size bytes into a
// streamOptimized VMDK written sequentially to w (w is never seeked).
//
// The capacity is size rounded up to a multiple of 512 bytes (the tail of
// the last sector reads as zeros). When src is an *os.File, holes found with
// SEEK_DATA/SEEK_HOLE are never read (the file offset is restored afterwards);
// src must be safe for concurrent ReadAt calls otherwise.
//
// The CID and ddb.longContentID derive from the content: a first pass over
// src fingerprints every non-zero grain (skipped when opts.ContentID is
// set). Holes and explicit zeros fingerprint alike, so a sparse file and a
// dense copy of it give identical VMDKs.
//
// A failed or cancelled write leaves w with a header that points to a
// footer at the end of the file which was never written: no reader accepts
// such output as a complete VMDK. The footer and end-of-stream marker are
// the very last bytes written.
func Write(ctx context.Context, w io.Writer, src io.ReaderAt, size int64, opts *Options) (*Result, error) {
	c, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	if err := checkSize(size); err != nil {
		return nil, err
	}
	if f, ok := src.(*os.File); ok {
		// Holes past the end of a file would otherwise read as zeros.
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() < size {
			return nil, fmt.Errorf("%w: file %s has %d bytes, size is %d", ErrShortInput, f.Name(), st.Size(), size)
		}
	}
	var content []byte
	var keep []*batch
	if c.contentID == "" {
		s := newReaderAtSource(src, size)
		content, err = contentHash(ctx, &c, s, &keep)
		s.close()
		if err != nil {
			return nil, err
		}
	}
	s := newReaderAtSource(src, size)
	defer s.close()
	return write(ctx, w, &c, s, size, content, keep)
}

// WriteStream is Write for a sequential reader holding exactly size bytes
// of raw disk (more data after size bytes is not read). It fails with
// ErrShortInput if src ends early.
//
// A stream cannot be hashed before the descriptor is written, so the CID
// and ddb.longContentID derive from opts.ContentID (pass a digest of the raw
// disk for content-derived IDs) and the capacity; without ContentID they
// derive from the capacity alone, which is still reproducible.
func WriteStream(ctx context.Context, w io.Writer, src io.Reader, size int64, opts *Options) (*Result, error) {
	c, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	if err := checkSize(size); err != nil {
		return nil, err
	}
	return write(ctx, w, &c, &streamSource{r: src, size: size}, size, nil, nil)
}

// WriteEmpty writes an all-zero disk of size bytes (rounded up to a
// multiple of 512) without reading anything: header, descriptor, grain
// directory, footer and end-of-stream. It is byte-identical to Write of an
// all-zero image of the same size and options.
func WriteEmpty(ctx context.Context, w io.Writer, size int64, opts *Options) (*Result, error) {
	c, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	if err := checkSize(size); err != nil {
		return nil, err
	}
	var content []byte
	if c.contentID == "" {
		content = emptyContentHash()
	}
	return write(ctx, w, &c, emptySource{}, size, content, nil)
}

func checkSize(size int64) error {
	if size <= 0 {
		return fmt.Errorf("%w: disk size %d", ErrInvalid, size)
	}
	if size > MaxCapacity {
		return fmt.Errorf("%w: disk size %d exceeds %d", ErrTooLarge, size, int64(MaxCapacity))
	}
	return nil
}

// contentHash is the first pass of Write: a SHA-256 over (grain index,
// fingerprint) of every non-zero grain, so that holes and explicit zeros
// hash alike. The per-grain fingerprint is CRC-32C and CRC-32 (IEEE), both
// hardware-accelerated, several times faster than hashing every byte with
// SHA-256: the IDs need to tell different disks apart, not resist forgery
// (the manifest digest of the whole file does that).
func contentHash(ctx context.Context, c *config, src source, keep *[]*batch) ([]byte, error) {
	h := sha256.New()
	var rec [16]byte
	newWorker := func() func(*batch) {
		return func(b *batch) {
			if len(b.sum) < len(b.rec) {
				b.sum = make([]uint64, len(b.rec))
			}
			for i := 0; i < b.n; i++ {
				g := b.in[i*GrainSize : (i+1)*GrainSize]
				if isZero(g) {
					b.rec[i] = 0
					continue
				}
				b.rec[i] = 1
				b.sum[i] = uint64(crc32.Checksum(g, castagnoli))<<32 | uint64(crc32.ChecksumIEEE(g))
			}
		}
	}
	err := pipeline(ctx, c, src, keep, newWorker, func(b *batch) error {
		for i := 0; i < b.n; i++ {
			if b.rec[i] != 0 {
				binary.LittleEndian.PutUint64(rec[:], uint64(b.first)+uint64(i))
				binary.LittleEndian.PutUint64(rec[8:], b.sum[i])
				h.Write(rec[:])
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func emptyContentHash() []byte {
	s := sha256.Sum256(nil)
	return s[:]
}

// ids derives the CID and the 32-hex-digit longContentID; the CID is the
// last 8 digits of the longContentID, as VMware writes them.
func ids(sectors uint64, content []byte, contentID string) (uint32, string) {
	h := sha256.New()
	var b [8]byte
	h.Write([]byte("fogkit vmdk content id v1\x00"))
	binary.LittleEndian.PutUint64(b[:], sectors)
	h.Write(b[:])
	switch {
	case contentID != "":
		h.Write([]byte{1})
		h.Write([]byte(contentID))
	case content != nil:
		h.Write([]byte{2})
		h.Write(content)
	default:
		h.Write([]byte{0})
	}
	sum := h.Sum(nil)[:16]
	cid := binary.BigEndian.Uint32(sum[12:])
	if cid == 0xffffffff || cid == 0xfffffffe || cid == 0 {
		cid = 0x0f0f0f0f ^ cid&0x7fffffff
		binary.BigEndian.PutUint32(sum[12:], cid)
	}
	return cid, hex.EncodeToString(sum)
}

// counter tees everything written into a SHA-256 and counts it.
type counter struct {
	w   io.Writer
	h   hash.Hash
	n   int64
	err error
}

func (c *counter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	c.err = err
	return n, err
}

var zlibPools [10]sync.Pool

func getZlib(level int) *zlib.Writer {
	if z, ok := zlibPools[level].Get().(*zlib.Writer); ok {
		return z
	}
	z, _ := zlib.NewWriterLevel(io.Discard, level) // level validated by resolve
	return z
}

// appender is an io.Writer appending to a slice.
type appender struct{ b []byte }

func (a *appender) Write(p []byte) (int, error) { a.b = append(a.b, p...); return len(p), nil }

// compressWorker returns a worker that turns every non-zero grain of a batch
// into a grain record: LBA (u64), compressed size (u32), zlib data,
// zero-padded to a sector.
func compressWorker(level int, bufs *[]*zlib.Writer, mu *sync.Mutex) func() func(*batch) {
	return func() func(*batch) {
		z := getZlib(level)
		mu.Lock()
		*bufs = append(*bufs, z)
		mu.Unlock()
		var ap appender
		return func(b *batch) {
			if cap(b.out) < b.n*(GrainSize+2*SectorSize) {
				b.out = make([]byte, 0, len(b.rec)*(GrainSize+2*SectorSize))
			}
			ap.b = b.out[:0]
			for i := 0; i < b.n; i++ {
				g := b.in[i*GrainSize : (i+1)*GrainSize]
				if isZero(g) {
					b.rec[i] = 0
					continue
				}
				start := len(ap.b)
				var hdr [12]byte
				binary.LittleEndian.PutUint64(hdr[:], uint64(b.first+int64(i))*GrainSectors)
				ap.b = append(ap.b, hdr[:]...)
				z.Reset(&ap)
				if _, err := z.Write(g); err != nil {
					b.err = err
					return
				}
				if err := z.Close(); err != nil {
					b.err = err
					return
				}
				csize := len(ap.b) - start - 12
				binary.LittleEndian.PutUint32(ap.b[start+8:], uint32(csize))
				rec := (len(ap.b) - start + SectorSize - 1) / SectorSize
				ap.b = append(ap.b, zeroGrain[:rec*SectorSize-(len(ap.b)-start)]...)
				b.rec[i] = int32(rec)
			}
			b.out = ap.b
		}
	}
}

func write(ctx context.Context, w io.Writer, c *config, src source, size int64, content []byte, keep []*batch) (*Result, error) {
	sectors := uint64(size+SectorSize-1) / SectorSize
	grains := (sectors + GrainSectors - 1) / GrainSectors
	numGTs := (grains + GTEsPerGT - 1) / GTEsPerGT
	gdSectors := (numGTs*4 + SectorSize - 1) / SectorSize
	cid, longID := ids(sectors, content, c.contentID)

	cw := &counter{w: w, h: sha256.New()}
	bw := bufio.NewWriterSize(cw, 256<<10)
	res := &Result{Capacity: int64(sectors) * SectorSize, CID: fmt.Sprintf("%08x", cid),
		LongContentID: longID, GDEntries: int64(numGTs)}

	// Header, descriptor, padding up to OverHead.
	head := make([]byte, OverHead*SectorSize)
	hdr := streamHeader(sectors)
	hdr.put(head)
	desc := descriptorText(descParams{sectors: sectors, cid: cid, longContentID: longID, adapter: c.adapter,
		hwVersion: c.hwVersion, toolsVersion: c.toolsV, fileName: c.fileName})
	if len(desc) > DescriptorSize*SectorSize {
		return nil, fmt.Errorf("%w: descriptor of %d bytes does not fit %d sectors", ErrInvalid, len(desc), DescriptorSize)
	}
	copy(head[DescriptorOffset*SectorSize:], desc)
	if _, err := bw.Write(head); err != nil {
		return nil, err
	}
	pos := uint64(OverHead) // next sector to write

	gd := make([]uint32, numGTs)
	var gt [GTEsPerGT]uint32
	var gtBuf [SectorSize + GTEsPerGT*4]byte
	curBlock, gtUsed := uint64(0), false
	flushGT := func() error {
		if !gtUsed {
			return nil
		}
		if pos+1 > 0xffffffff {
			return fmt.Errorf("%w: output exceeds 2 TiB", ErrTooLarge)
		}
		putMarker(gtBuf[:], GTEsPerGT*4/SectorSize, MarkerGT)
		for i, v := range gt {
			binary.LittleEndian.PutUint32(gtBuf[SectorSize+4*i:], v)
		}
		gd[curBlock] = uint32(pos + 1)
		if _, err := bw.Write(gtBuf[:]); err != nil {
			return err
		}
		pos += 1 + GTEsPerGT*4/SectorSize
		res.GrainTables++
		gt, gtUsed = [GTEsPerGT]uint32{}, false
		return nil
	}

	var zs []*zlib.Writer
	var zmu sync.Mutex
	defer func() {
		for _, z := range zs {
			zlibPools[c.level].Put(z)
		}
	}()
	err := pipeline(ctx, c, src, &keep, compressWorker(c.level, &zs, &zmu), func(b *batch) error {
		off := 0
		for i := 0; i < b.n; i++ {
			r := b.rec[i]
			if r == 0 {
				continue
			}
			g := uint64(b.first) + uint64(i)
			if blk := g / GTEsPerGT; blk != curBlock {
				if err := flushGT(); err != nil {
					return err
				}
				curBlock = blk
			}
			if pos+uint64(r) > 0xffffffff {
				return fmt.Errorf("%w: output exceeds 2 TiB", ErrTooLarge)
			}
			gt[g%GTEsPerGT] = uint32(pos)
			gtUsed = true
			pos += uint64(r)
			off += int(r) * SectorSize
			res.Grains++
		}
		if _, err := bw.Write(b.out[:off]); err != nil {
			return err
		}
		if c.progress != nil {
			c.progress(Event{Stage: "write", File: c.fileName, Done: min((b.first+int64(b.n))*GrainSize, res.Capacity), Total: res.Capacity,
				Written: cw.n + int64(bw.Buffered()), Grains: res.Grains})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := flushGT(); err != nil {
		return nil, err
	}
	res.ZeroGrains = int64(grains) - res.Grains
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Grain directory, footer, end of stream.
	gdPos := pos + 1
	tail := make([]byte, 0, (gdSectors+4)*SectorSize)
	tail = tail[:SectorSize]
	putMarker(tail, gdSectors, MarkerGD)
	for _, v := range gd {
		tail = binary.LittleEndian.AppendUint32(tail, v)
	}
	tail = tail[:(1+gdSectors)*SectorSize]
	tail = append(tail, make([]byte, 3*SectorSize)...)
	t := tail[(1+gdSectors)*SectorSize:]
	putMarker(t, 1, MarkerFooter)
	footer := hdr
	footer.GDOffset = gdPos
	footer.put(t[SectorSize:])
	if _, err := bw.Write(tail); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	res.Size = cw.n
	res.SHA256 = cw.h.Sum(nil)
	if c.progress != nil {
		c.progress(Event{Stage: "write", File: c.fileName, Done: res.Capacity, Total: res.Capacity, Written: res.Size, Grains: res.Grains})
	}
	return res, nil
}
