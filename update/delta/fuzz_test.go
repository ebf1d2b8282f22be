package delta

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"testing"
)

// FuzzApply feeds arbitrary patches to Apply. The header's old size and
// digest are set to match the fuzzed old file, so the fuzzer reaches the
// segment parser instead of stopping at the base check. Apply must never
// panic, never write more than the header declares, and return either
// nil or an error.
func FuzzApply(f *testing.F) {
	for i, shape := range []string{"insertions", "moved", "edits", "allnew", "emptynew"} {
		old, nw := genPair(shape, 3000, uint64(i))
		f.Add(old, diffBytes(f, old, nw, &Options{Workers: 1}))
	}
	old := []byte("fogkit")
	f.Add(old, cat(header(old, 3, sha256.Sum256([]byte("abc"))), plainSeg(3, ops(0, 3, 0), nil, []byte("abc"))))
	f.Fuzz(func(t *testing.T, old, patch []byte) {
		if len(patch) >= HeaderSize {
			patch = bytes.Clone(patch)
			binary.BigEndian.PutUint64(patch[8:], uint64(len(old)))
			sum := sha256.Sum256(old)
			copy(patch[28:60], sum[:])
		}
		var declared int64 = -1
		if h, err := ReadHeader(bytes.NewReader(patch)); err == nil {
			declared = h.NewSize
		}
		cw := &countWriter{}
		n, err := Apply(t.Context(), cw, bytes.NewReader(old), int64(len(old)), bytes.NewReader(patch), &ApplyOptions{MaxNewSize: 64 << 20})
		if n != cw.n {
			t.Fatalf("Apply reports %d bytes, wrote %d", n, cw.n)
		}
		if cw.n > 0 && cw.n > declared {
			t.Fatalf("wrote %d bytes, header declares %d", cw.n, declared)
		}
		if err == nil && n != declared {
			t.Fatalf("success with %d bytes, header declares %d", n, declared)
		}
	})
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

var _ io.Writer = (*countWriter)(nil)
