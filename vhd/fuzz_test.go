package vhd_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/fogkit/fogkit/vhd"
)

// tinyDynamic is a 4 KiB dynamic disk with 512-byte blocks, two of them
// stored: the smallest layout that exercises the table, bitmaps and
// blocks (the writer's own 2 MiB blocks make slow fuzz inputs).
func tinyDynamic(t testing.TB) []byte {
	var buf bytes.Buffer
	if _, err := vhd.Write(t.Context(), &buf, bytes.NewReader(make([]byte, 4096)), 4096, &vhd.Options{Type: vhd.TypeDynamic}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	footer := bytes.Clone(b[len(b)-512:])
	be := binary.BigEndian
	editHeader(b, func(h []byte) {
		be.PutUint32(h[28:], 8)
		be.PutUint32(h[32:], 512)
	})
	bat := b[1536:2048]
	be.PutUint32(bat[0:], 4)
	be.PutUint32(bat[8:], 6)
	block := func(fill byte) []byte {
		return append(bytes.Repeat([]byte{0x80}, 512), bytes.Repeat([]byte{fill}, 512)...)
	}
	out := append(bytes.Clone(b[:2048]), block(0xA1)...)
	out = append(out, block(0xB2)...)
	return append(out, footer...)
}

// FuzzOpen opens anything as a VHD: no panic, only typed errors, and an
// opened disk reads (a bounded sample of it) without untyped errors;
// Inspect agrees with Open.
func FuzzOpen(f *testing.F) {
	fixed, _ := write(f, image(1000, "mixed"), nil)
	dyn := tinyDynamic(f)
	f.Add(fixed)
	f.Add(dyn)
	f.Add(dyn[:len(dyn)-512])
	f.Add(fixed[len(fixed)-512:])
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		d, err := vhd.Open(r, int64(len(b)))
		_, ierr := vhd.Inspect(t.Context(), r, int64(len(b)))
		if (err == nil) != (ierr == nil) {
			t.Fatalf("Open: %v, Inspect: %v", err, ierr)
		}
		if err != nil {
			var fe *vhd.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		buf := make([]byte, 4096)
		// The start, the end, and up to 64 spots between.
		step := max(d.Size()/64, 4096)
		for off := int64(0); off < d.Size(); off += step {
			readCheck(t, d, buf, off)
		}
		readCheck(t, d, buf, max(0, d.Size()-4096))
	})
}

func readCheck(t *testing.T, d *vhd.Disk, buf []byte, off int64) {
	n, err := d.ReadAt(buf, off)
	if err != nil && !(errors.Is(err, io.EOF) && int64(n) == d.Size()-off) {
		var fe *vhd.FormatError
		if !errors.As(err, &fe) {
			t.Fatalf("ReadAt %d: untyped error %v", off, err)
		}
	}
}

// The tiny dynamic seed reads as intended: blocks 0 and 2 stored.
func TestTinyDynamic(t *testing.T) {
	img := tinyDynamic(t)
	got := readAll(t, img)
	want := make([]byte, 4096)
	copy(want[0:512], bytes.Repeat([]byte{0xA1}, 512))
	copy(want[1024:1536], bytes.Repeat([]byte{0xB2}, 512))
	if !bytes.Equal(want, got) {
		t.Fatal("tiny dynamic disk reads wrong")
	}
}
