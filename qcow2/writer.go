package qcow2

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"sync/atomic"
)

// Digest is a SHA-256 digest as raw bytes; it reads and writes as
// lower-case hex in JSON and prints as hex.
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

// Result describes a written qcow2 image.
type Result struct {
	Size               int64  `json:"size"`               // bytes written
	SHA256             Digest `json:"sha256"`             // SHA-256 of those bytes; nil with Options.NoDigest
	VirtualSize        int64  `json:"virtualSize"`        // guest disk size (a multiple of 512)
	ClusterSize        int64  `json:"clusterSize"`        // bytes
	DataClusters       int64  `json:"dataClusters"`       // guest clusters stored
	CompressedClusters int64  `json:"compressedClusters"` // of which compressed
	ZeroClusters       int64  `json:"zeroClusters"`       // all-zero guest clusters left unallocated
	L2Tables           int64  `json:"l2Tables"`
	RefcountBlocks     int64  `json:"refcountBlocks"`
}

// Write converts the raw disk image src of size bytes into a qcow2 v3
// image written strictly sequentially to w (w is never seeked).
//
// Without compression it reads src twice: a first pass finds the all-zero
// clusters, so that the metadata (refcounts, L1, L2) can be laid out and
// written before the data; the second pass reads only the clusters to
// store. If one of those has become all zeros or src has become shorter,
// Write fails with ErrShortInput; other changes between the passes go
// unnoticed, so src must not change during Write. With
// compression the compressed sizes are only known after compressing, so
// Write reads src once and spools the compressed clusters to a temporary
// file in Options.TempDir, then writes header, metadata and the spool.
//
// src must be safe for concurrent ReadAt calls; when it is an *os.File,
// holes found with SEEK_DATA/SEEK_HOLE are never read, and where the page
// cache holds a cluster, the first pass reads its first 4 KiB and the rest
// only if those are all zeros. The virtual size is
// size rounded up to a multiple of 512 (the tail reads as zeros).
//
// A failed or cancelled write leaves w with a header and metadata that point
// past the end of what was written: Open accepts such a file but reads of
// the missing clusters fail with ErrTruncated, and Inspect reports them.
func Write(ctx context.Context, w io.Writer, src io.ReaderAt, size int64, o *Options) (*Result, error) {
	c, err := resolve(o)
	if err != nil {
		return nil, err
	}
	if err := checkSize(&c, size); err != nil {
		return nil, err
	}
	if f, ok := src.(*os.File); ok {
		// Holes are never read, and past the end of a file they would
		// read as zeros.
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() < size {
			return nil, fmt.Errorf("%w: file %s has %d bytes, size is %d", ErrShortInput, f.Name(), st.Size(), size)
		}
	}
	if c.compression != CompressionNone {
		return writeSpooled(ctx, w, &c, &readerAtSource{r: src, size: size}, size, dataRuns(src, size, 1<<c.clusterBits))
	}
	return writeTwoPass(ctx, w, &c, src, size)
}

// WriteStream is Write for a sequential reader holding exactly size bytes
// of raw disk (more data is not read); it fails with ErrShortInput if src
// ends early. The header at offset 0 points at metadata that depends on
// every cluster, so WriteStream always spools the data clusters (compressed
// or not, all-zero clusters never) to a temporary file in Options.TempDir
// and writes header, metadata and the spool once src is read; the output is
// byte-identical to Write's.
func WriteStream(ctx context.Context, w io.Writer, src io.Reader, size int64, o *Options) (*Result, error) {
	c, err := resolve(o)
	if err != nil {
		return nil, err
	}
	if err := checkSize(&c, size); err != nil {
		return nil, err
	}
	return writeSpooled(ctx, w, &c, &streamSource{r: src, size: size}, size, nil)
}

func checkSize(c *config, size int64) error {
	if size <= 0 {
		return fmt.Errorf("%w: disk size %d", ErrInvalid, size)
	}
	if size > MaxSize {
		return fmt.Errorf("%w: disk size %d exceeds %d", ErrTooLarge, size, MaxSize)
	}
	if l1Entries(c, roundUp(size, 512))*8 > maxL1Bytes {
		return fmt.Errorf("%w: disk size %d needs an L1 table over %d bytes with %d-byte clusters", ErrTooLarge, size, maxL1Bytes, 1<<c.clusterBits)
	}
	return nil
}

func roundUp(n, m int64) int64 { return (n + m - 1) / m * m }

func l1Entries(c *config, vsize int64) int64 {
	span := int64(1) << (2*c.clusterBits - 3) // bytes one L2 table maps
	return (vsize + span - 1) / span
}

// plan collects the L2 entries with host offsets relative to the start of
// the data area, which is placed after the metadata once its size is known.
type plan struct {
	c                           *config
	vsize                       int64
	tables                      map[int64][]uint64 // L1 index -> L2 table
	dataBytes                   int64              // size of the data area
	data, compressed, zero      int64
	shift                       uint
	offMask, countMask, l2Shift uint64
	clusterSize, l2Entries      int64
}

func newPlan(c *config, vsize int64) *plan {
	p := &plan{c: c, vsize: vsize, tables: map[int64][]uint64{}, clusterSize: 1 << c.clusterBits}
	p.l2Entries = p.clusterSize / 8
	p.shift, p.offMask, p.countMask = compressedLayout(uint32(c.clusterBits))
	return p
}

func (p *plan) set(cluster int64, e uint64) {
	i := cluster / p.l2Entries
	t := p.tables[i]
	if t == nil {
		t = make([]uint64, p.l2Entries)
		p.tables[i] = t
	}
	t[cluster%p.l2Entries] = e
}

// addRaw places a raw data cluster at the next cluster boundary of the
// data area and returns the padding needed before it.
func (p *plan) addRaw(cluster int64) int64 {
	pad := roundUp(p.dataBytes, p.clusterSize) - p.dataBytes
	p.dataBytes += pad
	p.set(cluster, entryCopied|uint64(p.dataBytes))
	p.dataBytes += p.clusterSize
	p.data++
	return pad
}

func (p *plan) addCompressed(cluster int64, n int64) {
	off := uint64(p.dataBytes)
	sectors := (off+uint64(n)-1)>>9 - off>>9 // additional sectors
	p.set(cluster, entryCompressed|sectors<<p.shift|off)
	p.dataBytes += n
	p.data++
	p.compressed++
}

// layout is where the metadata and the data go, in clusters.
type layout struct {
	refTable, refTableLen  int64
	refBlocks, refBlockLen int64
	l1, l1Len              int64
	l2, l2Len              int64
	data, dataLen          int64
	total                  int64
}

func (p *plan) layout() layout {
	cs := p.clusterSize
	l1Len := roundUp(max(1, l1Entries(p.c, p.vsize))*8, cs) / cs
	l2Len := int64(len(p.tables))
	dataLen := roundUp(p.dataBytes, cs) / cs
	perBlock := cs * 8 / (1 << refcountOrder)
	rt, rb := int64(1), int64(1)
	for {
		total := 1 + rt + rb + l1Len + l2Len + dataLen
		nrb := (total + perBlock - 1) / perBlock
		nrt := max(1, roundUp(nrb*8, cs)/cs)
		if nrb == rb && nrt == rt {
			break
		}
		rb, rt = nrb, nrt
	}
	l := layout{refTable: 1, refTableLen: rt, refBlockLen: rb, l1Len: l1Len, l2Len: l2Len, dataLen: dataLen}
	l.refBlocks = l.refTable + rt
	l.l1 = l.refBlocks + rb
	l.l2 = l.l1 + l1Len
	l.data = l.l2 + l2Len
	l.total = l.data + dataLen
	return l
}

// asyncWriter buffers the output in large buffers and hands full ones to
// a goroutine that writes them, which passes them on to a goroutine that
// hashes them (SHA-256 for Result) and frees them: writing and hashing
// overlap with each other and with reading and classifying clusters.
// Output order is kept.
type asyncWriter struct {
	buf    []byte
	full   chan []byte
	hashed chan []byte
	free   chan []byte
	done   chan struct{}
	n      int64
	h      hash.Hash // nil: no digest
	err    error     // set by the writing goroutine, read after done
	// failed is set when the goroutine hit an error, so Write stops early.
	failed atomic.Bool
}

// The output buffers: 512 KiB (or one cluster if larger) stays in a
// core's cache between the read or copy that fills it and the write that
// empties it; with 2 MiB buffers the kernel's copies were slower and their
// time varied twofold from run to run.
const (
	asyncBuf     = 512 << 10
	asyncBuffers = 4
)

// newAsyncWriter starts the writing goroutines; bufSize is at least
// asyncBuf and a multiple of the cluster size.
func newAsyncWriter(w io.Writer, digest bool, bufSize int) *asyncWriter {
	a := &asyncWriter{full: make(chan []byte, asyncBuffers), hashed: make(chan []byte, asyncBuffers),
		free: make(chan []byte, asyncBuffers), done: make(chan struct{})}
	if digest {
		a.h = sha256.New()
	}
	for range asyncBuffers - 1 {
		a.free <- make([]byte, 0, bufSize)
	}
	a.buf = make([]byte, 0, bufSize)
	full, hashed := a.full, a.hashed // close sets a.full to nil
	go func() {
		defer close(hashed)
		for b := range full {
			if a.err == nil {
				n, err := w.Write(b)
				if err == nil && n < len(b) {
					err = io.ErrShortWrite
				}
				if err != nil {
					a.err = err
					a.failed.Store(true)
				}
			}
			hashed <- b
		}
	}()
	go func() {
		defer close(a.done)
		for b := range hashed {
			if a.h != nil {
				a.h.Write(b)
			}
			a.free <- b[:0]
		}
	}()
	return a
}

func (a *asyncWriter) Write(p []byte) (int, error) {
	if a.failed.Load() {
		return 0, a.err // written before failed was set, never after
	}
	n := len(p)
	for len(p) > 0 {
		k := copy(a.reserve(), p)
		a.commit(k)
		p = p[k:]
	}
	return n, nil
}

// reserve returns the free tail of the current buffer (never empty), for
// the caller to fill and then commit; it saves a copy when reading the
// input straight into the output.
func (a *asyncWriter) reserve() []byte { return a.buf[len(a.buf):cap(a.buf)] }

// commit appends the first n bytes of what reserve returned to the output.
func (a *asyncWriter) commit(n int) {
	a.buf = a.buf[:len(a.buf)+n]
	a.n += int64(n)
	if len(a.buf) == cap(a.buf) {
		a.full <- a.buf
		a.buf = <-a.free
	}
}

// close flushes and stops the goroutines; it returns the first write error.
func (a *asyncWriter) close() error {
	if a.full == nil {
		return a.err
	}
	if len(a.buf) > 0 {
		a.full <- a.buf
	}
	close(a.full)
	a.full = nil
	<-a.done
	return a.err
}

// sum returns the digest of the output, nil without one; only after close.
func (a *asyncWriter) sum() Digest {
	if a.h == nil {
		return nil
	}
	return a.h.Sum(nil)
}

// writeMeta writes the header cluster, refcount table, refcount blocks, L1
// and L2 tables; the data area follows.
func (p *plan) writeMeta(w io.Writer, l layout) error {
	cs := p.clusterSize
	h := Header{Version: 3, ClusterBits: uint32(p.c.clusterBits), Size: uint64(p.vsize),
		L1Size: uint32(l1Entries(p.c, p.vsize)), L1TableOffset: uint64(l.l1 * cs),
		RefcountTableOffset: uint64(l.refTable * cs), RefcountTableClusters: uint32(l.refTableLen),
		RefcountOrder: refcountOrder, HeaderLength: headerLen}
	if p.c.compression == CompressionZstd {
		h.IncompatibleFeatures |= incCompressionType
		h.CompressionType = compressionTypeZstd
	}
	buf := make([]byte, cs)
	copy(buf, h.encode())
	if _, err := w.Write(buf); err != nil {
		return err
	}
	be := binary.BigEndian
	// Refcount table.
	for i := range l.refTableLen {
		clear(buf)
		for j := int64(0); j < cs/8; j++ {
			if k := i*cs/8 + j; k < l.refBlockLen {
				be.PutUint64(buf[j*8:], uint64((l.refBlocks+k)*cs))
			}
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	// Refcount blocks: every metadata cluster 1, then the data area's
	// references in ascending host order.
	perBlock := cs / 2
	block := int64(0)
	clear(buf)
	inc := func(cluster int64) error {
		for cluster >= (block+1)*perBlock {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			clear(buf)
			block++
		}
		i := (cluster - block*perBlock) * 2
		be.PutUint16(buf[i:], be.Uint16(buf[i:])+1)
		return nil
	}
	for cl := range l.data {
		if err := inc(cl); err != nil {
			return err
		}
	}
	if err := p.forEntries(func(e uint64) error {
		if e&entryCompressed == 0 {
			return inc(l.data + int64(e&l2OffsetMask)/cs)
		}
		off := e & p.offMask &^ 511
		end := off + (e>>p.shift&p.countMask+1)*512
		for c := off / uint64(cs); c <= (end-1)/uint64(cs); c++ {
			if err := inc(l.data + int64(c)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	for block < l.refBlockLen {
		if _, err := w.Write(buf); err != nil {
			return err
		}
		clear(buf)
		block++
	}
	// L1 table.
	keys := p.keys()
	l1 := make([]byte, l.l1Len*cs)
	for n, i := range keys {
		be.PutUint64(l1[i*8:], entryCopied|uint64((l.l2+int64(n))*cs))
	}
	if _, err := w.Write(l1); err != nil {
		return err
	}
	// L2 tables, offsets made absolute.
	base := uint64(l.data * cs)
	for _, i := range keys {
		clear(buf)
		for j, e := range p.tables[i] {
			if e != 0 {
				be.PutUint64(buf[j*8:], e+base)
			}
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

func (p *plan) keys() []int64 {
	keys := make([]int64, 0, len(p.tables))
	for k := range p.tables {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (p *plan) forEntries(fn func(uint64) error) error {
	for _, k := range p.keys() {
		for _, e := range p.tables[k] {
			if e != 0 {
				if err := fn(e); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (p *plan) result(cw *asyncWriter, l layout) *Result {
	return &Result{Size: cw.n, SHA256: cw.sum(), VirtualSize: p.vsize, ClusterSize: p.clusterSize,
		DataClusters: p.data, CompressedClusters: p.compressed,
		ZeroClusters: (p.vsize+p.clusterSize-1)/p.clusterSize - p.data,
		L2Tables:     l.l2Len, RefcountBlocks: l.refBlockLen}
}

func (c *config) report(stage string, done, total int64) {
	if c.progress != nil {
		c.progress(Event{Stage: stage, Done: min(done, total), Total: total})
	}
}

// writeTwoPass is the uncompressed Write: a scan for zero clusters, the
// metadata, then the stored clusters read again, straight into the output
// buffers.
func writeTwoPass(ctx context.Context, w io.Writer, c *config, src io.ReaderAt, size int64) (*Result, error) {
	vsize := roundUp(size, 512)
	p := newPlan(c, vsize)
	cs := p.clusterSize
	clusters := (vsize + cs - 1) / cs
	s := &readerAtSource{r: src, size: size}
	runs := dataRuns(src, size, cs)
	if runs != nil {
		if err := scanProbe(ctx, c, p, s, clusters, runs); err != nil {
			return nil, err
		}
	} else if err := pipeline(ctx, c, s, clusters, nil, false, func(b *batch) error {
		for i := range b.n {
			if b.kind[i] != kindZero {
				p.addRaw(b.first + int64(i))
			}
		}
		c.report("scan", (b.first+int64(b.n))*cs, size)
		return nil
	}); err != nil {
		return nil, err
	}
	c.report("scan", size, size)
	l := p.layout()
	bw := newAsyncWriter(w, !c.noDigest, max(asyncBuf, int(cs)))
	defer bw.close()
	if err := p.writeMeta(bw, l); err != nil {
		return nil, err
	}
	if err := p.copyStored(ctx, s, bw); err != nil {
		return nil, err
	}
	if err := bw.close(); err != nil {
		return nil, err
	}
	c.report("write", size, size)
	return p.result(bw, l), nil
}

// scanProbe is the first pass of an uncompressed Write from a file, whose
// holes (runs leaves them out) read as zeros. Where the page cache holds
// the first 4 KiB of a cluster and they are not all zeros, the cluster
// holds data and the rest is not read: most of a cached input is not
// copied twice. From a cluster whose head is not cached, or is all zeros,
// a whole batch is read in one call, so a cold file is read sequentially,
// as without probing.
func scanProbe(ctx context.Context, c *config, p *plan, s *readerAtSource, clusters int64, runs []run) error {
	cs := p.clusterSize
	probe := min(cs, 4096)
	cr := newCachedReader(s.r)
	batchLen := int64(c.batchLen)
	buf := make([]byte, batchLen*cs)
	var seen int64 // clusters classified, for cancellation and progress
	step := func(g int64) error {
		if seen++; seen%int64(c.batchLen) == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			c.report("scan", g*cs, s.size)
		}
		return nil
	}
	for _, r := range runs {
		end := min(r.c1, clusters)
		for g := r.c0; g < end; {
			if err := ctx.Err(); err != nil {
				return err
			}
			for ; g < end; g++ {
				off := g * cs
				head := buf[:min(probe, s.size-off)]
				if !cr.readCached(head, off) || isZero(head) {
					break
				}
				p.addRaw(g)
				if err := step(g); err != nil {
					return err
				}
			}
			n := min(end-g, batchLen)
			if n == 0 {
				break
			}
			if err := s.read(buf, g*cs, int(n*cs)); err != nil {
				return err
			}
			for i := range n {
				if !isZero(buf[i*cs : (i+1)*cs]) {
					p.addRaw(g + i)
				}
				if err := step(g + i); err != nil {
					return err
				}
			}
			g += n
		}
	}
	return nil
}

// copyStored reads the clusters the scan found non-zero, in guest order
// (which is their order in the data area), directly into the output
// buffers, several at a time. A stored cluster that now reads as all zeros
// means src changed since the scan.
func (p *plan) copyStored(ctx context.Context, s *readerAtSource, bw *asyncWriter) error {
	cs := p.clusterSize
	var small []byte // for a buffer tail shorter than a cluster
	for _, k := range p.keys() {
		t := p.tables[k]
		for j := int64(0); j < int64(len(t)); {
			if t[j] == 0 {
				j++
				continue
			}
			e := j + 1
			for e < int64(len(t)) && t[e] != 0 {
				e++
			}
			for g, end := k*p.l2Entries+j, k*p.l2Entries+e; g < end; {
				if err := ctx.Err(); err != nil {
					return err
				}
				if bw.failed.Load() {
					return bw.err
				}
				dst := bw.reserve()
				n := min(int64(len(dst))/cs, end-g)
				direct := n > 0
				if !direct {
					if small == nil {
						small = make([]byte, cs)
					}
					dst, n = small, 1
				}
				dst = dst[:n*cs]
				if err := s.read(dst, g*cs, len(dst)); err != nil {
					return err
				}
				for i := range n {
					if isZero(dst[i*cs : (i+1)*cs]) {
						return fmt.Errorf("%w: input changed between passes at offset %d", ErrShortInput, (g+i)*cs)
					}
				}
				if direct {
					bw.commit(len(dst))
				} else if _, err := bw.Write(dst); err != nil {
					return err
				}
				g += n
				p.c.report("write", g*cs, s.size)
			}
			j = e
		}
	}
	return nil
}

// writeSpooled reads src once, writes the data area to a temporary file,
// then header, metadata and the data area to w.
func writeSpooled(ctx context.Context, w io.Writer, c *config, src source, size int64, runs []run) (*Result, error) {
	vsize := roundUp(size, 512)
	p := newPlan(c, vsize)
	cs := p.clusterSize
	clusters := (vsize + cs - 1) / cs
	f, err := os.CreateTemp(c.tempDir, "qcow2-spool-*")
	if err != nil {
		return nil, fmt.Errorf("qcow2: spool: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	sw := bufio.NewWriterSize(f, 1<<20)
	var zeros []byte
	stage := "compress"
	if c.compression == CompressionNone {
		stage = "scan"
	}
	if err := pipeline(ctx, c, src, clusters, runs, c.compression != CompressionNone, func(b *batch) error {
		out := b.out
		for i := range b.n {
			g := b.first + int64(i)
			switch b.kind[i] {
			case kindRaw:
				if pad := p.addRaw(g); pad > 0 {
					if zeros == nil {
						zeros = make([]byte, cs)
					}
					if _, err := sw.Write(zeros[:pad]); err != nil {
						return err
					}
				}
				if _, err := sw.Write(b.in[int64(i)*cs : int64(i+1)*cs]); err != nil {
					return err
				}
			case kindCompressed:
				n := int64(b.clen[i])
				p.addCompressed(g, n)
				if _, err := sw.Write(out[:n]); err != nil {
					return err
				}
				out = out[n:]
			}
		}
		c.report(stage, (b.first+int64(b.n))*cs, size)
		return nil
	}); err != nil {
		return nil, err
	}
	// The last compressed cluster may end inside a sector its L2 entry
	// counts: pad the file to whole sectors.
	if pad := roundUp(p.dataBytes, 512) - p.dataBytes; pad > 0 {
		if _, err := sw.Write(make([]byte, pad)); err != nil {
			return nil, err
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, fmt.Errorf("qcow2: spool: %w", err)
	}
	l := p.layout()
	bw := newAsyncWriter(w, !c.noDigest, max(asyncBuf, int(cs)))
	defer bw.close()
	if err := p.writeMeta(bw, l); err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("qcow2: spool: %w", err)
	}
	// The spool is read straight into the output buffers.
	for done := int64(0); ; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if bw.failed.Load() {
			return nil, bw.err
		}
		n, err := f.Read(bw.reserve())
		if n > 0 {
			bw.commit(n)
			done += int64(n)
			c.report("write", done, roundUp(p.dataBytes, 512))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("qcow2: spool: %w", err)
		}
	}
	if err := bw.close(); err != nil {
		return nil, err
	}
	return p.result(bw, l), nil
}
