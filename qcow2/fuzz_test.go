package qcow2_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/fogkit/fogkit/qcow2"
)

// The fuzzers take images in a zero-run-length form (see expand): tiny
// images (512-byte clusters) are mostly zeros, and a few hundred bytes of
// input keep every exec, and above all every minimisation of a new input,
// fast.
func fuzzSeeds(f *testing.F) {
	raw := make([]byte, 4<<10)
	for i := 0; i < len(raw); i += 700 {
		copy(raw[i:], "fogkit qcow2 fuzz seed")
	}
	for _, comp := range compressions {
		q, _ := toQcow2(f, raw, &qcow2.Options{ClusterBits: 9, Compression: comp})
		f.Add(compact(q))
	}
	q, _ := toQcow2(f, []byte{1, 2, 3}, &qcow2.Options{ClusterBits: 9})
	f.Add(compact(q))
	q, _ = toQcow2(f, make([]byte, 4096), &qcow2.Options{ClusterBits: 9})
	f.Add(compact(q))
}

// expand turns every 0x00, n pair into n+1 zero bytes; other bytes stay.
func expand(b []byte) []byte {
	out := make([]byte, 0, 4*len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != 0 {
			out = append(out, b[i])
			continue
		}
		n := 1
		if i+1 < len(b) {
			i++
			n = int(b[i]) + 1
		}
		out = append(out, make([]byte, n)...)
	}
	return out
}

// compact is the inverse of expand.
func compact(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); {
		if b[i] != 0 {
			out = append(out, b[i])
			i++
			continue
		}
		n := 0
		for i+n < len(b) && b[i+n] == 0 && n < 256 {
			n++
		}
		out = append(out, 0, byte(n-1))
		i += n
	}
	return out
}

func TestCompactRoundTrip(t *testing.T) {
	q := small(t, "zlib")
	c := compact(q)
	if !bytes.Equal(expand(c), q) {
		t.Fatal("expand(compact(q)) != q")
	}
	t.Logf("%d bytes compact to %d", len(q), len(c))
}

func sentinel(err error) bool {
	for _, s := range []error{qcow2.ErrMalformed, qcow2.ErrUnsupported, qcow2.ErrTooLarge, qcow2.ErrTruncated, qcow2.ErrInvalid} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// FuzzOpen: Open and ReadAt never panic, refuse with a sentinel, and read
// at most a bounded part of a hostile virtual size.
func FuzzOpen(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		b = expand(b)
		im, err := qcow2.Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !sentinel(err) {
				t.Fatalf("error without sentinel: %v", err)
			}
			return
		}
		buf := make([]byte, min(im.Size(), 64<<10))
		for _, off := range []int64{0, im.Size() / 2, im.Size() - int64(len(buf))} {
			_, err := im.ReadAt(buf, off)
			if err != nil && err != io.EOF && !sentinel(err) {
				t.Fatalf("ReadAt: error without sentinel: %v", err)
			}
		}
	})
}

// FuzzInspect: Inspect never panics and refuses with a sentinel.
func FuzzInspect(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		b = expand(b)
		_, err := qcow2.Inspect(t.Context(), bytes.NewReader(b), int64(len(b)))
		if err != nil && !sentinel(err) {
			t.Fatalf("error without sentinel: %v", err)
		}
	})
}
