package vmdk_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"

	"github.com/fogkit/fogkit/vmdk"
)

// tinyOpts describes a small streamOptimized VMDK for tinyStream. The
// format allows grains of 8 sectors and grain tables of a few entries, so
// a disk of a few grains fits in a few KiB: small enough for fuzz seeds
// that mutate fast, while every structure (grains, tables, directory,
// footer, end-of-stream) is present.
type tinyOpts struct {
	GrainSectors uint64 // 0 means 8
	GTEs         uint32 // entries per grain table; 0 means 4
	Grains       int    // capacity in grains; 0 means 10
	// Fill lists the grains written, in order; nil means grains 0, 1, 5
	// and 9 (two tables, one block without grains). Each grain holds a
	// byte pattern derived from its index.
	Fill []int
	// NoFooter writes the footer-less layout: gdOffset in the header and
	// no footer marker, footer or end-of-stream.
	NoFooter bool
}

// tinyGrain is the content tinyStream writes for grain g.
func tinyGrain(g int, size int) []byte {
	// A short pattern and zeros: it compresses to a few dozen bytes, so a
	// grain record is one sector.
	b := make([]byte, size)
	for i := range min(size, 16) {
		b[i] = byte(g*31 + i)
	}
	return b
}

func tinyStream(o tinyOpts) []byte {
	if o.GrainSectors == 0 {
		o.GrainSectors = 8
	}
	if o.GTEs == 0 {
		o.GTEs = 4
	}
	if o.Grains == 0 {
		o.Grains = 10
	}
	if o.Fill == nil {
		o.Fill = []int{0, 1, 5, 9}
	}
	const ss = vmdk.SectorSize
	le := binary.LittleEndian
	grainBytes := int(o.GrainSectors) * ss
	capacity := uint64(o.Grains) * o.GrainSectors
	hdr := vmdk.Header{
		Version: vmdk.Version, Flags: vmdk.Flags, Capacity: capacity, GrainSize: o.GrainSectors,
		DescriptorOffset: 1, DescriptorSize: 1, NumGTEsPerGT: o.GTEs, GDOffset: vmdk.GDAtEnd,
		OverHead: 2, NewlineChars: [4]byte{'\n', ' ', '\r', '\n'}, CompressAlgorithm: vmdk.CompressDeflate,
	}
	var out bytes.Buffer
	sector := func(b []byte) { // b padded to whole sectors
		out.Write(b)
		if r := len(b) % ss; r != 0 {
			out.Write(make([]byte, ss-r))
		}
	}
	marker := func(val uint64, typ uint32) {
		m := make([]byte, ss)
		le.PutUint64(m, val)
		le.PutUint32(m[12:], typ)
		out.Write(m)
	}
	h, _ := hdr.MarshalBinary()
	out.Write(h)
	cyl := (capacity + 16064) / 16065
	// A terse descriptor with every key Verify checks.
	sector(fmt.Appendf(nil, "CID=1234abcd\nparentCID=ffffffff\ncreateType=\"streamOptimized\"\n"+
		"RW %d SPARSE \"t.vmdk\"\nddb.adapterType=\"lsilogic\"\nddb.geometry.cylinders=\"%d\"\n"+
		"ddb.geometry.heads=\"255\"\nddb.geometry.sectors=\"63\"\nddb.toolsVersion=\"1\"\n"+
		"ddb.virtualHWVersion=\"4\"\n", capacity, cyl))

	gtes := int(o.GTEs)
	numGTs := (o.Grains + gtes - 1) / gtes
	gd := make([]uint32, numGTs)
	var gt []uint32
	block := -1
	closeBlock := func() {
		if block < 0 {
			return
		}
		marker(uint64((4*gtes+ss-1)/ss), vmdk.MarkerGT)
		gd[block] = uint32(out.Len() / ss)
		b := make([]byte, 4*gtes)
		for i, v := range gt {
			le.PutUint32(b[4*i:], v)
		}
		sector(b)
		block = -1
	}
	for _, g := range o.Fill {
		if g/gtes != block {
			closeBlock()
			block, gt = g/gtes, make([]uint32, gtes)
		}
		gt[g%gtes] = uint32(out.Len() / ss)
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(tinyGrain(g, grainBytes))
		zw.Close()
		rec := make([]byte, 12, 12+z.Len())
		le.PutUint64(rec, uint64(g)*o.GrainSectors)
		le.PutUint32(rec[8:], uint32(z.Len()))
		sector(append(rec, z.Bytes()...))
	}
	closeBlock()
	marker(uint64((4*numGTs+ss-1)/ss), vmdk.MarkerGD)
	hdr.GDOffset = uint64(out.Len() / ss)
	b := make([]byte, 4*numGTs)
	for i, v := range gd {
		le.PutUint32(b[4*i:], v)
	}
	sector(b)
	v := out.Bytes()
	if o.NoFooter {
		h, _ := hdr.MarshalBinary()
		copy(v, h)
		return v
	}
	marker(1, vmdk.MarkerFooter)
	f, _ := hdr.MarshalBinary()
	out.Write(f)
	out.Write(make([]byte, ss))
	return out.Bytes()
}
