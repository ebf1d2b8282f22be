package disk

import (
	"encoding/binary"
	"fmt"
	"io"
)

// PE/COFF offsets used below (Microsoft PE format specification).
const (
	peSectionHeaderSize = 40
	peMachineAMD64      = 0x8664
	peMagicPE32Plus     = 0x20b
	peSubsystemEFIApp   = 10
	peSecurityDir       = 4 // data directory index of the certificate table
	// IMAGE_SCN_CNT_INITIALIZED_DATA | IMAGE_SCN_MEM_READ
	peDataSectionFlags = 0x00000040 | 0x40000000
	maxStubSize        = 64 << 20
)

// peStub is a parsed linuxx64.efi.stub.
type peStub struct {
	b           []byte // the stub up to the end of its last section's raw data
	coffOff     int    // offset of the COFF file header
	optOff      int    // offset of the optional header
	secOff      int    // offset of the section table
	nsec        int
	sectAlign   uint32
	fileAlign   uint32
	headersSize uint32 // SizeOfHeaders
	firstRaw    uint32 // lowest PointerToRawData of a section with data
	firstVA     uint32 // lowest VirtualAddress
	vaEnd       uint32 // end of the highest section in memory
}

func stubErr(format string, a ...any) error {
	return &FormatError{What: "stub", Reason: fmt.Sprintf(format, a...), Err: ErrBadStub}
}

// parseStub checks that b is a PE32+ x86-64 EFI application and records
// what adding sections needs.
func parseStub(b []byte) (*peStub, error) {
	le := binary.LittleEndian
	if len(b) < 0x40 || b[0] != 'M' || b[1] != 'Z' {
		return nil, stubErr("no MZ header")
	}
	pe := int(le.Uint32(b[0x3c:]))
	if pe < 0x40 || pe > len(b)-24 || string(b[pe:pe+4]) != "PE\x00\x00" {
		return nil, stubErr("no PE signature")
	}
	s := &peStub{coffOff: pe + 4}
	if le.Uint16(b[s.coffOff:]) != peMachineAMD64 {
		return nil, stubErr("machine %#x is not x86-64", le.Uint16(b[s.coffOff:]))
	}
	s.nsec = int(le.Uint16(b[s.coffOff+2:]))
	optSize := int(le.Uint16(b[s.coffOff+16:]))
	s.optOff = s.coffOff + 20
	s.secOff = s.optOff + optSize
	if optSize < 112 || s.secOff+s.nsec*peSectionHeaderSize > len(b) || s.nsec > 96 {
		return nil, stubErr("truncated headers")
	}
	opt := b[s.optOff:s.secOff]
	if le.Uint16(opt) != peMagicPE32Plus {
		return nil, stubErr("not PE32+")
	}
	if le.Uint16(opt[68:]) != peSubsystemEFIApp {
		return nil, stubErr("subsystem %d is not an EFI application", le.Uint16(opt[68:]))
	}
	s.sectAlign = le.Uint32(opt[32:])
	s.fileAlign = le.Uint32(opt[36:])
	s.headersSize = le.Uint32(opt[60:])
	if int64(s.headersSize) < int64(s.secOff+s.nsec*peSectionHeaderSize) {
		// plan edits the headers in s.b, which ends no earlier than here.
		return nil, stubErr("SizeOfHeaders %#x ends inside the section table", s.headersSize)
	}
	pow2 := func(v uint32) bool { return v != 0 && v&(v-1) == 0 }
	if !pow2(s.fileAlign) || s.fileAlign < 512 || s.fileAlign > 64<<10 || !pow2(s.sectAlign) || s.sectAlign < s.fileAlign {
		return nil, stubErr("bad alignment (section %#x, file %#x)", s.sectAlign, s.fileAlign)
	}
	if nrva := le.Uint32(opt[108:]); nrva > 16 || 112+int(nrva)*8 > optSize {
		return nil, stubErr("bad data directory count")
	}
	rawEnd := uint32(s.headersSize)
	s.firstRaw, s.firstVA = ^uint32(0), ^uint32(0)
	for i := 0; i < s.nsec; i++ {
		h := b[s.secOff+i*peSectionHeaderSize:]
		name := cstring(h[:8])
		switch name {
		case ".osrel", ".cmdline", ".linux", ".initrd", ".uname", ".splash", ".dtb":
			return nil, stubErr("already has a %s section", name)
		}
		vsize, va := le.Uint32(h[8:]), le.Uint32(h[12:])
		rsize, rptr := le.Uint32(h[16:]), le.Uint32(h[20:])
		if uint64(rptr)+uint64(rsize) > uint64(len(b)) || uint64(va)+uint64(vsize) > 1<<31 {
			return nil, stubErr("section %s out of bounds", name)
		}
		if rsize > 0 {
			s.firstRaw = min(s.firstRaw, rptr)
			rawEnd = max(rawEnd, rptr+rsize)
		}
		s.firstVA = min(s.firstVA, va)
		s.vaEnd = max(s.vaEnd, va+max(vsize, rsize))
	}
	if s.nsec == 0 || int(rawEnd) > len(b) {
		return nil, stubErr("no sections")
	}
	s.b = b[:rawEnd] // drops an overlay such as an Authenticode signature
	return s, nil
}

func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func alignUp(v, a int64) int64 { return (v + a - 1) / a * a }

// ukiSection is one section to add.
type ukiSection struct {
	name string
	size int64
	open func() (io.Reader, func(), error)
}

// ukiPlan is the finished header plus where each added section goes.
type ukiPlan struct {
	header   []byte  // the stub's bytes with the new headers, up to its raw end
	offsets  []int64 // file offset of each added section
	size     int64   // size of the whole UKI file
	checkOff int64   // offset of the CheckSum field
}

// plan lays out the added sections the way objcopy/ukify do: virtual
// addresses after the stub's last section, aligned to the section alignment
// (at least 4 KiB), raw data after the stub's last raw data, aligned to the
// file alignment; SizeOfImage, SizeOfInitializedData and NumberOfSections
// updated, the certificate table (now invalid) and COFF symbols dropped.
func (s *peStub) plan(secs []ukiSection) (*ukiPlan, error) {
	le := binary.LittleEndian
	h := append([]byte(nil), s.b...)
	tableEnd := s.secOff + (s.nsec+len(secs))*peSectionHeaderSize
	oldEnd := s.secOff + s.nsec*peSectionHeaderSize
	headersSize := int64(s.headersSize)
	if int64(tableEnd) > headersSize {
		// Grow SizeOfHeaders if the first section leaves room.
		headersSize = alignUp(int64(tableEnd), int64(s.fileAlign))
	}
	if headersSize > int64(s.firstRaw) || headersSize > int64(s.firstVA) || tableEnd > len(h) {
		return nil, stubErr("no room for %d more section headers (headers end at %#x, first section at %#x)",
			len(secs), tableEnd, s.firstRaw)
	}
	for _, c := range h[oldEnd:tableEnd] {
		if c != 0 {
			return nil, stubErr("bytes after the section table are in use")
		}
	}
	opt := h[s.optOff:]
	valign := int64(max(s.sectAlign, 4096))
	va := alignUp(int64(s.vaEnd), valign)
	raw := alignUp(int64(len(h)), int64(s.fileAlign))
	p := &ukiPlan{checkOff: int64(s.optOff + 64)}
	initData := int64(le.Uint32(opt[8:]))
	for i, sec := range secs {
		if len(sec.name) > 8 {
			return nil, stubErr("section name %q too long", sec.name)
		}
		rsize := alignUp(sec.size, int64(s.fileAlign))
		if va+sec.size > 1<<32-1 || raw+rsize > 1<<32-1 {
			return nil, fmt.Errorf("%w: UKI larger than 4 GiB", ErrTooLarge)
		}
		e := h[s.secOff+(s.nsec+i)*peSectionHeaderSize:]
		copy(e[:8], make([]byte, 8))
		copy(e[:8], sec.name)
		le.PutUint32(e[8:], uint32(sec.size))
		le.PutUint32(e[12:], uint32(va))
		le.PutUint32(e[16:], uint32(rsize))
		le.PutUint32(e[20:], uint32(raw))
		copy(e[24:36], make([]byte, 12))
		le.PutUint32(e[36:], peDataSectionFlags)
		p.offsets = append(p.offsets, raw)
		initData += rsize
		raw += rsize
		va = alignUp(va+sec.size, valign)
	}
	p.size = raw
	le.PutUint16(h[s.coffOff+2:], uint16(s.nsec+len(secs)))
	le.PutUint32(h[s.coffOff+8:], 0)  // PointerToSymbolTable
	le.PutUint32(h[s.coffOff+12:], 0) // NumberOfSymbols
	le.PutUint32(opt[8:], uint32(min(initData, 1<<32-1)))
	le.PutUint32(opt[56:], uint32(alignUp(va, int64(s.sectAlign)))) // SizeOfImage
	le.PutUint32(opt[60:], uint32(headersSize))
	le.PutUint32(opt[64:], 0) // CheckSum, patched after streaming
	if le.Uint32(opt[108:]) > peSecurityDir {
		copy(opt[112+peSecurityDir*8:112+peSecurityDir*8+8], make([]byte, 8))
	}
	p.header = h
	return p, nil
}

// peChecksum computes the PE image checksum over a stream (the CheckSum
// field itself must be written as zero): 16-bit one's-complement-style sum
// with carries folded, plus the file length.
type peChecksum struct {
	sum  uint32
	n    int64
	odd  bool
	oddb byte
}

func (c *peChecksum) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	i := 0
	if c.odd && len(p) > 0 {
		c.add(uint32(c.oddb) | uint32(p[0])<<8)
		c.odd = false
		i = 1
	}
	for ; i+1 < len(p); i += 2 {
		c.add(uint32(p[i]) | uint32(p[i+1])<<8)
	}
	if i < len(p) {
		c.odd, c.oddb = true, p[i]
	}
	return len(p), nil
}

func (c *peChecksum) add(w uint32) {
	c.sum += w
	c.sum = (c.sum & 0xffff) + (c.sum >> 16)
}

func (c *peChecksum) Sum() uint32 {
	s := c.sum
	if c.odd {
		s += uint32(c.oddb)
		s = (s & 0xffff) + (s >> 16)
	}
	s = (s & 0xffff) + (s >> 16)
	return s + uint32(c.n)
}

// writeUKI streams the UKI into w (which must be positioned at offset 0)
// and then writes the checksum through patch.
func writeUKI(w io.Writer, p *ukiPlan, secs []ukiSection, patch func(off int64, b []byte) error, progress func(int64)) error {
	var ck peChecksum
	out := io.MultiWriter(w, &ck)
	if _, err := out.Write(p.header); err != nil {
		return err
	}
	pos := int64(len(p.header))
	zeros := make([]byte, 64<<10)
	pad := func(to int64) error {
		for pos < to {
			n := min(to-pos, int64(len(zeros)))
			if _, err := out.Write(zeros[:n]); err != nil {
				return err
			}
			pos += n
		}
		return nil
	}
	for i, sec := range secs {
		if err := pad(p.offsets[i]); err != nil {
			return err
		}
		r, done, err := sec.open()
		if err != nil {
			return err
		}
		n, err := io.Copy(out, r)
		done()
		if err != nil {
			return err
		}
		if n != sec.size {
			return fmt.Errorf("%w: section %s: %d of %d bytes", ErrShortInput, sec.name, n, sec.size)
		}
		pos += n
		if progress != nil {
			progress(n)
		}
	}
	if err := pad(p.size); err != nil {
		return err
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], ck.Sum())
	return patch(p.checkOff, b[:])
}
