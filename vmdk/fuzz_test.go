package vmdk_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/fogkit/fogkit/vmdk"
)

// The stream fuzzers take a compact description (see expandOps) of a tiny
// stream (8-sector grains, small grain tables) rather than disks written
// by Write, whose 64 KiB of header area and 64 KiB grains made every exec,
// and above all every minimisation of a new input, slow. The header and
// the descriptor also have targets of their own.

// streamSeeds are expandOps inputs: a valid stream with two grain tables
// and a block without one, grains without a table, wrong sizes and
// payloads, a hand-made marker, a flipped byte, the footer-less layout
// (gdOffset in the header), a header with 8 KiB grains and 128-entry
// tables, an empty descriptor, and a stream cut short.
func streamSeeds() [][3][]byte {
	hdr, desc := tinyParts()
	valid := []byte{0, 0, 0, 0, 1, 0, 1, 0, 0, 5, 0, 1, 0, 0, 9, 0, 1, 0, 7}
	// The footer-less layout: grain 1 (sector 2), its table (marker at 3,
	// data at 4), the directory (marker at 5, data at 6), nothing after.
	noFooter := bytes.Clone(hdr)
	binary.LittleEndian.PutUint64(noFooter[56:], 6)
	big := bytes.Clone(hdr)
	binary.LittleEndian.PutUint64(big[20:], 16)
	binary.LittleEndian.PutUint32(big[44:], 128)
	return [][3][]byte{
		{hdr, desc, valid},
		{hdr, desc, []byte{0, 0, 0, 0, 1, 0, 7}},
		{hdr, desc, []byte{0, 2, 1, 0, 1, 0, 1, 4, 0, 3, 10, 1, 2, 2, 6, 2, 3, 3, 2, 4, 4}},
		{hdr, desc, []byte{0, 3, 3, 0, 3, 8, 1, 5, 2, 1, 3, 3, 4, 4}},
		{hdr, desc, []byte{5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 15, 0, 0, 7, 4}},
		{hdr, desc, []byte{0, 0, 0, 1, 0, 6, 0, 20, 1, 7}},
		{noFooter, desc, []byte{0, 1, 0, 1, 0, 2, 0}},
		{big, desc, []byte{0, 3, 0, 0, 130, 0, 1, 0, 7}},
		{hdr, nil, valid},
		{hdr, desc, valid[:9]},
	}
}

// checkErr fails on an error that matches none of the sentinels (context
// errors cannot happen: the fuzzers never cancel).
func checkErr(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, io.EOF) && !isTyped(err) {
		t.Fatalf("untyped error: %v", err)
	}
}

func verifyBounded(t *testing.T, b []byte) *vmdk.Report {
	t.Helper()
	rep, err := vmdk.Verify(context.Background(), bytes.NewReader(b), &vmdk.VerifyOptions{MaxFindings: 10})
	if rep == nil {
		t.Fatal("nil report")
	}
	checkErr(t, err)
	if len(rep.Findings) > 10 {
		t.Fatalf("%d findings over the cap", len(rep.Findings))
	}
	if rep.Size > int64(len(b)) {
		t.Fatalf("report says %d bytes read of %d", rep.Size, len(b))
	}
	return rep
}

// readSome opens b and reads a few spans of the disk: the start, a span
// across a grain boundary, the middle and the end.
func readSome(t *testing.T, b []byte) {
	t.Helper()
	d, err := vmdk.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		checkErr(t, err)
		return
	}
	buf := make([]byte, 6000)
	g := int64(d.Header().GrainSize) * vmdk.SectorSize
	for _, off := range []int64{0, g - 100, d.Size() / 2, d.Size() - 1000} {
		if off < 0 {
			continue
		}
		n, err := d.ReadAt(buf, off)
		checkErr(t, err)
		if n > len(buf) || (err == nil && n != len(buf)) {
			t.Fatalf("ReadAt returned %d, %v", n, err)
		}
	}
}

// FuzzVerify fuzzes Verify on streams built by expandOps from a header,
// a descriptor and a list of records.
func FuzzVerify(f *testing.F) {
	quietGC()
	for _, s := range streamSeeds() {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, hdr, desc, ops []byte) {
		verifyBounded(t, expandOps(hdr, desc, ops))
	})
}

// FuzzReader fuzzes Open and ReadAt on the same streams.
func FuzzReader(f *testing.F) {
	quietGC()
	for _, s := range streamSeeds() {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, hdr, desc, ops []byte) {
		readSome(t, expandOps(hdr, desc, ops))
	})
}

// FuzzHeader fuzzes the header sector on its own: decoding, re-encoding,
// and Open and Verify of a stream that is just that sector. Inputs
// shorter than a sector are zero-filled, so the seeds (and what the
// fuzzer keeps) are the 79 bytes that hold fields.
func FuzzHeader(f *testing.F) {
	quietGC()
	hdr, _ := tinyParts()
	f.Add(hdr)
	f.Add(streamSeeds()[6][0])
	f.Add(streamSeeds()[7][0])
	f.Add([]byte("KDMV"))
	f.Add(make([]byte, 600))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < vmdk.SectorSize {
			b = append(bytes.Clone(b), make([]byte, vmdk.SectorSize-len(b))...)
		}
		var h vmdk.Header
		if err := h.UnmarshalBinary(b); err != nil {
			checkErr(t, err)
			return
		}
		enc, err := h.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc[:79], b[:79]) {
			t.Fatalf("header does not round-trip")
		}
		readSome(t, b)
		verifyBounded(t, b)
	})
}

// FuzzDescriptor fuzzes the descriptor text parser.
func FuzzDescriptor(f *testing.F) {
	quietGC()
	_, desc := tinyParts()
	f.Add(desc)
	f.Add([]byte("RW 10 SPARSE \"a b.vmdk\"\r\nCID=x\nddb.k = \"v\"\n\x00junk"))
	f.Add([]byte("RDONLY 18446744073709551615 FLAT\tx\nparentCID=1\nRW -1 SPARSE \"q"))
	f.Fuzz(func(t *testing.T, text []byte) {
		d, err := vmdk.ParseDescriptor(text)
		if err != nil {
			checkErr(t, err)
			return
		}
		for k := range d.DDB {
			if !strings.HasPrefix(k, "ddb.") {
				t.Fatalf("DDB key %q", k)
			}
		}
		for _, e := range d.Extents {
			if e.Access != "RW" && e.Access != "RDONLY" && e.Access != "NOACCESS" {
				t.Fatalf("extent access %q", e.Access)
			}
		}
	})
}
