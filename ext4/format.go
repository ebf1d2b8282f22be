package ext4

import (
	"context"
	"io"
)

// sink receives what Format writes, in order. Format's sink writes it;
// Verify's compares it.
type sink interface {
	// data is metadata: the exact bytes at off.
	data(region string, off int64, p []byte) error
	// zero is a range that must read as zeros; write says Format writes
	// the zeros (NotZeroed) rather than relying on the target.
	zero(region string, off, n int64, write bool) error
}

// Format writes an empty ext4 file system of size bytes (whole 4 KiB
// blocks; see MinSize and MaxSize) to w. It writes metadata only: unless
// o.NotZeroed is set, it relies on w reading as zeros everywhere else
// (see doc.go for the exact list).
func Format(ctx context.Context, w io.WriterAt, size int64, o *Options) (*Info, error) {
	opts, err := o.resolve()
	if err != nil {
		return nil, err
	}
	l, err := newLayout(size)
	if err != nil {
		return nil, err
	}
	f := newFS(l, opts)
	if err := f.emit(ctx, &writeSink{ctx: ctx, w: w}); err != nil {
		return nil, err
	}
	return f.info(), nil
}

func (f *fs) info() *Info {
	return &Info{Label: f.o.Label, UUID: formatUUID(f.uuid[:]), Size: int64(f.l.blocks) * BlockSize, BlockSize: BlockSize}
}

func (f *fs) progress(stage string, done, total int64) {
	if f.o.Progress != nil {
		f.o.Progress(Event{Stage: stage, Done: done, Total: total})
	}
}

// emit produces the whole file system into s. The primary superblock
// goes last, so a format cut short is not taken for a file system.
func (f *fs) emit(ctx context.Context, s sink) error {
	l := f.l
	off := func(b uint64) int64 { return int64(b) * BlockSize }
	// Bitmaps first: their checksums go into the descriptors.
	bbCsum := make([]uint32, l.groups)
	ibCsum := make([]uint32, l.groups)
	total := int64(l.groups)
	for g := uint64(0); g < l.groups; g++ {
		if g%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			f.progress("metadata", int64(g), total)
		}
		if !f.blockBitmapWritten(g) {
			continue
		}
		bb := f.blockBitmap(g)
		bbCsum[g] = crc32c(f.csumSeed, bb[:blocksPerGroup/8])
		if err := s.data(groupRegion("block bitmap", g), off(l.bbitmap[g]), bb); err != nil {
			return err
		}
	}
	ib := f.inodeBitmap()
	ibCsum[0] = crc32c(f.csumSeed, ib[:l.ipg/8])
	if err := s.data("inode bitmap of group 0", off(l.ibitmap[0]), ib); err != nil {
		return err
	}
	if err := s.data("inode table of group 0", off(l.itable[0]), f.inodeTableBlock()); err != nil {
		return err
	}
	if !f.o.NotZeroed && l.itb > 1 {
		// ITABLE_ZEROED is set: the rest of the table must be zeros.
		if err := s.zero("inode table of group 0 (must read as zeros)", off(l.itable[0]+1), off(l.itb-1), false); err != nil {
			return err
		}
	}
	if err := s.data("root directory", off(l.root), f.dirBlock(rootIno, []dirent{
		{rootIno, "."}, {rootIno, ".."}, {firstIno, "lost+found"}})); err != nil {
		return err
	}
	for i := uint64(0); i < lostFoundBlks; i++ {
		ents := []dirent{{0, ""}}
		if i == 0 {
			ents = []dirent{{firstIno, "."}, {rootIno, ".."}}
		}
		if err := s.data("lost+found", off(l.lostFound+i), f.dirBlock(firstIno, ents)); err != nil {
			return err
		}
	}
	if err := s.data("journal superblock", off(l.journal[0].start), f.journalSuper()); err != nil {
		return err
	}
	// The log itself: never read while the journal is empty, but a
	// stale transaction from an earlier file system could be replayed
	// after the first crash if it matched the sequence numbers.
	var jdone int64
	for i, e := range l.journal {
		start, n := e.start, e.n
		if i == 0 {
			start, n = start+1, n-1
		}
		if n == 0 {
			continue
		}
		if err := s.zero("journal (must read as zeros)", off(start), off(n), f.o.NotZeroed); err != nil {
			return err
		}
		jdone += off(n)
		if f.o.NotZeroed {
			f.progress("journal", jdone, off(l.jblocks-1))
		}
	}
	gdt := make([]byte, 0, off(l.gdtBlocks))
	for g := uint64(0); g < l.groups; g++ {
		gdt = append(gdt, f.desc(g, bbCsum[g], ibCsum[g])...)
	}
	gdt = gdt[:cap(gdt)]
	for g := uint64(1); g < l.groups; g++ {
		if !hasSuper(g) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		sb := make([]byte, BlockSize)
		copy(sb, f.superblock(g))
		if err := s.data(groupRegion("superblock backup", g), off(g*blocksPerGroup), sb); err != nil {
			return err
		}
		if err := s.data(groupRegion("group descriptor backup", g), off(g*blocksPerGroup+1), gdt); err != nil {
			return err
		}
	}
	if err := s.data("group descriptors", off(1), gdt); err != nil {
		return err
	}
	b0 := make([]byte, BlockSize)
	copy(b0[superOffset:], f.superblock(0))
	if err := s.data("superblock", 0, b0); err != nil {
		return err
	}
	f.progress("metadata", total, total)
	return nil
}

func groupRegion(what string, g uint64) string {
	return what + " of group " + itoa(g)
}

func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

// writeSink writes to the target.
type writeSink struct {
	ctx  context.Context
	w    io.WriterAt
	zbuf []byte
}

func (s *writeSink) data(_ string, off int64, p []byte) error {
	_, err := s.w.WriteAt(p, off)
	return err
}

func (s *writeSink) zero(_ string, off, n int64, write bool) error {
	if !write {
		return nil
	}
	if s.zbuf == nil {
		s.zbuf = make([]byte, 1<<20)
	}
	for n > 0 {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		k := min(n, int64(len(s.zbuf)))
		if _, err := s.w.WriteAt(s.zbuf[:k], off); err != nil {
			return err
		}
		off, n = off+k, n-k
	}
	return nil
}
