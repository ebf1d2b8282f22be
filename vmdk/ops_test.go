package vmdk_test

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"sync"

	"github.com/fogkit/fogkit/vmdk"
)

// A compact description of a stream for the stream fuzzers: the header
// (up to 512 bytes, zero-filled to a sector), the descriptor text (one
// sector) and the records after them as ops of a few bytes each instead
// of a sector or more. The fuzzer then mutates and minimises tens of
// bytes, not kilobytes: Go's minimiser tries every subrange of an input it
// cannot shrink, which on a stream of a few KiB outlasted a whole fuzzing
// run. The seeds' header is tinyStream's (8-sector grains, 4 entries per
// table, 10 grains).
//
// Each op is a byte (its value mod 8 selects it) and its arguments:
//
//	0 g v  grain record for grain g%16; payload v%5, size field v/5%4
//	1 f    grain table for the grains since the last table; (f+1)%3
//	       sectors (1 is right), entries wrong when f&4
//	2 f    grain directory; (f+1)%3 sectors, entries wrong when f&4
//	3 f    footer marker (value 1, or f when f&1) and footer (the header
//	       with the gdOffset of the last directory, or f when f&2)
//	4      end-of-stream sector
//	5 b*16 a sector starting with the next 16 bytes (a hand-made marker)
//	6 p q x xor byte p<<8|q of the output so far with x
//	7      a correct tail: directory, footer marker, footer, end-of-stream
const (
	opsGTEs   = 4
	opsGrains = 10
	opsGrain  = 8 * vmdk.SectorSize
)

var (
	payloadsOnce sync.Once
	payloads     [][]byte // zlib grain, zlib zero grain, short, raw deflate, too long
)

func grainPayloads() [][]byte {
	payloadsOnce.Do(func() {
		z := func(n int, fill byte) []byte {
			var b bytes.Buffer
			w := zlib.NewWriter(&b)
			w.Write(bytes.Repeat([]byte{fill}, n))
			w.Close()
			return b.Bytes()
		}
		var raw bytes.Buffer
		fw, _ := flate.NewWriter(&raw, flate.DefaultCompression)
		fw.Write(tinyGrain(3, opsGrain))
		fw.Close()
		var g bytes.Buffer
		w := zlib.NewWriter(&g)
		w.Write(tinyGrain(1, opsGrain))
		w.Close()
		payloads = [][]byte{g.Bytes(), z(opsGrain, 0), z(100, 7), raw.Bytes(), z(opsGrain+1, 9)}
	})
	return payloads
}

func expandOps(header, desc, ops []byte) []byte {
	const ss = vmdk.SectorSize
	le := binary.LittleEndian
	hdr := make([]byte, ss)
	copy(hdr, header)
	out := append(bytes.Clone(hdr), make([]byte, ss)...)
	copy(out[ss:], desc)
	pad := func() {
		if r := len(out) % ss; r != 0 {
			out = append(out, make([]byte, ss-r)...)
		}
	}
	marker := func(val uint64, typ uint32) {
		m := make([]byte, ss)
		le.PutUint64(m, val)
		le.PutUint32(m[12:], typ)
		out = append(out, m...)
	}
	table := func(entries []uint32, sectors int, wrong bool) {
		b := make([]byte, sectors*ss)
		for i, e := range entries {
			if wrong {
				e ^= 3
			}
			if 4*i+4 <= len(b) {
				le.PutUint32(b[4*i:], e)
			}
		}
		out = append(out, b...)
	}
	gt := make([]uint32, opsGTEs)
	block := -1
	gd := make([]uint32, (opsGrains+opsGTEs-1)/opsGTEs)
	gdSector := uint64(0)
	directory := func(f byte) {
		n := (f + 1) % 3
		marker(uint64(n), vmdk.MarkerGD)
		gdSector = uint64(len(out) / ss)
		table(gd, int(n), f&4 != 0)
	}
	footer := func(f byte) {
		val := uint64(1)
		if f&1 != 0 {
			val = uint64(f)
		}
		marker(val, vmdk.MarkerFooter)
		ft := bytes.Clone(hdr)
		le.PutUint64(ft[56:], gdSector)
		if f&2 != 0 {
			le.PutUint64(ft[56:], uint64(f))
		}
		out = append(out, ft...)
	}
	arg := func(i int) byte {
		if i < len(ops) {
			return ops[i]
		}
		return 0
	}
	for i := 0; i < len(ops) && len(out) < 64<<10; {
		op := ops[i] % 8
		i++
		switch op {
		case 0:
			g, v := int(arg(i)%16), arg(i+1)
			i += 2
			p := grainPayloads()[v%5]
			size := uint32(len(p))
			switch v / 5 % 4 {
			case 1:
				size++
			case 2:
				size--
			case 3:
				size = 1 << 31
			}
			if g/opsGTEs != block {
				block = g / opsGTEs
				clear(gt)
			}
			gt[g%opsGTEs] = uint32(len(out) / ss)
			rec := make([]byte, 12, 12+len(p))
			le.PutUint64(rec, uint64(g)*8)
			le.PutUint32(rec[8:], size)
			out = append(out, append(rec, p...)...)
			pad()
		case 1:
			f := arg(i)
			i++
			n := (f + 1) % 3
			marker(uint64(n), vmdk.MarkerGT)
			if block >= 0 && block < len(gd) {
				gd[block] = uint32(len(out) / ss)
			}
			table(gt, int(n), f&4 != 0)
			clear(gt)
			block = -1
		case 2:
			directory(arg(i))
			i++
		case 3:
			footer(arg(i))
			i++
		case 4:
			out = append(out, make([]byte, ss)...)
		case 5:
			s := make([]byte, ss)
			copy(s, ops[i:min(i+16, len(ops))])
			i += 16
			out = append(out, s...)
		case 6:
			p := int(arg(i))<<8 | int(arg(i+1))
			if p < len(out) {
				out[p] ^= arg(i + 2)
			}
			i += 3
		case 7:
			directory(0)
			footer(0)
			out = append(out, make([]byte, ss)...)
		}
	}
	return out
}

// tinyParts returns tinyStream's header and descriptor without their
// zero fill, the parts expandOps takes.
func tinyParts() (hdr, desc []byte) {
	v := tinyStream(tinyOpts{})
	return bytes.TrimRight(v[:vmdk.SectorSize], "\x00"), bytes.TrimRight(v[vmdk.SectorSize:2*vmdk.SectorSize], "\x00")
}
