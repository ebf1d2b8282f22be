package rootfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Header is one entry as read from an archive.
type Header struct {
	// Entry holds the path (cleaned, absolute), type, permission bits,
	// owner, symlink target, device number (rdev) and data size. Hard
	// links are not resolved: every name of a hard-linked file reads as
	// TypeFile with Nlink > 1 and the same Ino, and in archives written by
	// this package or GNU cpio only the last name carries the data.
	Entry
	Name        string      // the name as stored, e.g. "dev/console"
	Ino         uint32      // inode number
	Nlink       uint32      // link count
	ModTime     time.Time   // mtime (UTC)
	DevMajor    uint32      // device of the original file system (usually 0)
	DevMinor    uint32      //
	Member      int         // index of the concatenated member this entry came from
	Compression Compression // compression of that member
}

// ReaderOptions bound the work a Reader, List, Inspect and
// Builder.AddArchive do on untrusted input. Zero fields mean the defaults
// below; a limit that is hit yields a *LimitError (matching ErrLimit).
type ReaderOptions struct {
	// MaxEntries caps the number of entries (default 1<<20).
	MaxEntries int `json:"maxEntries,omitempty"`
	// MaxBytes caps the uncompressed bytes read over all members
	// (default 16 GiB; AddArchive: DefaultArchiveMaxBytes).
	MaxBytes int64 `json:"maxBytes,omitempty"`
	// MaxPadding caps one run of zero padding between archives or members
	// (default DefaultMaxPadding). The kernel skips any amount, but real
	// archives pad to 4 or 512 bytes, and a compressed member of nothing
	// but zeros would otherwise be read in full.
	MaxPadding int64 `json:"maxPadding,omitempty"`
	// MaxNameBytes caps the bytes of names (paths, stored names, symlink
	// targets) that List, Inspect and AddArchive keep in memory (default
	// DefaultMaxNameBytes). A Reader on its own keeps none.
	MaxNameBytes int64 `json:"maxNameBytes,omitempty"`
	// MaxOrphans caps the orphans Inspect lists (default DefaultMaxOrphans).
	MaxOrphans int `json:"maxOrphans,omitempty"`
}

// Reader limits used when the ReaderOptions field is zero.
const (
	DefaultMaxEntries   = 1 << 20
	DefaultMaxBytes     = 16 << 30
	DefaultMaxPadding   = 16 << 20
	DefaultMaxNameBytes = 64 << 20
	DefaultMaxOrphans   = 1024
	// maxZstdWindow caps the zstd window the reader accepts (and so the
	// decoder's history buffer): zstd -19 and the kernel's own builds use
	// at most 8 MiB, --long up to 128 MiB.
	maxZstdWindow = 128 << 20
)

func (o *ReaderOptions) withDefaults() ReaderOptions {
	var r ReaderOptions
	if o != nil {
		r = *o
	}
	if r.MaxEntries <= 0 {
		r.MaxEntries = DefaultMaxEntries
	}
	if r.MaxBytes <= 0 {
		r.MaxBytes = DefaultMaxBytes
	}
	if r.MaxPadding <= 0 {
		r.MaxPadding = DefaultMaxPadding
	}
	if r.MaxNameBytes <= 0 {
		r.MaxNameBytes = DefaultMaxNameBytes
	}
	if r.MaxOrphans <= 0 {
		r.MaxOrphans = DefaultMaxOrphans
	}
	return r
}

// Reader reads the entries of a cpio newc archive, or of several archives
// joined as the kernel accepts them (as Concat writes them): each member
// uncompressed, gzip or zstd, detected from its magic, with zero padding
// between members.
type Reader struct {
	src      *bufio.Reader
	opts     ReaderOptions
	cur      *bufio.Reader // current member's cpio stream, nil between members
	zbuf     *bufio.Reader // buffer over the decompressor, reused by members
	raw      bool          // current member is uncompressed (cur is src)
	dec      io.Closer     // zstd decoder to release
	member   int           // index of the current member
	comp     Compression   // compression of the current member
	inArch   bool          // between a member's first header and its trailer
	remain   int64         // unread data bytes of the current entry
	pad      int64         // padding after the current entry's data
	entries  int
	total    int64 // uncompressed bytes consumed
	zeros    int64 // length of the current run of zero padding
	err      error
	dataType Type
}

// NewReader returns a Reader of r. opts may be nil.
func NewReader(r io.Reader, opts *ReaderOptions) *Reader {
	return &Reader{src: bufio.NewReaderSize(r, 64<<10), member: -1, opts: opts.withDefaults()}
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
	newcMagic = []byte("07070")
)

// Next advances to the next entry, skipping the rest of the current one.
// It returns io.EOF after the last member.
func (r *Reader) Next() (*Header, error) {
	if r.err != nil {
		return nil, r.err
	}
	h, err := r.next()
	if err != nil {
		r.err = err
		if r.dec != nil {
			r.dec.Close()
			r.dec = nil
		}
	}
	return h, err
}

func (r *Reader) next() (*Header, error) {
	if err := r.skip(r.remain + r.pad); err != nil {
		return nil, err
	}
	r.remain, r.pad = 0, 0
	for {
		if r.cur == nil {
			if err := r.openMember(); err != nil {
				return nil, err
			}
		}
		if !r.inArch {
			// Between archives inside a member: zero padding, then a
			// header, another member (uncompressed member) or the end.
			ok, err := r.skipZeros()
			if err != nil {
				return nil, err
			}
			if !ok {
				if err := r.endMember(); err != nil {
					return nil, err
				}
				continue
			}
		}
		h, err := r.readHeader()
		if err != nil {
			return nil, err
		}
		if h == nil { // trailer
			r.inArch = false
			if r.raw {
				r.cur = nil
			}
			continue
		}
		r.inArch = true
		return h, nil
	}
}

// openMember detects the next member's compression.
func (r *Reader) openMember() error {
	for {
		b, err := r.src.Peek(1)
		if err == io.EOF && len(b) == 0 {
			if r.member < 0 {
				return fmt.Errorf("%w: empty input", ErrFormat)
			}
			return io.EOF
		}
		if err != nil {
			return err
		}
		b, _ = r.src.Peek(r.src.Buffered())
		n := leadingZeros(b)
		if err := r.padding(n); err != nil {
			return err
		}
		r.src.Discard(n)
		if n < len(b) {
			break
		}
	}
	r.zeros = 0
	m, _ := r.src.Peek(6)
	r.member++
	r.inArch = false
	switch {
	case bytes.HasPrefix(m, newcMagic):
		r.cur, r.raw, r.comp = r.src, true, CompressNone
	case bytes.HasPrefix(m, gzipMagic):
		zr, err := gzip.NewReader(r.src)
		if err != nil {
			return fmt.Errorf("%w: member %d: gzip: %v", ErrCompression, r.member, err)
		}
		zr.Multistream(false)
		r.cur, r.raw, r.comp = r.buffer(&errWrap{zr, "gzip"}), false, CompressGzip
	case bytes.HasPrefix(m, zstdMagic):
		fr := &zstdFrameReader{r: r.src}
		dec, err := zstd.NewReader(fr, zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(max(min(maxZstdWindow, uint64(r.opts.MaxBytes)), 1<<20)), zstd.WithDecoderMaxMemory(uint64(r.opts.MaxBytes)))
		if err != nil {
			return fmt.Errorf("%w: %v", ErrCompression, err)
		}
		r.dec = decCloser{dec}
		r.cur, r.raw, r.comp = r.buffer(&errWrap{dec, "zstd"}), false, CompressZstd
	default:
		return fmt.Errorf("%w: member %d: unknown magic % x", ErrFormat, r.member, m)
	}
	return nil
}

// buffer returns the reused buffer over a member's decompressed stream, so
// that padding is skipped in bulk and headers are read without a call
// into the decompressor each.
func (r *Reader) buffer(src io.Reader) *bufio.Reader {
	if r.zbuf == nil {
		r.zbuf = bufio.NewReaderSize(src, 64<<10)
	} else {
		r.zbuf.Reset(src)
	}
	return r.zbuf
}

type decCloser struct{ d *zstd.Decoder }

func (d decCloser) Close() error { d.d.Close(); return nil }

// errWrap marks decompression errors (other than EOF) with ErrCompression.
type errWrap struct {
	r    io.Reader
	name string
}

func (e *errWrap) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, ErrFormat) {
		err = fmt.Errorf("%w: %s: %v", ErrCompression, e.name, err)
	}
	return n, err
}

func (r *Reader) endMember() error {
	if r.dec != nil {
		r.dec.Close()
		r.dec = nil
	}
	r.cur = nil
	return nil
}

// skipZeros skips zero bytes in the current member, a buffer at a time;
// ok is false at its end (or, for an uncompressed member, at anything that
// is not a header).
func (r *Reader) skipZeros() (ok bool, err error) {
	for {
		p, err := r.cur.Peek(1)
		if len(p) == 0 {
			if err == io.EOF {
				return false, nil
			}
			return false, err
		}
		p, _ = r.cur.Peek(r.cur.Buffered())
		n := leadingZeros(p)
		if err := r.padding(n); err != nil {
			return false, err
		}
		if !r.raw {
			if err := r.count(int64(n)); err != nil {
				return false, err
			}
		}
		r.cur.Discard(n)
		if n == len(p) {
			continue
		}
		if r.raw {
			m, _ := r.cur.Peek(len(newcMagic))
			return bytes.HasPrefix(m, newcMagic), nil
		}
		return true, nil
	}
}

// padding counts n more bytes of the current run of zero padding.
func (r *Reader) padding(n int) error {
	r.zeros += int64(n)
	if r.zeros > r.opts.MaxPadding {
		return limitErr("MaxPadding", r.opts.MaxPadding, "")
	}
	return nil
}

var zeroBlock [512]byte

// leadingZeros returns the number of zero bytes p starts with.
func leadingZeros(p []byte) int {
	n := 0
	for len(p)-n >= len(zeroBlock) && bytes.Equal(p[n:n+len(zeroBlock)], zeroBlock[:]) {
		n += len(zeroBlock)
	}
	for n < len(p) && p[n] == 0 {
		n++
	}
	return n
}

func (r *Reader) count(n int64) error {
	r.total += n
	if r.total > r.opts.MaxBytes {
		return limitErr("MaxBytes", r.opts.MaxBytes, "")
	}
	return nil
}

func (r *Reader) readFull(p []byte) error {
	if err := r.count(int64(len(p))); err != nil {
		return err
	}
	if _, err := io.ReadFull(r.cur, p); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return fmt.Errorf("%w: truncated archive", ErrFormat)
		}
		return err
	}
	return nil
}

func (r *Reader) skip(n int64) error {
	if n == 0 {
		return nil
	}
	if err := r.count(n); err != nil {
		return err
	}
	for n > 0 {
		k, err := r.cur.Discard(int(min(n, 1<<30)))
		n -= int64(k)
		if err != nil {
			if err == io.EOF {
				return fmt.Errorf("%w: truncated archive", ErrFormat)
			}
			return err
		}
	}
	return nil
}

func parseHex(b []byte) (uint32, bool) {
	var v uint32
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint32(c-'0')
		case c >= 'A' && c <= 'F':
			v = v<<4 | uint32(c-'A'+10)
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint32(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// readHeader reads one header; it returns nil, nil for the trailer.
func (r *Reader) readHeader() (*Header, error) {
	r.zeros = 0
	var hb [110]byte
	if err := r.readFull(hb[:]); err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(hb[:], newcMagic) || (hb[5] != '1' && hb[5] != '2') {
		return nil, fmt.Errorf("%w: bad magic %q", ErrFormat, hb[:6])
	}
	var f [13]uint32
	for i := range f {
		v, ok := parseHex(hb[6+8*i : 14+8*i])
		if !ok {
			return nil, fmt.Errorf("%w: bad hex field %q", ErrFormat, hb[6+8*i:14+8*i])
		}
		f[i] = v
	}
	nameSize := int64(f[11])
	if nameSize < 1 || nameSize > maxPath {
		return nil, fmt.Errorf("%w: name size %d", ErrFormat, nameSize)
	}
	pad := (4 - (110+nameSize)%4) % 4
	nb := make([]byte, nameSize+pad)
	if err := r.readFull(nb); err != nil {
		return nil, err
	}
	if nb[nameSize-1] != 0 || bytes.IndexByte(nb[:nameSize-1], 0) >= 0 {
		return nil, fmt.Errorf("%w: name not NUL-terminated", ErrFormat)
	}
	name := string(nb[:nameSize-1])
	size := int64(f[6])
	if name == "TRAILER!!!" {
		return nil, r.skip(size + (4-size%4)%4)
	}
	r.entries++
	if r.entries > r.opts.MaxEntries {
		return nil, limitErr("MaxEntries", int64(r.opts.MaxEntries), "")
	}
	mode := f[1]
	t, ok := typeFromMode(mode)
	if !ok {
		return nil, &PathError{Path: name, Err: ErrFormat, Detail: fmt.Sprintf("mode %o has no known type", mode)}
	}
	p, err := CleanPath(name)
	if err != nil {
		return nil, err
	}
	if p[1:] == name {
		name = p[1:] // share the bytes: List keeps both
	}
	h := &Header{
		Entry: Entry{Path: p, Type: t, Mode: mode & modePerm, UID: f[2], GID: f[3],
			Major: f[9], Minor: f[10], Size: size},
		Name: name, Ino: f[0], Nlink: f[4], ModTime: time.Unix(int64(f[5]), 0).UTC(),
		DevMajor: f[7], DevMinor: f[8], Member: r.member, Compression: r.comp,
	}
	if t != TypeChar && t != TypeBlock {
		h.Major, h.Minor = 0, 0
	}
	r.pad = (4 - size%4) % 4
	switch t {
	case TypeSymlink:
		if size < 1 || size >= maxPath {
			return nil, &PathError{Path: p, Err: ErrFormat, Detail: fmt.Sprintf("symlink target of %d bytes", size)}
		}
		tb := make([]byte, size)
		if err := r.readFull(tb); err != nil {
			return nil, err
		}
		h.Linkname = string(tb)
		h.Size = 0
	case TypeFile:
		r.remain = size
	default:
		r.remain = 0
		r.pad += size // data of other types is ignored, as the kernel does
		h.Size = 0
	}
	return h, nil
}

// Read reads the current regular file's data. It returns io.EOF at its end.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.remain == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.remain {
		p = p[:r.remain]
	}
	if err := r.count(int64(len(p))); err != nil {
		return 0, err
	}
	n, err := r.cur.Read(p)
	r.total -= int64(len(p) - n)
	r.remain -= int64(n)
	if err == io.EOF {
		if r.remain > 0 {
			err = fmt.Errorf("%w: truncated file data", ErrFormat)
			r.err = err
		} else {
			err = nil
		}
	}
	return n, err
}

// List reads every entry header of an archive (data is skipped). The
// headers it keeps are bounded by opts.MaxEntries and opts.MaxNameBytes.
func List(r io.Reader, opts *ReaderOptions) ([]Header, error) {
	rd := NewReader(r, opts)
	var out []Header
	var names int64
	for {
		h, err := rd.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if names += h.nameBytes(); names > rd.opts.MaxNameBytes {
			return out, limitErr("MaxNameBytes", rd.opts.MaxNameBytes, h.Path)
		}
		out = append(out, *h)
	}
}

// nameBytes is the memory the header's strings hold.
func (h *Header) nameBytes() int64 {
	n := len(h.Path) + len(h.Linkname)
	if len(h.Path) == 0 || h.Name != h.Path[1:] { // else Name shares Path's bytes
		n += len(h.Name)
	}
	return int64(n)
}

// zstdFrameReader passes through exactly one zstd frame from r, walking
// the frame and block headers, so that whatever follows the frame (padding,
// another member) stays unread.
type zstdFrameReader struct {
	r      *bufio.Reader
	state  int   // 0 frame header, 1 block header, 2 block body, 3 checksum, 4 done
	remain int64 // bytes left in the current part
	last   bool
	crc    bool
	hdr    []byte // pending header bytes to hand out
}

func (z *zstdFrameReader) Read(p []byte) (int, error) {
	for {
		if len(z.hdr) > 0 {
			n := copy(p, z.hdr)
			z.hdr = z.hdr[n:]
			return n, nil
		}
		switch z.state {
		case 0:
			b, err := z.r.Peek(5)
			if err != nil {
				return 0, fmt.Errorf("%w: zstd frame header: %v", ErrFormat, err)
			}
			fhd := b[4]
			single := fhd>>5&1 == 1
			n := 5
			if !single {
				n++
			}
			n += []int{0, 1, 2, 4}[fhd&3]
			switch fhd >> 6 {
			case 0:
				if single {
					n++
				}
			case 1:
				n += 2
			case 2:
				n += 4
			case 3:
				n += 8
			}
			z.crc = fhd>>2&1 == 1
			if err := z.take(n); err != nil {
				return 0, err
			}
			z.state = 1
		case 1:
			b, err := z.r.Peek(3)
			if err != nil {
				return 0, fmt.Errorf("%w: zstd block header: %v", ErrFormat, err)
			}
			v := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
			z.last = v&1 == 1
			size := int64(v >> 3)
			switch v >> 1 & 3 {
			case 1: // RLE
				size = 1
			case 3:
				return 0, fmt.Errorf("%w: reserved zstd block type", ErrFormat)
			}
			if err := z.take(3); err != nil {
				return 0, err
			}
			z.remain, z.state = size, 2
		case 2:
			if z.remain > 0 {
				if int64(len(p)) > z.remain {
					p = p[:z.remain]
				}
				n, err := z.r.Read(p)
				z.remain -= int64(n)
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return n, err
			}
			switch {
			case !z.last:
				z.state = 1
			case z.crc:
				z.remain, z.state = 4, 3
			default:
				z.state = 4
			}
		case 3:
			if z.remain > 0 {
				if int64(len(p)) > z.remain {
					p = p[:z.remain]
				}
				n, err := z.r.Read(p)
				z.remain -= int64(n)
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return n, err
			}
			z.state = 4
		default:
			return 0, io.EOF
		}
	}
}

func (z *zstdFrameReader) take(n int) error {
	b := make([]byte, n)
	if _, err := io.ReadFull(z.r, b); err != nil {
		return fmt.Errorf("%w: truncated zstd frame", ErrFormat)
	}
	z.hdr = b
	return nil
}
