package vmdk_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/fogkit/fogkit/vmdk"
)

// The fuzz seeds are tinyStream disks (8-sector grains, small grain
// tables) rather than disks written by Write, whose 64 KiB of header area
// and 64 KiB grains made every exec, and above all every minimisation of
// a new input, slow. FuzzInspect and FuzzReader take them in
// compactSectors' encoding (a few hundred bytes); FuzzMarkers takes a
// compact description of the records after the header; the header and
// the descriptor have targets of their own.

// fuzzSeeds returns small streams: a tiny disk with two grain tables, one
// with 8 KiB grains and a larger table, the footer-less layout, an empty
// disk, a stream cut short, and a header alone.
func fuzzSeeds() [][]byte {
	v := tinyStream(tinyOpts{Grains: 6, Fill: []int{0, 5}})
	w := tinyStream(tinyOpts{GrainSectors: 16, GTEs: 128, Grains: 300, Fill: []int{3, 299}})
	fl := tinyStream(tinyOpts{Grains: 3, Fill: []int{1}, NoFooter: true})
	empty := tinyStream(tinyOpts{Grains: 1, Fill: []int{}})
	return [][]byte{v, w, fl, empty, v[:len(v)/1024*512], v[:512]}
}

// checkErr fails on an error that matches none of the sentinels (context
// errors cannot happen: the fuzzers never cancel).
func checkErr(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, io.EOF) && !isTyped(err) {
		t.Fatalf("untyped error: %v", err)
	}
}

func inspectBounded(t *testing.T, b []byte) *vmdk.Report {
	t.Helper()
	rep, err := vmdk.Inspect(context.Background(), bytes.NewReader(b), &vmdk.InspectOptions{MaxFindings: 10})
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

// FuzzInspect fuzzes Inspect on whole streams in compactSectors'
// encoding.
func FuzzInspect(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(compactSectors(s))
	}
	f.Fuzz(func(t *testing.T, c []byte) {
		inspectBounded(t, expandSectors(c))
	})
}

// FuzzReader fuzzes Open and ReadAt on whole streams in compactSectors'
// encoding.
func FuzzReader(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(compactSectors(s))
	}
	f.Fuzz(func(t *testing.T, c []byte) {
		readSome(t, expandSectors(c))
	})
}

// tinyPrefix is the header and descriptor of tinyStream's default disk,
// the start of every stream expandOps builds.
var tinyPrefix = tinyStream(tinyOpts{})[:2*vmdk.SectorSize]

// FuzzMarkers fuzzes the marker walk of Inspect and the reader with
// compact descriptions (see expandOps) of what follows a fixed header and
// descriptor: grain records, tables, directories, footers, end-of-stream.
func FuzzMarkers(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 1, 0, 1, 0, 0, 5, 0, 1, 0, 0, 9, 0, 1, 0, 7}) // a valid stream
	f.Add([]byte{0, 0, 0, 1, 0, 7})                                        // grains without a table
	f.Add([]byte{0, 2, 1, 0, 1, 0, 1, 4, 0, 3, 10, 1, 2, 2, 6, 2, 3, 3, 2, 4, 4})
	f.Add([]byte{0, 3, 3, 0, 3, 8, 1, 5, 2, 1, 3, 3, 4, 4})
	f.Add([]byte{5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 15, 0, 0, 7, 4})
	f.Add([]byte{0, 0, 0, 1, 0, 6, 0, 20, 1, 7})
	f.Fuzz(func(t *testing.T, ops []byte) {
		b := expandOps(ops)
		inspectBounded(t, b)
		readSome(t, b)
	})
}

// FuzzHeader fuzzes the header sector on its own: decoding, re-encoding,
// and Open and Inspect of a stream that is just that sector.
func FuzzHeader(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s[:vmdk.SectorSize])
	}
	f.Add(make([]byte, 100))
	f.Fuzz(func(t *testing.T, b []byte) {
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
		inspectBounded(t, b)
	})
}

// FuzzDescriptor fuzzes the descriptor text parser.
func FuzzDescriptor(f *testing.F) {
	f.Add(bytes.TrimRight(tinyPrefix[vmdk.SectorSize:], "\x00"))
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
