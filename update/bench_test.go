package update

import (
	"bytes"
	"context"
	"testing"

	"github.com/fogkit/fogkit/sign"
)

func BenchmarkBuildDiff(b *testing.B) {
	k := testSigner(b, 1)
	for i := 0; i < b.N; i++ {
		var buf bytes.Buffer
		if _, err := Build(context.Background(), &buf, []sign.Signer{k}, tree(2), []Tree{tree(1)}, baseOpts(2, KindDiff)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApplyDiff(b *testing.B) {
	k := testSigner(b, 1)
	ring := testRing(b, k)
	pkg := build(b, k, 2, []int{1}, baseOpts(2, KindDiff))
	b.SetBytes(int64(len(pkg)))
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		m := installed(b, k, ring, 1)
		b.StartTimer()
		if _, err := apply(context.Background(), m, pkg, applyOpts(ring)); err != nil {
			b.Fatal(err)
		}
	}
}
