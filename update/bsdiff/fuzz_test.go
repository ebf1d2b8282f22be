package bsdiff

import (
	"bytes"
	"errors"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
)

// FuzzReadHeader: any 32 bytes and limit give a header whose blocks lie
// inside the patch and whose new size is within the limit, or a typed
// error.
func FuzzReadHeader(f *testing.F) {
	quietGC()
	f.Add(craft(14, 14, 10, make([]byte, 42)), int64(100))
	f.Add(craft(0, 0, 1<<40, nil), int64(-1))
	f.Add(craft(-3, 5, 7, make([]byte, 20)), int64(1<<62))
	f.Add([]byte("BSDIFF40"), int64(0))
	f.Fuzz(func(t *testing.T, b []byte, limit int64) {
		h, err := ReadHeader(b, limit)
		if err != nil {
			var pe *PatchError
			if !errors.As(err, &pe) || (!errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge)) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if limit < 0 || h.NewSize < 0 || h.NewSize > limit {
			t.Fatalf("new size %d accepted with limit %d", h.NewSize, limit)
		}
		if h.CtrlLen < 0 || h.DiffLen < 0 || HeaderSize+h.CtrlLen+h.DiffLen > int64(len(b)) {
			t.Fatalf("blocks (%d, %d) outside a patch of %d bytes", h.CtrlLen, h.DiffLen, len(b))
		}
	})
}

// fuzzOld is the old file FuzzControl patches against.
var fuzzOld = testutil.TextBytes(41, 1000)

// triplesBytes encodes control triples as the control block holds them.
func triplesBytes(triples ...[3]int64) []byte {
	b := make([]byte, 24*len(triples))
	for i, tr := range triples {
		offtout(tr[0], b[24*i:])
		offtout(tr[1], b[24*i+8:])
		offtout(tr[2], b[24*i+16:])
	}
	return b
}

// FuzzControl fuzzes the control-triple decoding on its own: the control
// block is the raw input, without bzip2 around it, and the diff and extra
// streams are plain byte slices.
func FuzzControl(f *testing.F) {
	quietGC()
	f.Add(triplesBytes([3]int64{5, 5, 0}), uint16(10), []byte("0123456789abcdef"))
	f.Add(triplesBytes([3]int64{0, 0, -3}, [3]int64{4, 0, 7}, [3]int64{2, 2, 1 << 47}), uint16(8), make([]byte, 10))
	f.Add(triplesBytes([3]int64{1 << 62, 0, 0}), uint16(3), []byte("abc"))
	f.Add(triplesBytes([3]int64{0, 0, 1}, [3]int64{0, 0, 1}, [3]int64{0, 0, 1}), uint16(1), []byte{1})
	f.Add(triplesBytes([3]int64{1, -1, 0}), uint16(4), []byte{})
	f.Fuzz(func(t *testing.T, ctrl []byte, newSize uint16, data []byte) {
		// The triple bound is newSize/8 + 65536, so a run of small
		// triples could cost 65536 iterations: cap the control block.
		if len(ctrl) > 24*4096 {
			ctrl = ctrl[:24*4096]
		}
		out := make([]byte, newSize%4096)
		n, err := applyControl(out, fuzzOld, bytes.NewReader(ctrl), bytes.NewReader(data), bytes.NewReader(data))
		if n < 0 || n > int64(len(out)) {
			t.Fatalf("filled %d of %d bytes", n, len(out))
		}
		if err != nil {
			var pe *PatchError
			if !errors.As(err, &pe) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if n != int64(len(out)) {
			t.Fatalf("success after filling %d of %d bytes", n, len(out))
		}
	})
}
