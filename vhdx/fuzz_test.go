package vhdx_test

import (
	"context"
	"errors"
	"flag"
	"io"
	"runtime/debug"
	"testing"

	"github.com/fogkit/fogkit/vhdx"
)

// The fuzzers take the parts of a tiny image (see tiny_test.go) rather
// than whole files: a VHDX is at least a few MiB and its structures carry
// CRC-32C checksums the fuzzer could not fix up. The parts overwrite the
// default structures, the checksums are recomputed unless badCRC, and the
// file size is given in KiB (sparse: up to 4 TiB without allocating it).

type fuzzSeed struct {
	hdr, rt, mdt, items, bat []byte
	sizeKiB                  uint32
	badCRC                   bool
}

func fuzzSeeds() []fuzzSeed {
	var seeds []fuzzSeed
	add := func(e edit, sizeKiB uint32, badCRC bool) {
		hdr, rt, mdt, items, bat := tinyParts()
		if e != nil {
			e(hdr, rt, mdt, items, bat)
		}
		seeds = append(seeds, fuzzSeed{hdr, rt, mdt, items, bat, sizeKiB, badCRC})
	}
	add(nil, tinySize>>10, false)
	add(nil, tinySize>>10, true)
	add(nil, 5<<10+1, false)
	add(func(_, rt, _, _, _ []byte) { le.PutUint32(rt[8:], 0xffffffff) }, tinySize>>10, false)
	add(func(_, rt, _, _, _ []byte) { le.PutUint64(rt[32:], tinyMeta) }, tinySize>>10, false)
	add(func(_, _, _, _, b []byte) { le.PutUint64(b[16:], 1<<40|6) }, tinySize>>10, false)
	add(func(_, _, _, it, _ []byte) { le.PutUint64(it[8:], 1<<40) }, tinySize>>10, false)
	add(func(_, _, _, _, b []byte) { le.PutUint64(b[16:], 4<<20|6) }, tinySize>>10, false)
	add(func(_, _, _, it, _ []byte) { le.PutUint32(it[0:], 2<<20); le.PutUint32(it[32:], 4096) }, tinySize>>10, false)
	add(func(h, _, _, _, _ []byte) { h[48] = 1 }, tinySize>>10, false)
	return seeds
}

func quietGC() {
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		debug.SetGCPercent(2000)
	}
}

// checkErr fails on an error that matches none of the sentinels.
func checkErr(t *testing.T, err error) {
	t.Helper()
	if err == nil || errors.Is(err, io.EOF) {
		return
	}
	for _, s := range []error{vhdx.ErrMalformed, vhdx.ErrChecksum, vhdx.ErrUnsupported, vhdx.ErrTooLarge, vhdx.ErrTruncated} {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("untyped error: %v", err)
}

// FuzzOpen fuzzes Open and ReadAt.
func FuzzOpen(f *testing.F) {
	quietGC()
	for _, s := range fuzzSeeds() {
		f.Add(s.hdr, s.rt, s.mdt, s.items, s.bat, s.sizeKiB, s.badCRC)
	}
	f.Fuzz(func(t *testing.T, hdr, rt, mdt, items, bat []byte, sizeKiB uint32, badCRC bool) {
		img := tinyImage(hdr, rt, mdt, items, bat, int64(sizeKiB)<<10, badCRC)
		d, err := vhdx.Open(img, img.size)
		if err != nil {
			checkErr(t, err)
			return
		}
		buf := make([]byte, 6000)
		bs := int64(d.Info().BlockSize)
		for _, off := range []int64{0, bs - 100, d.Size() / 2, d.Size() - 1000} {
			if off < 0 {
				continue
			}
			n, err := d.ReadAt(buf, off)
			checkErr(t, err)
			if n > len(buf) || (err == nil && n != len(buf)) {
				t.Fatalf("ReadAt returned %d, %v", n, err)
			}
		}
	})
}

// FuzzInspect fuzzes Inspect on the same images.
func FuzzInspect(f *testing.F) {
	quietGC()
	for _, s := range fuzzSeeds() {
		f.Add(s.hdr, s.rt, s.mdt, s.items, s.bat, s.sizeKiB, s.badCRC)
	}
	f.Fuzz(func(t *testing.T, hdr, rt, mdt, items, bat []byte, sizeKiB uint32, badCRC bool) {
		img := tinyImage(hdr, rt, mdt, items, bat, int64(sizeKiB)<<10, badCRC)
		rep, err := vhdx.Inspect(context.Background(), img, img.size)
		if err != nil {
			t.Fatalf("Inspect: %v", err)
		}
		if len(rep.Findings) > 100 {
			t.Fatalf("%d findings", len(rep.Findings))
		}
		_, oerr := vhdx.Open(img, img.size)
		if (oerr == nil) != (rep.Info != nil) {
			t.Fatalf("Open %v but Inspect info %v", oerr, rep.Info != nil)
		}
	})
}
