package support

import (
	"bufio"
	"io"
)

// zstdFrame passes exactly one zstd frame through and then reports EOF,
// so that Open can tell the frame's end from whatever follows it (which
// the decoder would otherwise read as further, possibly skippable, frames).
// It walks the frame's structure (RFC 8878 section 3.1.1): the header, the
// block headers and sizes, and the optional checksum.
type zstdFrame struct {
	r       *bufio.Reader
	state   int // frameHeader, frameBlockHeader, frameBody, frameChecksum, frameDone
	remain  int64
	last    bool
	check   bool
	pending []byte
	buf     [32]byte
	err     error
}

const (
	frameHeader = iota
	frameBlockHeader
	frameBody
	frameChecksum
	frameDone
)

var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

func (z *zstdFrame) fail(format string, args ...any) (int, error) {
	z.err = malformed(format, args...)
	return 0, z.err
}

func (z *zstdFrame) readFull(n int) ([]byte, error) {
	b := z.buf[:n]
	if _, err := io.ReadFull(z.r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

func (z *zstdFrame) Read(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	for len(z.pending) == 0 {
		switch z.state {
		case frameHeader:
			h, err := z.readFull(5)
			if err != nil {
				return z.fail("zstd frame header: %v", err)
			}
			if string(h[:4]) != string(zstdMagic) {
				return z.fail("not a zstd frame")
			}
			z.pending = append(z.pending[:0], h...)
			fhd := h[4]
			if fhd&0x08 != 0 {
				return z.fail("zstd frame header: reserved bit set")
			}
			single := fhd&0x20 != 0
			z.check = fhd&0x04 != 0
			n := 0
			if !single {
				n++
			}
			n += []int{0, 1, 2, 4}[fhd&3]
			fcs := []int{0, 2, 4, 8}[fhd>>6]
			if fcs == 0 && single {
				fcs = 1
			}
			n += fcs
			rest, err := z.readFull(n)
			if err != nil {
				return z.fail("zstd frame header: %v", err)
			}
			z.pending = append(z.pending, rest...)
			z.state = frameBlockHeader
		case frameBlockHeader:
			h, err := z.readFull(3)
			if err != nil {
				return z.fail("zstd block header: %v", err)
			}
			v := uint32(h[0]) | uint32(h[1])<<8 | uint32(h[2])<<16
			z.last = v&1 != 0
			size := int64(v >> 3)
			switch (v >> 1) & 3 {
			case 0, 2: // raw, compressed
			case 1: // RLE: one byte follows
				size = 1
			default:
				return z.fail("zstd block: reserved type")
			}
			if size > 128<<10 {
				return z.fail("zstd block of %d bytes", size)
			}
			z.pending = append(z.pending[:0], h...)
			z.remain = size
			z.state = frameBody
		case frameBody:
			if z.remain == 0 {
				switch {
				case !z.last:
					z.state = frameBlockHeader
				case z.check:
					z.state = frameChecksum
				default:
					z.state = frameDone
				}
				continue
			}
			if int64(len(p)) > z.remain {
				p = p[:z.remain]
			}
			n, err := z.r.Read(p)
			z.remain -= int64(n)
			if err == io.EOF {
				if n > 0 {
					return n, nil
				}
				return z.fail("zstd block: %v", io.ErrUnexpectedEOF)
			}
			if err != nil {
				z.err = err
			}
			return n, err
		case frameChecksum:
			h, err := z.readFull(4)
			if err != nil {
				return z.fail("zstd checksum: %v", err)
			}
			z.pending = append(z.pending[:0], h...)
			z.state = frameDone
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, z.pending)
	z.pending = z.pending[n:]
	return n, nil
}
