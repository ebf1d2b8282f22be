package vhdx

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"unicode/utf16"
)

// Digest is a SHA-256 digest; it reads and writes as lower-case hex in JSON
// and prints as hex with %s.
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

// Result describes a written VHDX.
type Result struct {
	Size          int64  `json:"size"`          // bytes written
	SHA256        Digest `json:"sha256"`        // SHA-256 of those bytes; nil with Options.NoDigest
	VirtualSize   int64  `json:"virtualSize"`   // disk size in bytes (a multiple of the logical sector size)
	BlockSize     uint32 `json:"blockSize"`     // payload block size
	Blocks        int64  `json:"blocks"`        // payload blocks of the disk
	PresentBlocks int64  `json:"presentBlocks"` // blocks written (fully present)
	ZeroBlocks    int64  `json:"zeroBlocks"`    // all-zero blocks left not present
	VirtualDiskID GUID   `json:"virtualDiskId"` // the Page 83 identifier
	FileWriteGUID GUID   `json:"fileWriteGuid"`
	DataWriteGUID GUID   `json:"dataWriteGuid"`
}

// creator is the file type identifier's creator string.
const creator = "fogkit vhdx"

// Write converts the raw disk image src of size bytes into a dynamic VHDX
// written sequentially to w. w is never seeked, except that on a regular
// *os.File (not opened for appending) all-zero chunks inside present blocks
// past the file's original end are seeked over, leaving holes.
//
// The virtual size is size rounded up to a multiple of the logical sector
// size (the tail reads as zeros). A first pass over src finds the blocks
// holding data (holes of an *os.File are never read) and fingerprints the
// content; the second writes the headers, an empty log, the metadata, the
// block allocation table and the non-zero blocks. src must be safe for
// concurrent ReadAt calls and must not change between the passes.
//
// The GUIDs derive from the content (or Options.ContentID) and the
// options, so the same disk gives the same bytes.
//
// A failed or cancelled write leaves w with a truncated file: its BAT
// points to blocks past its end, which Open refuses with ErrTruncated.
func Write(ctx context.Context, w io.Writer, src io.ReaderAt, size int64, opts *Options) (*Result, error) {
	c, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, fmt.Errorf("%w: disk size %d", ErrInvalid, size)
	}
	if size > MaxVirtualSize {
		return nil, fmt.Errorf("%w: disk size %d exceeds %d", ErrTooLarge, size, int64(MaxVirtualSize))
	}
	if f, ok := src.(*os.File); ok {
		// Holes past the end of a file would otherwise read as zeros.
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() < size {
			return nil, fmt.Errorf("%w: file %s has %d bytes, size is %d", ErrShortInput, f.Name(), st.Size(), size)
		}
	}
	vsize := (size + int64(c.logical) - 1) / int64(c.logical) * int64(c.logical)
	bs := int64(c.blockSize)
	blocks := (vsize + bs - 1) / bs
	sr, err := scan(ctx, &c, src, size, blocks)
	if err != nil {
		return nil, err
	}
	return write(ctx, w, &c, src, size, vsize, sr)
}

// WriteStream is not provided: a VHDX's block allocation table precedes
// the data it describes, so writing all-zero blocks as not present needs
// to know them before the first block is written, which a single pass over
// an io.Reader cannot. Spool the stream to a file and use Write.

// ids derives the three GUIDs from the content and the layout.
func ids(c *config, vsize int64, content []byte) (file, data, disk GUID) {
	h := sha256.New()
	var b [8]byte
	h.Write([]byte("fogkit vhdx ids v1\x00"))
	for _, v := range []uint64{uint64(vsize), uint64(c.blockSize), uint64(c.logical), uint64(c.physical)} {
		binary.LittleEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	if c.contentID != "" {
		h.Write([]byte{1})
		h.Write([]byte(c.contentID))
	} else {
		h.Write([]byte{2})
		h.Write(content)
	}
	seed := h.Sum(nil)
	mk := func(label string) GUID {
		s := sha256.Sum256(append(append([]byte(label), 0), seed...))
		var g GUID
		copy(g[:], s[:16])
		// An RFC 4122 name-based GUID: version 5 in Data3, variant 10 in Data4.
		binary.LittleEndian.PutUint16(g[6:], binary.LittleEndian.Uint16(g[6:])&0x0fff|0x5000)
		g[8] = g[8]&0x3f | 0x80
		return g
	}
	return mk("file"), mk("data"), mk("disk")
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
	if c.h != nil {
		c.h.Write(p[:n])
	}
	c.n += int64(n)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	c.err = err
	return n, err
}

// headerSection builds the first MiB: file type identifier, two headers,
// two region tables.
func headerSection(fileGUID, dataGUID GUID, batLen uint32) []byte {
	b := make([]byte, headerSectionSize)
	copy(b, "vhdxfile")
	for i, u := range utf16.Encode([]rune(creator)) {
		binary.LittleEndian.PutUint16(b[8+2*i:], u)
	}
	h := Header{FileWriteGUID: fileGUID, DataWriteGUID: dataGUID, Version: 1, LogLength: logLength, LogOffset: logOffset}
	for i, off := range []int{headerOffset1, headerOffset2} {
		h.SequenceNumber = uint64(i)
		h.put(b[off:])
	}
	rs := []Region{
		{GUID: guidBAT, Offset: batOffset, Length: batLen, Required: true},
		{GUID: guidMetadata, Offset: metadataOffset, Length: metadataLength, Required: true},
	}
	putRegionTable(b[regionTableOffset1:], rs)
	putRegionTable(b[regionTableOffset2:], rs)
	return b
}

// metadataRegion builds the metadata region: the table, then the five
// items from offset 64 KiB.
func metadataRegion(c *config, vsize int64, disk GUID) []byte {
	b := make([]byte, metadataLength)
	le := binary.LittleEndian
	copy(b, "metadata")
	type item struct {
		id    GUID
		flags uint32
		data  []byte
	}
	fp := make([]byte, 8)
	le.PutUint32(fp, c.blockSize) // flags 0: blocks may be unallocated, no parent
	items := []item{
		{guidFileParam, mdIsRequired, fp},
		{guidDiskSize, mdIsVirtualDisk | mdIsRequired, le.AppendUint64(nil, uint64(vsize))},
		{guidPage83, mdIsVirtualDisk | mdIsRequired, disk[:]},
		{guidLogical, mdIsVirtualDisk | mdIsRequired, le.AppendUint32(nil, c.logical)},
		{guidPhysical, mdIsVirtualDisk | mdIsRequired, le.AppendUint32(nil, c.physical)},
	}
	le.PutUint16(b[10:], uint16(len(items)))
	off := uint32(metadataTableSize)
	for i, it := range items {
		e := b[32+32*i:]
		copy(e, it.id[:])
		le.PutUint32(e[16:], off)
		le.PutUint32(e[20:], uint32(len(it.data)))
		le.PutUint32(e[24:], it.flags)
		copy(b[off:], it.data)
		off += uint32(len(it.data)+7) &^ 7
	}
	return b
}

func write(ctx context.Context, w io.Writer, c *config, src io.ReaderAt, size, vsize int64, sr *scanResult) (*Result, error) {
	bs := int64(c.blockSize)
	blocks := (vsize + bs - 1) / bs
	ratio := chunkRatio(c.blockSize, c.logical)
	entries := batEntries(blocks, ratio)
	batLen := (entries*8 + MiB - 1) / MiB * MiB
	dataStart := int64(batOffset) + batLen
	fileGUID, dataGUID, diskGUID := ids(c, vsize, sr.content)
	res := &Result{VirtualSize: vsize, BlockSize: c.blockSize, Blocks: blocks,
		VirtualDiskID: diskGUID, FileWriteGUID: fileGUID, DataWriteGUID: dataGUID}

	cw := &counter{w: w}
	if !c.noDigest {
		cw.h = sha256.New()
	}
	if _, err := cw.Write(headerSection(fileGUID, dataGUID, uint32(batLen))); err != nil {
		return nil, err
	}
	if _, err := cw.Write(zeroChunk[:logLength]); err != nil { // the empty log
		return nil, err
	}
	if _, err := cw.Write(metadataRegion(c, vsize, diskGUID)); err != nil {
		return nil, err
	}

	// The BAT, a MiB at a time; sector bitmap entries stay not present.
	buf := make([]byte, chunkSize)
	next := dataStart / MiB // file offset in MiB of the next present block
	var i, idx int64        // payload block, BAT index
	for pos := int64(0); pos < batLen; pos += chunkSize {
		clear(buf)
		for e := 0; e < chunkSize/8 && idx < entries; e, idx = e+1, idx+1 {
			if (idx+1)%(ratio+1) == 0 {
				continue // sector bitmap entry
			}
			if sr.has(i) {
				binary.LittleEndian.PutUint64(buf[8*e:], uint64(next)<<20|BlockFullyPresent)
				next += bs / MiB
				res.PresentBlocks++
			}
			i++
		}
		if _, err := cw.Write(buf); err != nil {
			return nil, err
		}
	}
	res.ZeroBlocks = blocks - res.PresentBlocks

	// The blocks holding data, in order, each written whole.
	if err := copyBlocks(ctx, c, cw, src, size, vsize, sr); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.Size = cw.n
	if cw.h != nil {
		res.SHA256 = cw.h.Sum(nil)
	}
	if c.progress != nil {
		c.progress(Event{Stage: "write", File: c.fileName, Done: vsize, Total: vsize, Written: res.Size})
	}
	return res, nil
}

// piece is a chunk of output on its way from the reading goroutine through
// the writer to the hashing goroutine.
type piece struct {
	buf    []byte
	pooled bool  // buf goes back to the free list after hashing
	block  int64 // payload block, for progress
	last   bool  // the last chunk of its block
	err    error
}

// copyBlocks writes the present blocks. Reading (one goroutine, reading
// ahead into a few buffers), writing (the caller's goroutine) and hashing
// the output (one goroutine) overlap; chunks the scan found all-zero are
// not read again.
//
// When the output is a regular file, the all-zero chunks of present blocks
// become holes (see holeFile), as qemu-img leaves them.
func copyBlocks(ctx context.Context, c *config, cw *counter, src io.ReaderAt, size, vsize int64, sr *scanResult) error {
	hf := newHoleFile(cw.w)
	const buffers = 4
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	free := make(chan []byte, buffers)
	for range buffers {
		free <- make([]byte, chunkSize)
	}
	pieces := make(chan piece, buffers)
	go func() {
		defer close(pieces)
		bs := int64(c.blockSize)
		blocks := (vsize + bs - 1) / bs
		for b := range blocks {
			if !sr.has(b) {
				continue
			}
			for i := b * sr.chunksPerBlock; i < (b+1)*sr.chunksPerBlock; i++ {
				p := piece{buf: zeroChunk[:], block: b, last: i == (b+1)*sr.chunksPerBlock-1}
				if i*chunkSize < size && sr.chunk(i) {
					select {
					case p.buf = <-free:
					case <-ctx.Done():
						pieces <- piece{err: ctx.Err()}
						return
					}
					p.pooled = true
					got, err := readChunk(src, size, i, p.buf)
					if err != nil {
						pieces <- piece{err: err}
						return
					}
					clear(p.buf[len(got):])
				}
				pieces <- p
			}
		}
	}()
	h := cw.h
	cw.h = nil // the hashing goroutine takes over
	hashed := make(chan piece, buffers+1)
	hashDone := make(chan struct{})
	go func() {
		defer close(hashDone)
		for p := range hashed {
			if h != nil {
				h.Write(p.buf)
			}
			if p.pooled {
				free <- p.buf
			}
		}
	}()
	var err error
	for p := range pieces {
		if err != nil {
			continue // drain
		}
		if err = p.err; err == nil {
			err = ctx.Err()
		}
		if err == nil {
			var skipped bool
			if !p.pooled {
				skipped, err = hf.skip(cw.n, int64(len(p.buf)))
			}
			if skipped {
				cw.n += int64(len(p.buf))
			} else if err == nil {
				_, err = cw.Write(p.buf)
			}
		}
		if err != nil {
			cancel()
			continue
		}
		hashed <- p
		if p.last && c.progress != nil {
			c.progress(Event{Stage: "write", File: c.fileName, Done: min((p.block+1)*int64(c.blockSize), vsize), Total: vsize, Written: cw.n})
		}
	}
	close(hashed)
	<-hashDone
	cw.h = h
	if err == nil {
		err = hf.finish(cw.n)
	}
	return err
}
