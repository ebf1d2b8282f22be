package ova

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// The tar layer is written by hand: OVA consumers need plain USTAR headers
// (GNU base-256 sizes only for members of 8 GiB and more) and never PAX,
// and only one shape of entry is ever needed (a regular file with a plain
// name), so 512-byte headers are simpler to get exactly right here than to
// steer through archive/tar.

const (
	blockSize = 512
	// maxOctalSize is the largest size an 11-digit octal field holds
	// (8 GiB - 1). Larger members get a GNU header with a base-256 size.
	maxOctalSize = 1<<33 - 1
	// maxMemberSize caps any member size a header may declare (base-256
	// can express more; nothing sane needs more than 1 PiB).
	maxMemberSize = 1 << 50
)

// Format is the tar header format of a member.
type Format string

const (
	// FormatUSTAR is POSIX ustar (magic "ustar\x00", version "00").
	FormatUSTAR Format = "ustar"
	// FormatGNU is GNU tar's header (magic "ustar  \x00"), used for the
	// base-256 size of members of 8 GiB and more.
	FormatGNU Format = "gnu"
)

// header is a parsed tar header of a regular file.
type header struct {
	Name   string
	Size   int64
	Mode   int64
	Format Format
	Type   byte
}

var zeroBlock [blockSize]byte

// encodeHeader fills b with the header of a regular file named name.
func encodeHeader(b *[blockSize]byte, name string, size, mtime int64) error {
	*b = zeroBlock
	if len(name) > 100 {
		return fmt.Errorf("name longer than 100 bytes")
	}
	if size < 0 || size > maxMemberSize {
		return fmt.Errorf("size %d out of range", size)
	}
	if mtime < 0 || mtime > maxOctalSize {
		return fmt.Errorf("mtime %d does not fit a USTAR header", mtime)
	}
	copy(b[0:100], name)
	putOctal(b[100:108], 0o644)
	putOctal(b[108:116], 0)
	putOctal(b[116:124], 0)
	putOctal(b[136:148], mtime)
	b[156] = '0'
	if size <= maxOctalSize {
		putOctal(b[124:136], size)
		copy(b[257:265], "ustar\x0000")
		putOctal(b[329:337], 0)
		putOctal(b[337:345], 0)
	} else {
		// GNU base-256: the high bit of the first byte marks a binary,
		// big-endian number in the whole 12-byte field.
		f := b[124:136]
		v := uint64(size)
		for i := len(f) - 1; i > 0; i-- {
			f[i] = byte(v)
			v >>= 8
		}
		f[0] = 0x80
		copy(b[257:265], "ustar  \x00")
	}
	copy(b[148:156], "        ")
	var sum int64
	for _, c := range b {
		sum += int64(c)
	}
	// Checksum: six octal digits, NUL, space (what GNU tar and Go write).
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return nil
}

// putOctal writes v as zero-padded octal digits followed by a NUL.
func putOctal(f []byte, v int64) {
	s := strconv.FormatInt(v, 8)
	n := len(f) - 1
	for i := 0; i < n; i++ {
		f[i] = '0'
	}
	copy(f[n-len(s):n], s)
	f[n] = 0
}

// parseOctal reads an octal field, allowing leading spaces and trailing
// spaces or NULs.
func parseOctal(f []byte) (int64, bool) {
	f = bytes.TrimRight(f, " \x00")
	f = bytes.TrimLeft(f, " ")
	if len(f) == 0 {
		return 0, true
	}
	var v int64
	for _, c := range f {
		if c < '0' || c > '7' || v > (1<<60) {
			return 0, false
		}
		v = v<<3 | int64(c-'0')
	}
	return v, true
}

// isZeroBlock reports whether b is all zero bytes.
func isZeroBlock(b []byte) bool {
	return bytes.Equal(b, zeroBlock[:len(b)])
}

// headerError is a format error in the header at a given offset.
func headerError(off int64, format string, args ...any) error {
	return fileErr("", ErrFormat, "header at offset %d: %s", off, fmt.Sprintf(format, args...))
}

// decodeHeader parses and checks one header block: a valid checksum, ustar
// or GNU magic, and a regular file with a plain name. PAX ('x', 'g') and
// GNU long-name ('L', 'K') entries are ErrFormat; links and devices are
// ErrUnsafePath, as are names with directory parts.
func decodeHeader(b []byte, off int64) (header, error) {
	var h header
	stored, ok := parseOctal(b[148:156])
	if !ok {
		return h, headerError(off, "checksum field is not octal")
	}
	var unsigned, signed int64
	for i, c := range b[:blockSize] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	if stored != unsigned && stored != signed {
		return h, headerError(off, "bad checksum")
	}
	switch string(b[257:265]) {
	case "ustar\x0000":
		h.Format = FormatUSTAR
	case "ustar  \x00":
		h.Format = FormatGNU
	default:
		return h, headerError(off, "not a ustar or GNU header (magic %q)", b[257:265])
	}
	name := cString(b[0:100])
	if h.Format == FormatUSTAR {
		if p := cString(b[345:500]); p != "" {
			name = p + "/" + name
		}
	}
	h.Name = name
	h.Type = b[156]
	switch h.Type {
	case '0', 0:
	case 'x', 'g':
		return h, fileErr(name, ErrFormat, "PAX extended header at offset %d (OVA consumers reject PAX)", off)
	case 'L', 'K':
		return h, fileErr(name, ErrFormat, "GNU long-name entry at offset %d", off)
	case '1', '2':
		return h, fileErr(name, ErrUnsafePath, "link entry at offset %d", off)
	case '3', '4', '6':
		return h, fileErr(name, ErrUnsafePath, "device or fifo entry at offset %d", off)
	case '5':
		return h, fileErr(name, ErrFormat, "directory entry at offset %d (OVAs hold no directories)", off)
	default:
		return h, fileErr(name, ErrFormat, "entry type %q at offset %d is not a regular file", h.Type, off)
	}
	if err := checkName(name); err != nil {
		return h, fileErr(name, ErrUnsafePath, "at offset %d: %v", off, err)
	}
	if b[124]&0x80 != 0 {
		if h.Format != FormatGNU || b[124] != 0x80 {
			return h, headerError(off, "binary size field outside a GNU header")
		}
		var v uint64
		for _, c := range b[125:136] {
			if v > maxMemberSize {
				break
			}
			v = v<<8 | uint64(c)
		}
		if v > maxMemberSize {
			return h, fileErr(name, ErrTooLarge, "member size beyond 1 PiB")
		}
		h.Size = int64(v)
	} else {
		v, ok := parseOctal(b[124:136])
		if !ok {
			return h, headerError(off, "size field is not octal")
		}
		h.Size = v
	}
	mode, ok := parseOctal(b[100:108])
	if !ok {
		return h, headerError(off, "mode field is not octal")
	}
	h.Mode = mode
	return h, nil
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// padding is the number of zero bytes after a member of size n.
func padding(n int64) int64 { return -n & (blockSize - 1) }

// tarReader walks a stream of ova members with decodeHeader.
type tarReader struct {
	r       io.Reader
	off     int64 // offset of the next unread byte
	remain  int64 // data bytes left in the current member
	pad     int64 // padding after the current member
	blk     [blockSize]byte
	ended   bool // saw the end-of-archive zero block
	skipBuf []byte
}

// next skips what is left of the current member and returns the next
// header, or io.EOF at the end of the archive (after a zero block, or at a
// clean EOF on a block boundary, in which case ended stays false).
func (t *tarReader) next() (header, int64, error) {
	if err := t.skip(t.remain + t.pad); err != nil {
		return header{}, 0, err
	}
	t.remain, t.pad = 0, 0
	start := t.off
	n, err := io.ReadFull(t.r, t.blk[:])
	t.off += int64(n)
	if err == io.EOF {
		return header{}, start, io.EOF
	}
	if err != nil {
		return header{}, start, truncated(start, err)
	}
	if isZeroBlock(t.blk[:]) {
		// The end. Everything after the first zero block must be zeros
		// too (the second block, and the record padding some tar writers
		// add): a member hidden there would be skipped by us but
		// extracted by tools that read on.
		t.ended = true
		if err := t.trailer(start); err != nil {
			return header{}, start, err
		}
		return header{}, start, io.EOF
	}
	h, err := decodeHeader(t.blk[:], start)
	if err != nil {
		return h, start, err
	}
	t.remain, t.pad = h.Size, padding(h.Size)
	return h, start, nil
}

// maxTrailer bounds the zeros accepted after the end-of-archive block: GNU
// tar pads to 10 KiB records; more than this is not a tar writer's padding.
const maxTrailer = 1 << 20

// trailer reads the rest of the stream after the first zero block at end
// and fails unless it is all zeros and at most maxTrailer bytes.
func (t *tarReader) trailer(end int64) error {
	var read int64
	for {
		n, err := t.r.Read(t.blk[:])
		if n > 0 {
			if !isZeroBlock(t.blk[:n]) {
				return fileErr("", ErrFormat, "data after the end-of-archive block at offset %d", end)
			}
			read += int64(n)
			t.off += int64(n)
			if read > maxTrailer {
				return fileErr("", ErrFormat, "more than %d bytes after the end-of-archive block at offset %d", maxTrailer, end)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// checkTrailer is trailer for an archive read at random: the bytes from
// end to size must be zeros, at most maxTrailer of them past the first
// zero block.
func checkTrailer(r io.ReaderAt, end, size int64) error {
	if size-end > blockSize+maxTrailer {
		return fileErr("", ErrFormat, "more than %d bytes after the end-of-archive block at offset %d", maxTrailer, end)
	}
	var blk [blockSize]byte
	for off := end; off < size; off += blockSize {
		b := blk[:min(blockSize, size-off)]
		if _, err := r.ReadAt(b, off); err != nil && err != io.EOF {
			return err
		}
		if !isZeroBlock(b) {
			return fileErr("", ErrFormat, "data after the end-of-archive block at offset %d", end)
		}
	}
	return nil
}

func truncated(off int64, err error) error {
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return fileErr("", ErrFormat, "archive truncated at offset %d", off)
	}
	return err
}

// Read reads the current member's data.
func (t *tarReader) Read(p []byte) (int, error) {
	if t.remain <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > t.remain {
		p = p[:t.remain]
	}
	n, err := t.r.Read(p)
	t.off += int64(n)
	t.remain -= int64(n)
	if err == io.EOF && t.remain > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err == io.EOF {
		err = nil
	}
	if err != nil {
		err = truncated(t.off, err)
	}
	return n, err
}

func (t *tarReader) skip(n int64) error {
	if n <= 0 {
		return nil
	}
	if t.skipBuf == nil {
		t.skipBuf = make([]byte, 64<<10)
	}
	c, err := io.CopyBuffer(io.Discard, io.LimitReader(t.r, n), t.skipBuf)
	t.off += c
	if err == nil && c < n {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return truncated(t.off, err)
	}
	return nil
}
