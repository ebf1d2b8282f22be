package ova

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
)

const benchSize = 64 << 20

func benchFiles(b *testing.B, prehashed bool) ([]File, []byte) {
	data := testutil.RandomBytes(9, benchSize)
	f := BytesFile("bench-disk1.vmdk", data)
	if prehashed {
		sum := sha256.Sum256(data)
		f.Digest = sum[:]
	}
	files := []File{f}
	return files, testDescriptor("bench", files)
}

// BenchmarkWritePrehashed writes a 64 MiB OVA whose member digest is known:
// the cost over a copy is headers, the manifest and padding.
func BenchmarkWritePrehashed(b *testing.B) {
	files, desc := benchFiles(b, true)
	b.SetBytes(benchSize)
	for b.Loop() {
		if _, err := Write(context.Background(), io.Discard, desc, files, &Options{Name: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteHashing adds the writer's own SHA-256 pass.
func BenchmarkWriteHashing(b *testing.B) {
	files, desc := benchFiles(b, false)
	b.SetBytes(benchSize)
	for b.Loop() {
		if _, err := Write(context.Background(), io.Discard, desc, files, &Options{Name: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures one streaming verification pass.
func BenchmarkVerify(b *testing.B) {
	files, desc := benchFiles(b, true)
	var buf bytes.Buffer
	if _, err := Write(context.Background(), &buf, desc, files, &Options{Name: "bench", Signer: testSigner(b)}); err != nil {
		b.Fatal(err)
	}
	ova := buf.Bytes()
	b.SetBytes(int64(len(ova)))
	for b.Loop() {
		if _, err := Verify(context.Background(), bytes.NewReader(ova), nil); err != nil {
			b.Fatal(err)
		}
	}
}
