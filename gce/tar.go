package gce

import (
	"bytes"
	"fmt"
	"strconv"
)

// The old GNU tar format (GNU tar's --format=oldgnu), the one Google's
// image import documents: a ustar-like 512-byte header with the magic
// "ustar  \x00", and for sparse files typeflag 'S' with the sparse map in
// the header (4 entries at 386, "isextended" at 482, the real size at 483)
// continued in extension blocks of 21 entries ("isextended" at 504).
const (
	block         = 512
	record        = 20 * block // GNU tar's default record size; archives end on one
	oldGNUMagic   = "ustar  \x00"
	ustarMagic    = "ustar\x0000"
	headerEntries = 4
	extEntries    = 21
	typeReg       = '0'
	typeSparse    = 'S'
)

// Name is the one member of a GCE image archive.
const Name = "disk.raw"

// region is a stretch of data in a sparse file.
type region struct{ off, n int64 }

// putNumeric writes v into a numeric field: octal digits and a NUL when
// it fits, else GNU's base-256 (high bit of the first byte set).
func putNumeric(b []byte, v int64) {
	s := strconv.FormatInt(v, 8)
	if len(s) < len(b) {
		copy(b, bytes.Repeat([]byte{'0'}, len(b)-1-len(s)))
		copy(b[len(b)-1-len(s):], s)
		b[len(b)-1] = 0
		return
	}
	for i := len(b) - 1; i > 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	b[0] = 0x80
}

// parseNumeric reads a numeric field (octal, or base-256 for positive
// values up to 2^63-1).
func parseNumeric(b []byte) (int64, error) {
	if len(b) > 0 && b[0]&0x80 != 0 {
		if b[0] != 0x80 {
			return 0, fmt.Errorf("negative or oversized base-256 number")
		}
		var v int64
		for i, c := range b[1:] {
			if v > (1<<63-1)>>8 || (len(b)-1-i > 8 && c != 0) {
				return 0, fmt.Errorf("base-256 number overflows")
			}
			v = v<<8 | int64(c)
		}
		return v, nil
	}
	s := string(bytes.Trim(b, " \x00"))
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 8, 64)
	if err != nil {
		return 0, fmt.Errorf("numeric field %q", b)
	}
	return v, nil
}

// header builds the old GNU header of disk.raw. For a sparse entry it
// returns the extension blocks that follow it too.
func header(mtime, realSize int64, sparse []region) []byte {
	h := make([]byte, block)
	copy(h, Name)
	putNumeric(h[100:108], 0o644)
	putNumeric(h[108:116], 0)
	putNumeric(h[116:124], 0)
	putNumeric(h[136:148], mtime)
	copy(h[257:265], oldGNUMagic)
	copy(h[265:], "root")
	copy(h[297:], "root")
	if sparse == nil {
		h[156] = typeReg
		putNumeric(h[124:136], realSize)
		setChecksum(h)
		return h
	}
	h[156] = typeSparse
	var stored int64
	for _, r := range sparse {
		stored += r.n
	}
	putNumeric(h[124:136], stored)
	putNumeric(h[483:495], realSize)
	out := h
	put := func(b []byte, rs []region) {
		for i, r := range rs {
			putNumeric(b[24*i:24*i+12], r.off)
			putNumeric(b[24*i+12:24*i+24], r.n)
		}
	}
	first := sparse[:min(len(sparse), headerEntries)]
	put(h[386:], first)
	rest := sparse[len(first):]
	if len(rest) > 0 {
		h[482] = 1
	}
	setChecksum(h)
	for len(rest) > 0 {
		ext := make([]byte, block)
		n := min(len(rest), extEntries)
		put(ext, rest[:n])
		rest = rest[n:]
		if len(rest) > 0 {
			ext[504] = 1
		}
		out = append(out, ext...)
	}
	return out
}

// setChecksum fills the header checksum: the unsigned byte sum with the
// field itself counted as spaces, six octal digits, NUL, space.
func setChecksum(h []byte) {
	copy(h[148:156], "        ")
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", headerSum(h)))
}

func headerSum(h []byte) int64 {
	var s int64
	for i, c := range h[:block] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		s += int64(c)
	}
	return s
}
