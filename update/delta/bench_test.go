package delta

import (
	"bytes"
	"testing"
)

func BenchmarkDiff(b *testing.B) {
	old, nw := genPair("insertions", 16<<20, 9)
	b.SetBytes(int64(len(nw)))
	for b.Loop() {
		var buf bytes.Buffer
		if err := Diff(b.Context(), &buf, bytes.NewReader(old), int64(len(old)), bytes.NewReader(nw), int64(len(nw)), nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApply(b *testing.B) {
	old, nw := genPair("insertions", 16<<20, 9)
	patch := diffBytes(b, old, nw, nil)
	b.SetBytes(int64(len(nw)))
	for b.Loop() {
		if _, err := Apply(b.Context(), &countWriter{}, bytes.NewReader(old), int64(len(old)), bytes.NewReader(patch), nil); err != nil {
			b.Fatal(err)
		}
	}
}
