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
	Mtime  int64
	Format Format
}

var zeroBlock [blockSize]byte

// encodeHeader fills b with the header of a regular file named name. These
// are the only headers Write produces, and the only ones Verify and Open
// accept unless told to accept other writers' (ForeignHeaders):
//
//   - name: the member name, NUL-padded; prefix (bytes 345–499): zeros
//   - mode "0000644\0", uid and gid "0000000\0", uname, gname and
//     linkname empty (all NUL), type flag '0'
//   - size: 11 zero-padded octal digits and a NUL, magic "ustar\0",
//     version "00", devmajor and devminor "0000000\0"; or, for members of
//     8 GiB and more only, the GNU magic "ustar  \0", a base-256 size
//     (0x80, then the size big-endian in 11 bytes) and devmajor, devminor
//     and every GNU field after them all NUL
//   - mtime: Options.ModTime in 11 zero-padded octal digits and a NUL, the
//     same for every member
//   - checksum: six octal digits, NUL, space (the unsigned byte sum)
//   - bytes 500–511: zeros
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

// parseNumeric reads an octal header field the way every tar reader reads
// it alike: optional leading spaces, at least one octal digit, then at
// least one terminator, every byte after the digits a NUL or a space.
// Anything else (no terminator, a digit after a terminator, base-256) is
// refused: readers disagree on those.
func parseNumeric(f []byte) (int64, bool) {
	i := 0
	for i < len(f) && f[i] == ' ' {
		i++
	}
	start := i
	var v int64
	for i < len(f) && f[i] >= '0' && f[i] <= '7' {
		if v > 1<<60 {
			return 0, false
		}
		v = v<<3 | int64(f[i]-'0')
		i++
	}
	if i == start || i == len(f) {
		return 0, false
	}
	for ; i < len(f); i++ {
		if f[i] != 0 && f[i] != ' ' {
			return 0, false
		}
	}
	return v, true
}

// isZeroBlock reports whether b is all zero bytes.
func isZeroBlock(b []byte) bool {
	return bytes.Equal(b, zeroBlock[:len(b)])
}

// headerFields names the byte ranges of a header: USTAR's, then old GNU's
// names for bytes 345–511 (the ones libarchive honours in any header with
// the GNU magic).
var headerFields = []struct {
	name       string
	start, end int
}{
	{"name", 0, 100}, {"mode", 100, 108}, {"uid", 108, 116}, {"gid", 116, 124}, {"size", 124, 136},
	{"mtime", 136, 148}, {"checksum", 148, 156}, {"typeflag", 156, 157}, {"linkname", 157, 257},
	{"magic", 257, 265}, {"uname", 265, 297}, {"gname", 297, 329}, {"devmajor", 329, 337},
	{"devminor", 337, 345}, {"prefix", 345, 500}, {"pad", 500, 512},
}

var gnuFields = []struct {
	name       string
	start, end int
}{
	{"atime", 345, 357}, {"ctime", 357, 369}, {"offset", 369, 381}, {"longnames", 381, 385},
	{"unused", 385, 386}, {"sparse", 386, 482}, {"isextended", 482, 483}, {"realsize", 483, 495}, {"pad", 495, 512},
}

// fieldAt returns the name and range of the field holding byte i.
func fieldAt(i int, gnu bool) (string, int, int) {
	if gnu && i >= 345 {
		for _, f := range gnuFields {
			if i < f.end {
				return f.name, f.start, f.end
			}
		}
	}
	for _, f := range headerFields {
		if i < f.end {
			return f.name, f.start, f.end
		}
	}
	return "", i, i + 1
}

// decodeHeader parses and checks one header block. By default (foreign
// false) it accepts exactly the headers encodeHeader writes, whatever the
// name, size and mtime: every other byte must be what Write puts there.
// With foreign set it accepts the fields other tar writers fill
// differently without changing what any reader extracts (mode permission
// bits, uid, gid, uname, gname, mtime, how numbers and the checksum are
// terminated, the GNU magic on any member) and still refuses everything a
// reader could interpret differently: PAX and other type flags, GNU
// extensions beyond the base-256 size, non-zero reserved bytes, prefixes,
// link names, device numbers.
//
// Errors are *HeaderError naming the member and the field: ErrFormat, or
// ErrUnsafePath for links, devices and unsafe names.
func decodeHeader(b []byte, off int64, foreign bool) (header, error) {
	var h header
	name := cString(b[0:100])
	bad := func(field string, sentinel error, format string, args ...any) error {
		return &HeaderError{File: clipString(name), Offset: off, Field: field, Err: sentinel, Detail: fmt.Sprintf(format, args...)}
	}
	stored, ok := parseNumeric(b[148:156])
	if !ok {
		return h, bad("checksum", ErrFormat, "%q is not an octal number", b[148:156])
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
		return h, bad("checksum", ErrFormat, "bad checksum")
	}
	switch string(b[257:265]) {
	case "ustar\x0000":
		h.Format = FormatUSTAR
	case "ustar  \x00":
		h.Format = FormatGNU
	default:
		return h, bad("magic", ErrFormat, "not a ustar or GNU header (magic %q)", b[257:265])
	}
	gnu := h.Format == FormatGNU
	switch t := b[156]; t {
	case '0':
	case 'x', 'g':
		return h, bad("typeflag", ErrFormat, "PAX extended header (OVA consumers reject PAX)")
	case 'L', 'K':
		return h, bad("typeflag", ErrFormat, "GNU long-name entry")
	case '1', '2':
		return h, bad("typeflag", ErrUnsafePath, "link entry")
	case '3', '4', '6':
		return h, bad("typeflag", ErrUnsafePath, "device or fifo entry")
	case '5':
		return h, bad("typeflag", ErrFormat, "directory entry (OVAs hold no directories)")
	default:
		return h, bad("typeflag", ErrFormat, "type %q is not '0', a regular file", t)
	}
	if err := checkName(name); err != nil {
		return h, bad("name", ErrUnsafePath, "%v", err)
	}
	h.Name = name
	if b[124]&0x80 != 0 {
		if !gnu || b[124] != 0x80 {
			return h, bad("size", ErrFormat, "base-256 size outside a GNU header")
		}
		var v uint64
		for _, c := range b[125:136] {
			if v > maxMemberSize {
				break
			}
			v = v<<8 | uint64(c)
		}
		if v > maxMemberSize {
			return h, bad("size", ErrTooLarge, "member size beyond 1 PiB")
		}
		if v <= maxOctalSize {
			return h, bad("size", ErrFormat, "base-256 size %d fits the octal field (base-256 is for 8 GiB and more)", v)
		}
		h.Size = int64(v)
	} else {
		// Exactly 11 octal digits and a NUL (or, from other writers, a
		// space): the one spelling every reader reads the same.
		f := b[124:136]
		for _, c := range f[:11] {
			if c < '0' || c > '7' {
				return h, bad("size", ErrFormat, "%q is not 11 octal digits and a NUL", f)
			}
			h.Size = h.Size<<3 | int64(c-'0')
		}
		if f[11] != 0 && !(foreign && f[11] == ' ') {
			return h, bad("size", ErrFormat, "%q is not 11 octal digits and a NUL", f)
		}
	}
	if h.Mtime, ok = parseNumeric(b[136:148]); !ok {
		return h, bad("mtime", ErrFormat, "%q is not an octal number", b[136:148])
	}
	if foreign {
		return h, checkForeign(b, gnu, bad)
	}
	var want [blockSize]byte
	if err := encodeHeader(&want, name, h.Size, h.Mtime); err != nil {
		return h, bad("mtime", ErrFormat, "%v", err)
	}
	// Bytes 345-511 first: the GNU extensions there are what makes
	// another reader extract something else, so name them over the magic.
	for k := range want {
		i := (k + 345) % blockSize
		if b[i] != want[i] && (i < 148 || i >= 156) {
			f, lo, hi := fieldAt(i, gnu)
			if f == "magic" && gnu {
				return h, bad(f, ErrFormat, "GNU header on a member of %d bytes (Write uses it only from 8 GiB)", h.Size)
			}
			return h, bad(f, ErrFormat, "%q, Write writes %q", b[lo:hi], want[lo:hi])
		}
	}
	if !bytes.Equal(b[148:156], want[148:156]) {
		return h, bad("checksum", ErrFormat, "%q, Write writes %q", b[148:156], want[148:156])
	}
	return h, nil
}

// checkForeign checks the fields decodeHeader leaves to it with foreign
// set (see there).
func checkForeign(b []byte, gnu bool, bad func(string, error, string, ...any) error) error {
	if n := bytes.IndexByte(b[0:100], 0); n >= 0 && !isZeroBlock(b[n:100]) {
		return bad("name", ErrFormat, "bytes after the name's terminating NUL")
	}
	mode, ok := parseNumeric(b[100:108])
	if !ok {
		return bad("mode", ErrFormat, "%q is not an octal number", b[100:108])
	}
	// Permission bits, and the regular-file type bits some writers add;
	// setuid, setgid and sticky bits are something a tar reader applies.
	if mode&^0o100777 != 0 {
		return bad("mode", ErrFormat, "mode %o has bits beyond the permissions of a regular file", mode)
	}
	for _, f := range []struct {
		name   string
		lo, hi int
	}{{"uid", 108, 116}, {"gid", 116, 124}} {
		if _, ok := parseNumeric(b[f.lo:f.hi]); !ok {
			return bad(f.name, ErrFormat, "%q is not an octal number", b[f.lo:f.hi])
		}
	}
	if !isZeroBlock(b[157:257]) {
		return bad("linkname", ErrFormat, "a link name on a regular file")
	}
	for _, f := range []struct {
		name   string
		lo, hi int
	}{{"uname", 265, 297}, {"gname", 297, 329}} {
		v := b[f.lo:f.hi]
		n := bytes.IndexByte(v, 0)
		if n < 0 || !isZeroBlock(v[n:]) {
			return bad(f.name, ErrFormat, "%q is not a NUL-terminated name", v)
		}
		for _, c := range v[:n] {
			if c <= ' ' || c >= 0x7f {
				return bad(f.name, ErrFormat, "%q is not a printable ASCII name", v[:n])
			}
		}
	}
	for _, f := range []struct {
		name   string
		lo, hi int
	}{{"devmajor", 329, 337}, {"devminor", 337, 345}} {
		v := b[f.lo:f.hi]
		if n, ok := parseNumeric(v); !isZeroBlock(v) && (!ok || n != 0) {
			return bad(f.name, ErrFormat, "%q on a regular file (want zeros or the number 0)", v)
		}
	}
	for i := 345; i < blockSize; i++ {
		if b[i] != 0 {
			f, lo, hi := fieldAt(i, gnu)
			return bad(f, ErrFormat, "%q: bytes 345-511 must be zero (GNU extensions, prefixes and reserved bytes change what other readers extract)", b[lo:hi])
		}
	}
	return nil
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
	foreign bool  // accept other writers' headers and trailers (decodeHeader)
	off     int64 // offset of the next unread byte
	remain  int64 // data bytes left in the current member
	pad     int64 // padding after the current member
	name    string
	members int
	mtime   int64 // the first member's
	blk     [blockSize]byte
	ended   bool // saw the end-of-archive zero block
	skipBuf []byte
}

// sameMtime checks, for Write's own headers, that every member carries the
// first member's mtime: Write gives them all Options.ModTime.
func sameMtime(h header, off int64, first *int64, n int) error {
	if n == 0 {
		*first = h.Mtime
		return nil
	}
	if h.Mtime != *first {
		return &HeaderError{File: h.Name, Offset: off, Field: "mtime", Err: ErrFormat,
			Detail: fmt.Sprintf("%d differs from the first member's %d (Write gives every member Options.ModTime)", h.Mtime, *first)}
	}
	return nil
}

// paddingErr reports a non-zero padding byte after member name.
func paddingErr(name string, off int64) error {
	return fileErr(name, ErrFormat, "non-zero byte in the padding after the member, at offset %d (padding is zeros)", off)
}

// next skips what is left of the current member, checks that its padding
// is zeros, and returns the next header, or io.EOF at the end of the
// archive (after a zero block, or at a clean EOF on a block boundary, in
// which case ended stays false).
func (t *tarReader) next() (header, int64, error) {
	if err := t.skip(t.remain); err != nil {
		return header{}, 0, err
	}
	if t.pad > 0 {
		p := t.blk[:t.pad]
		n, err := io.ReadFull(t.r, p)
		t.off += int64(n)
		if err != nil {
			return header{}, 0, truncated(t.off, err)
		}
		if !isZeroBlock(p) {
			return header{}, 0, paddingErr(t.name, t.off-t.pad)
		}
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
	h, err := decodeHeader(t.blk[:], start, t.foreign)
	if err != nil {
		return h, start, err
	}
	if !t.foreign {
		if err := sameMtime(h, start, &t.mtime, t.members); err != nil {
			return h, start, err
		}
	}
	t.members++
	t.name = h.Name
	t.remain, t.pad = h.Size, padding(h.Size)
	return h, start, nil
}

// maxTrailer bounds the zeros accepted after the end-of-archive block from
// other writers: GNU tar pads to 10 KiB records; more than this is not a
// tar writer's padding.
const maxTrailer = 1 << 20

// trailer reads the rest of the stream after the first zero block at end.
// Write ends an archive with exactly two zero blocks, so by default that is
// all it accepts; with foreign headers, any run of zeros up to maxTrailer
// bytes.
func (t *tarReader) trailer(end int64) error {
	limit := int64(maxTrailer)
	if !t.foreign {
		limit = blockSize
	}
	var read int64
	for {
		n, err := t.r.Read(t.blk[:])
		if n > 0 {
			if !isZeroBlock(t.blk[:n]) {
				return fileErr("", ErrFormat, "data after the end-of-archive block at offset %d", end)
			}
			read += int64(n)
			t.off += int64(n)
			if read > limit {
				return fileErr("", ErrFormat, "more than %d bytes after the end-of-archive block at offset %d", limit, end)
			}
		}
		if err == io.EOF {
			if read < limit && !t.foreign {
				return fileErr("", ErrFormat, "the archive ends %d bytes after the first end-of-archive block at offset %d (Write writes two zero blocks)", read, end)
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// checkTrailer is trailer for an archive read at random: the bytes from
// end to size must be zeros: exactly two blocks of them, or with foreign
// set at most maxTrailer bytes past the first zero block.
func checkTrailer(r io.ReaderAt, end, size int64, foreign bool) error {
	if !foreign && size-end != 2*blockSize {
		return fileErr("", ErrFormat, "the archive ends %d bytes after the end-of-archive block at offset %d (Write writes two zero blocks)", size-end-blockSize, end)
	}
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
