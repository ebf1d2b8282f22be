package vhd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Disk is an opened fixed or dynamic VHD: an io.ReaderAt of the virtual
// disk. It holds the footer, the dynamic header and the block allocation
// table, nothing else; it is safe for concurrent use when the underlying
// io.ReaderAt is.
type Disk struct {
	r         io.ReaderAt
	fileSize  int64
	size      int64
	footer    Footer
	footerOff int64 // where the footer Open used was read
	header    *DynamicHeader
	bat       []uint32
	blockSize int64
	bitmap    int64
}

// Size is the virtual disk size in bytes (the footer's current size).
func (d *Disk) Size() int64 { return d.size }

// Footer returns a copy of the footer.
func (d *Disk) Footer() Footer { return d.footer }

// Header returns a copy of the dynamic header, or nil for a fixed disk.
func (d *Disk) Header() *DynamicHeader {
	if d.header == nil {
		return nil
	}
	h := *d.header
	return &h
}

// Type is "fixed" or "dynamic".
func (d *Disk) Type() string { return typeName(d.footer.DiskType) }

// Open reads the footer of a VHD of fileSize bytes and, for a dynamic
// disk, its header and block allocation table; blocks are read on demand.
// It uses the footer at the end of the file, or the copy at offset 0 of a
// dynamic disk when the last sector holds none. Differencing disks fail
// with ErrUnsupported.
//
// Sizes are checked before anything is allocated: the virtual size at
// most MaxFixedSize, block sizes a power of two from 512 bytes to
// 256 MiB, at most 8 Mi table entries, and the table inside the file. The
// sector bitmaps are not consulted: in a fixed or dynamic disk every
// sector of a stored block is data (as qemu reads them too).
func Open(r io.ReaderAt, fileSize int64) (*Disk, error) {
	if fileSize < FooterSize {
		return nil, formatErr(ErrTruncated, 0, "file of %d bytes has no footer", fileSize)
	}
	d := &Disk{r: r, fileSize: fileSize}
	b := make([]byte, HeaderSize)
	d.footerOff = fileSize - FooterSize
	if err := readFull(r, b[:FooterSize], d.footerOff, fileSize); err != nil {
		return nil, err
	}
	f, err := parseFooter(b, d.footerOff)
	if err != nil && !errors.Is(err, ErrChecksum) {
		// A dynamic disk cut short keeps its leading copy; try it.
		d.footerOff = 0
		if err2 := readFull(r, b[:FooterSize], 0, fileSize); err2 != nil {
			return nil, err
		}
		f2, err2 := parseFooter(b, 0)
		if err2 != nil || f2.DiskType != diskTypeDynamic {
			return nil, err
		}
		f, err = f2, nil
	}
	if err != nil {
		return nil, err
	}
	d.footer = *f
	if f.CurrentSize > MaxFixedSize {
		return nil, formatErr(ErrTooLarge, d.footerOff+48, "virtual size %d above %d", f.CurrentSize, int64(MaxFixedSize))
	}
	d.size = int64(f.CurrentSize)
	if d.size%SectorSize != 0 {
		return nil, formatErr(ErrMalformed, d.footerOff+48, "virtual size %d is not a whole number of sectors", d.size)
	}
	switch f.DiskType {
	case diskTypeFixed:
		if d.footerOff != fileSize-FooterSize || fileSize-FooterSize < d.size {
			return nil, formatErr(ErrTruncated, fileSize, "fixed disk of %d bytes needs %d bytes of data, file has %d",
				d.size, d.size, fileSize-FooterSize)
		}
		return d, nil
	case diskTypeDynamic:
	case diskTypeDifferencing:
		return nil, formatErr(ErrUnsupported, d.footerOff+60, "differencing disk (needs its parent)")
	default:
		return nil, formatErr(ErrMalformed, d.footerOff+60, "disk type %d", f.DiskType)
	}
	if d.size > MaxDynamicSize {
		return nil, formatErr(ErrTooLarge, d.footerOff+48, "dynamic virtual size %d above %d", d.size, int64(MaxDynamicSize))
	}
	ho := int64(f.DataOffset)
	if f.DataOffset > uint64(fileSize) || ho+HeaderSize > fileSize {
		return nil, formatErr(ErrTruncated, d.footerOff+16, "dynamic header at %d beyond the file (%d bytes)", f.DataOffset, fileSize)
	}
	if ho%SectorSize != 0 {
		return nil, formatErr(ErrMalformed, d.footerOff+16, "dynamic header at %d not sector-aligned", ho)
	}
	if err := readFull(r, b, ho, fileSize); err != nil {
		return nil, err
	}
	h, err := parseHeader(b, ho)
	if err != nil {
		return nil, err
	}
	d.header = h
	bs := int64(h.BlockSize)
	if bs < SectorSize || bs > maxBlockSize || bs&(bs-1) != 0 {
		return nil, formatErr(ErrMalformed, ho+32, "block size %d (want a power of two from 512 to %d)", bs, maxBlockSize)
	}
	d.blockSize, d.bitmap = bs, bitmapSize(bs)
	need := (d.size + bs - 1) / bs
	n := int64(h.MaxTableEntries)
	if n < need {
		return nil, formatErr(ErrMalformed, ho+28, "%d table entries for %d blocks", n, need)
	}
	if n > maxBATEntries {
		return nil, formatErr(ErrTooLarge, ho+28, "%d table entries (at most %d)", n, maxBATEntries)
	}
	to := int64(h.TableOffset)
	if h.TableOffset > uint64(fileSize) || to+4*n > fileSize {
		return nil, formatErr(ErrTruncated, ho+16, "table of %d entries at %d beyond the file (%d bytes)", n, h.TableOffset, fileSize)
	}
	if to%SectorSize != 0 {
		return nil, formatErr(ErrMalformed, ho+16, "table at %d not sector-aligned", to)
	}
	// Only the entries that map the disk are kept; read in 64 KiB chunks.
	d.bat = make([]uint32, need)
	chunk := make([]byte, min(4*need, 64<<10))
	for i := int64(0); i < need; {
		k := min(int64(len(chunk))/4, need-i)
		if err := readFull(r, chunk[:4*k], to+4*i, fileSize); err != nil {
			return nil, err
		}
		for j := range k {
			e := binary.BigEndian.Uint32(chunk[4*j:])
			if e != batUnused {
				start := int64(e) * SectorSize
				if start+d.bitmap+bs > d.footerOff && d.footerOff != 0 || start+d.bitmap+bs > fileSize {
					return nil, formatErr(ErrMalformed, to+4*(i+j), "block %d at sector %d extends beyond the data area", i+j, e)
				}
				if start < FooterSize {
					return nil, formatErr(ErrMalformed, to+4*(i+j), "block %d at sector %d overlaps the footer copy", i+j, e)
				}
			}
			d.bat[i+j] = e
		}
		i += k
	}
	return d, nil
}

// ReadAt reads the virtual disk; unallocated blocks read as zeros.
func (d *Disk) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%w: negative offset %d", ErrInvalid, off)
	}
	if off >= d.size {
		return 0, io.EOF
	}
	var eof error
	if int64(len(p)) > d.size-off {
		p, eof = p[:d.size-off], io.EOF
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		var k int
		if d.header == nil {
			k = len(p) - n
			if err := readFull(d.r, p[n:], pos, d.fileSize); err != nil {
				return n, err
			}
		} else {
			blk := pos / d.blockSize
			in := pos % d.blockSize
			k = int(min(int64(len(p)-n), d.blockSize-in))
			e := d.bat[blk]
			if e == batUnused {
				clear(p[n : n+k])
			} else if err := readFull(d.r, p[n:n+k], int64(e)*SectorSize+d.bitmap+in, d.fileSize); err != nil {
				return n, err
			}
		}
		n += k
	}
	return n, eof
}

// readFull reads len(b) bytes at off of a file of size bytes, mapping a
// short file to ErrTruncated.
func readFull(r io.ReaderAt, b []byte, off, size int64) error {
	if off < 0 || off+int64(len(b)) > size {
		return formatErr(ErrTruncated, off, "%d bytes needed, file has %d", len(b), size)
	}
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		return formatErr(ErrTruncated, off+int64(n), "file ends early")
	}
	return fmt.Errorf("vhd: read at %d: %w", off+int64(n), err)
}
