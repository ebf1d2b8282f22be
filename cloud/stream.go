package cloud

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
)

// A .tar.gz cannot be read at random: gzip has no index. So Check reads
// the archive twice, front to back: gce.Check reads it whole for the tar
// layout (in constant memory), and spoolArchive reads the first member's
// data from its start and keeps its non-zero 4 KiB blocks in memory, at
// most spoolBudget bytes of them, stopping there. The partition table,
// the ESP's FAT and its directories are near the start of a boot disk
// (fogkit's ESP starts at 1 MiB and its directories are written first),
// so the spool answers every read of the boot checks unless the disk
// holds more than spoolBudget of data before them; then the boot checks
// are reported as Unchecked rather than guessed. Every 4 MiB the spool
// tries the boot checks on what it holds and stops as soon as they no
// longer read past it, so a large disk.raw is decompressed twice only up
// to its ESP's directories. Spooling to a temporary
// file instead would remove that limit but write up to the whole disk to
// the caller's file system, which a check should not do.
const spoolBudget = 64 << 20

const (
	spoolBlock   = 4 << 10
	maxSparseMap = 1 << 17 // sparse map entries kept (2 MiB); later ones are not spooled
	tarBlock     = 512
	probeStep    = 4 << 20 // how often fill asks whether it has read enough
)

// spool is the start of disk.raw: an io.ReaderAt that answers reads below
// known (blocks not kept read as zeros: holes or all-zero data) and fails
// reads above it.
type spool struct {
	name   string
	size   int64
	known  int64
	blocks map[int64][]byte
	miss   bool
}

var errNotSpooled = fmt.Errorf("%w: beyond the spooled start of disk.raw", ErrInvalid)

func (s *spool) missed() bool { return s.miss }

func (s *spool) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errNotSpooled
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= s.size {
			return n, io.EOF
		}
		if pos >= s.known {
			s.miss = true
			return n, errNotSpooled
		}
		bi := pos / spoolBlock
		in := pos % spoolBlock
		k := int(min(int64(len(p)-n), spoolBlock-in, s.known-pos, s.size-pos))
		if b := s.blocks[bi]; b != nil {
			copy(p[n:n+k], b[in:])
		} else {
			clear(p[n : n+k])
		}
		n += k
	}
	return n, nil
}

// settled reports whether the boot checks can already be answered from
// what is spooled: inspectBoot ran without reading past known, so the
// bytes it read are final. Then the rest of disk.raw need not be
// decompressed a second time (gce.Check reads it anyway).
func (s *spool) settled() bool {
	s.miss = false
	inspectBoot(s, s.size)
	m := s.miss
	s.miss = false
	return !m
}

// sparseEntry is one data region of an old GNU sparse member.
type sparseEntry struct{ off, n int64 }

// spoolArchive reads the gzip'd tar r and spools its first member (see
// spool). An error means the stream is not a readable tar.gz (gce.Check
// says why) or a context error.
func spoolArchive(ctx context.Context, r io.Reader, budget int64) (*spool, error) {
	zr, err := gzip.NewReader(bufio.NewReaderSize(r, 64<<10))
	if err != nil {
		return nil, err
	}
	zr.Multistream(false)
	var h [tarBlock]byte
	if _, err := io.ReadFull(zr, h[:]); err != nil {
		return nil, fmt.Errorf("tar header: %w", err)
	}
	if allZero(h[:]) {
		return nil, fmt.Errorf("the archive is empty")
	}
	size, ok := tarNumber(h[124:136])
	if !ok || size < 0 {
		return nil, fmt.Errorf("tar header: bad size field")
	}
	s := &spool{name: cstring(h[:100]), size: size, blocks: map[int64][]byte{}}
	var entries []sparseEntry
	complete := true
	switch h[156] {
	case '0', 0:
		entries = []sparseEntry{{0, size}}
	case 'S':
		real, ok := tarNumber(h[483:495])
		if !ok || real < 0 {
			return nil, fmt.Errorf("tar header: bad real size field")
		}
		s.size = real
		// With an incomplete map, reads beyond the last region kept fail
		// as not spooled.
		entries, complete, err = readSparseMap(zr, h[:])
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("first member %q is of type %q, not a file", s.name, h[156])
	}
	return s, s.fill(ctx, zr, entries, complete, budget)
}

// readSparseMap reads an old GNU sparse map (4 entries in the header,
// 21 per extension block), keeping at most maxSparseMap entries.
func readSparseMap(r io.Reader, h []byte) ([]sparseEntry, bool, error) {
	var out []sparseEntry
	complete := true
	take := func(b []byte, n int) error {
		for i := range n {
			e := b[24*i : 24*i+24]
			if allZero(e) {
				return nil
			}
			off, ok1 := tarNumber(e[:12])
			num, ok2 := tarNumber(e[12:])
			if !ok1 || !ok2 || off < 0 || num < 0 {
				return fmt.Errorf("sparse map: bad entry")
			}
			if len(out) >= maxSparseMap {
				complete = false
				continue
			}
			out = append(out, sparseEntry{off, num})
		}
		return nil
	}
	if err := take(h[386:], 4); err != nil {
		return nil, false, err
	}
	more := h[482] != 0
	var ext [tarBlock]byte
	for more {
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return nil, false, fmt.Errorf("sparse map: %w", err)
		}
		if err := take(ext[:], 21); err != nil {
			return nil, false, err
		}
		more = ext[504] != 0
	}
	return out, complete, nil
}

// fill reads the member's data regions in order, keeping non-zero
// blocks, until the budget is spent or the regions end.
func (s *spool) fill(ctx context.Context, r io.Reader, entries []sparseEntry, complete bool, budget int64) error {
	buf := make([]byte, 64<<10)
	var kept int64
	probe := int64(probeStep)
	for i, e := range entries {
		if e.off < s.known || e.off > s.size || e.n > s.size-e.off {
			return fmt.Errorf("sparse map: region %d out of order or outside the file", i)
		}
		s.known = e.off // the hole before it reads as zeros
		for done := int64(0); done < e.n; {
			if err := ctx.Err(); err != nil {
				return err
			}
			// Read up to the next block boundary of the disk so that
			// every piece lies in one block.
			pos := e.off + done
			k := min(e.n-done, int64(len(buf)))
			if end := (pos + k) / spoolBlock * spoolBlock; end > pos {
				k = end - pos
			} else {
				k = min(k, spoolBlock-pos%spoolBlock)
			}
			if _, err := io.ReadFull(r, buf[:k]); err != nil {
				return nil // truncated: what came so far is known (gce.Check reports the truncation)
			}
			for p := int64(0); p < k; {
				bi := (pos + p) / spoolBlock
				in := (pos + p) % spoolBlock
				m := min(k-p, spoolBlock-in)
				piece := buf[p : p+m]
				b := s.blocks[bi]
				if b == nil && !allZero(piece) {
					if kept+spoolBlock > budget {
						return nil // budget spent: reads from here fail as not spooled
					}
					b = make([]byte, spoolBlock)
					s.blocks[bi] = b
					kept += spoolBlock
				}
				if b != nil {
					copy(b[in:], piece)
				}
				p += m
				s.known = pos + p
			}
			done += k
			if s.known >= probe {
				probe = s.known + probeStep
				if s.settled() {
					return nil
				}
			}
		}
	}
	if complete {
		s.known = s.size // the rest is a hole
	}
	return nil
}

// tarNumber parses a tar numeric field: octal text, or GNU base-256 with
// the high bit of the first byte set.
func tarNumber(b []byte) (int64, bool) {
	if len(b) > 0 && b[0]&0x80 != 0 {
		if b[0]&0x40 != 0 {
			return 0, false // negative
		}
		var v int64
		for i, c := range b {
			if i == 0 {
				c &= 0x7f
			}
			if v > (1<<62)>>8 {
				return 0, false
			}
			v = v<<8 | int64(c)
		}
		return v, true
	}
	var v int64
	seen := false
	for _, c := range b {
		switch {
		case c == 0 || c == ' ':
			if seen {
				return v, true
			}
		case c >= '0' && c <= '7':
			if v > (1<<62)>>3 {
				return 0, false
			}
			v, seen = v<<3|int64(c-'0'), true
		default:
			return 0, false
		}
	}
	return v, true
}

func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
