package gce

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
)

// Finding is one rule of Google's image import that an archive breaks.
type Finding struct {
	Rule   string `json:"rule"` // e.g. "gce.name", "gce.size.gib"
	Detail string `json:"detail"`
}

func (f Finding) String() string { return f.Rule + ": " + f.Detail }

// Member is one entry of the archive.
type Member struct {
	Name   string `json:"name"`
	Type   string `json:"type"`   // "file", "sparse" or the typeflag character
	Format string `json:"format"` // "oldgnu", "ustar" or "unknown"
	Size   int64  `json:"size"`   // the file's size (a sparse file's real size)
	Stored int64  `json:"stored"` // bytes stored in the archive
}

// Report is what Check found.
type Report struct {
	Members  []Member  `json:"members"`
	Findings []Finding `json:"findings"`
	Omitted  int       `json:"omitted,omitempty"` // members beyond the first 16 not listed
}

// OK reports whether the archive meets every rule Check knows.
func (r *Report) OK() bool { return len(r.Findings) == 0 }

// Limits of Check: members listed and sparse map entries accepted.
const (
	maxMembers       = 16
	maxSparseEntries = 16 << 20
)

// Check reads a GCE image archive (.tar.gz) from r to its end and lists
// every rule of Google's import it breaks: gzip compression, exactly one
// member, named disk.raw, a regular or sparse file in the old GNU tar
// format, of a non-zero size that is a whole number of GiB, and an intact
// stream (tar header checksums, sparse maps in order and inside the file,
// the gzip trailer). It never expands holes and keeps no sparse map, so it
// runs in constant memory on any input.
//
// The error is non-nil when the archive cannot be read to its end:
// *FormatError (matching ErrMalformed) for damaged data, with the findings
// up to that point in the Report, or an I/O or context error.
func Check(ctx context.Context, r io.Reader) (*Report, error) {
	rep := &Report{Members: []Member{}, Findings: []Finding{}}
	add := func(rule, format string, args ...any) {
		rep.Findings = append(rep.Findings, Finding{Rule: rule, Detail: fmt.Sprintf(format, args...)})
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); !bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		add("gce.gzip", "not gzip-compressed (Google's import takes a .tar.gz)")
		return rep, &FormatError{0, "not gzip"}
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		add("gce.gzip", "%v", err)
		return rep, &FormatError{0, err.Error()}
	}
	t := &tarWalker{ctx: ctx, r: zr}
	members := 0
	for {
		m, err := t.next()
		if err != nil {
			return rep, err
		}
		if m == nil {
			break
		}
		members++
		if len(rep.Members) < maxMembers {
			rep.Members = append(rep.Members, *m)
		} else {
			rep.Omitted++
		}
		if members > 1 {
			continue
		}
		if m.Name != Name {
			add("gce.name", "member %q: the disk must be named %s", m.Name, Name)
		}
		if m.Format != "oldgnu" {
			add("gce.format", "member %q in %s format: the import wants old GNU (tar --format=oldgnu)", m.Name, m.Format)
		}
		if m.Type != "file" && m.Type != "sparse" {
			add("gce.type", "member %q is of type %s, not a file", m.Name, m.Type)
		}
		if m.Size == 0 {
			add("gce.size.zero", "disk.raw is empty")
		} else if m.Size%GiB != 0 {
			add("gce.size.gib", "size %d is not a whole number of GiB (pad to %d)", m.Size, (m.Size+GiB-1)/GiB*GiB)
		}
	}
	switch {
	case members == 0:
		add("gce.members", "the archive is empty")
	case members > 1:
		add("gce.members", "%d members: the archive must hold disk.raw alone", members)
	}
	// The rest of the stream (GNU tar's record padding) is read to check
	// the gzip trailer.
	if err := t.skip(1 << 62); err != nil && !errors.Is(err, io.EOF) {
		return rep, err
	}
	return rep, nil
}

type tarWalker struct {
	ctx  context.Context
	r    io.Reader
	pos  int64
	blk  [block]byte
	zero int // zero blocks seen in a row
}

// read reads one block; io.EOF only at a clean block boundary.
func (t *tarWalker) read() error {
	n, err := io.ReadFull(t.r, t.blk[:])
	t.pos += int64(n)
	if err == io.EOF {
		return io.EOF
	}
	if err != nil {
		return t.fail(err)
	}
	return nil
}

func (t *tarWalker) fail(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
		return &FormatError{t.pos, err.Error()}
	}
	if err := t.ctx.Err(); err != nil {
		return err
	}
	return &FormatError{t.pos, err.Error()}
}

// skip discards n bytes (io.EOF if the stream ends first, cleanly).
func (t *tarWalker) skip(n int64) error {
	var buf [32 << 10]byte
	for n > 0 {
		if err := t.ctx.Err(); err != nil {
			return err
		}
		k, err := t.r.Read(buf[:min(n, int64(len(buf)))])
		t.pos += int64(k)
		n -= int64(k)
		if err == io.EOF {
			return io.EOF
		}
		if err != nil {
			return t.fail(err)
		}
	}
	return nil
}

// next reads the next member's headers and skips its data; nil at the
// end of the archive.
func (t *tarWalker) next() (*Member, error) {
	for {
		start := t.pos
		if err := t.read(); err == io.EOF {
			return nil, &FormatError{t.pos, "the archive ends without its two zero blocks"}
		} else if err != nil {
			return nil, err
		}
		h := t.blk[:]
		if isZero(h) {
			t.zero++
			if t.zero == 2 {
				return nil, nil
			}
			continue
		}
		if t.zero > 0 {
			return nil, &FormatError{start, "a lone zero block inside the archive"}
		}
		want, err := parseNumeric(h[148:156])
		if err != nil || want != headerSum(h) {
			return nil, &FormatError{start, "header checksum mismatch"}
		}
		m := &Member{Name: string(cstring(h[:100])), Format: "unknown"}
		switch string(h[257:265]) {
		case oldGNUMagic:
			m.Format = "oldgnu"
		default:
			if string(h[257:263]) == "ustar\x00" {
				m.Format = "ustar"
			}
		}
		size, err := parseNumeric(h[124:136])
		if err != nil || size < 0 {
			return nil, &FormatError{start + 124, "size field"}
		}
		m.Stored, m.Size = size, size
		switch h[156] {
		case typeReg, 0:
			m.Type = "file"
		case typeSparse:
			m.Type = "sparse"
			if m.Size, err = t.sparse(start, size); err != nil {
				return nil, err
			}
		default:
			m.Type = string(rune(h[156]))
		}
		if err := t.skip((size + block - 1) / block * block); err != nil {
			if err == io.EOF {
				return nil, &FormatError{t.pos, "member data truncated"}
			}
			return nil, err
		}
		return m, nil
	}
}

// sparse checks an old GNU sparse map (regions in order, inside the real
// size, their lengths summing to the stored size) without keeping it, and
// returns the real size. The header is in t.blk.
func (t *tarWalker) sparse(start, stored int64) (int64, error) {
	real, err := parseNumeric(t.blk[483:495])
	if err != nil {
		return 0, &FormatError{start + 483, "real size field"}
	}
	var end, sum, count int64
	check := func(b []byte, n int, at int64) (bool, error) {
		for i := range n {
			e := b[24*i : 24*i+24]
			if isZero(e) {
				return false, nil
			}
			off, err1 := parseNumeric(e[:12])
			num, err2 := parseNumeric(e[12:])
			if err1 != nil || err2 != nil || off < end || num < 0 || off > real || num > real-off {
				return false, &FormatError{at + int64(24*i), "sparse map entry out of order or outside the file"}
			}
			end, sum = off+num, sum+num
			if count++; count > maxSparseEntries {
				return false, &FormatError{at, "sparse map too long"}
			}
		}
		return true, nil
	}
	if _, err := check(t.blk[386:], headerEntries, start+386); err != nil {
		return 0, err
	}
	more := t.blk[482] != 0
	for more {
		at := t.pos
		if err := t.read(); err != nil {
			if err == io.EOF {
				return 0, &FormatError{t.pos, "sparse extension header missing"}
			}
			return 0, err
		}
		if _, err := check(t.blk[:], extEntries, at); err != nil {
			return 0, err
		}
		more = t.blk[504] != 0
	}
	if sum != stored {
		return 0, &FormatError{start + 124, fmt.Sprintf("sparse map holds %d bytes, the header says %d", sum, stored)}
	}
	return real, nil
}

func cstring(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}
