package vmdk_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/fogkit/fogkit/vmdk"
)

// fuzzSeeds returns small VMDKs: ours, an empty disk, the footer-less
// layout, a truncated stream.
func fuzzSeeds(f *testing.F) [][]byte {
	raw := make([]byte, 256<<10)
	copy(raw, "fogkit fuzz seed")
	copy(raw[200<<10:], bytes.Repeat([]byte("grain "), 500))
	var a bytes.Buffer
	if _, err := vmdk.Write(context.Background(), &a, bytes.NewReader(raw), int64(len(raw)), nil); err != nil {
		f.Fatal(err)
	}
	var e bytes.Buffer
	if _, err := vmdk.WriteEmpty(context.Background(), &e, 3<<20, nil); err != nil {
		f.Fatal(err)
	}
	v := a.Bytes()
	fl := bytes.Clone(v[:len(v)-1536])
	binary.LittleEndian.PutUint64(fl[56:], binary.LittleEndian.Uint64(v[len(v)-1024+56:]))
	return [][]byte{v, e.Bytes(), fl, v[:len(v)/2], v[:512]}
}

func FuzzInspect(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := vmdk.Inspect(context.Background(), bytes.NewReader(b), &vmdk.InspectOptions{MaxFindings: 10})
		if rep == nil {
			t.Fatal("nil report")
		}
		if err != nil && !isTyped(err) {
			t.Fatalf("untyped error: %v", err)
		}
		if len(rep.Findings) > 10 {
			t.Fatalf("%d findings over the cap", len(rep.Findings))
		}
	})
}

func FuzzReader(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := vmdk.Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !isTyped(err) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		buf := make([]byte, 100000)
		for _, off := range []int64{0, 65536 - 10, d.Size() - 1000, d.Size() / 2} {
			if off < 0 {
				continue
			}
			if _, err := d.ReadAt(buf, off); err != nil && err.Error() != "EOF" && !isTyped(err) {
				t.Fatalf("untyped error: %v", err)
			}
		}
	})
}
