package qcow2_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/fogkit/fogkit/qcow2"
)

// fuzzSeeds are tiny images (512-byte clusters, a few KiB) so that every
// exec and every minimisation stays fast.
func fuzzSeeds(f *testing.F) {
	for _, comp := range compressions {
		f.Add(small(f, comp))
	}
	q, _ := toQcow2(f, []byte{1, 2, 3}, &qcow2.Options{ClusterBits: 9})
	f.Add(q)
	q, _ = toQcow2(f, make([]byte, 4096), &qcow2.Options{ClusterBits: 9})
	f.Add(q)
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
		_, err := qcow2.Inspect(t.Context(), bytes.NewReader(b), int64(len(b)))
		if err != nil && !sentinel(err) {
			t.Fatalf("error without sentinel: %v", err)
		}
	})
}
