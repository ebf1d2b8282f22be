package qcow2_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/fogkit/fogkit/qcow2"
)

func BenchmarkWrite(b *testing.B) {
	raw := mixed(60, 32<<20)
	for _, comp := range compressions {
		name := comp
		if name == "" {
			name = "plain"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := qcow2.Write(context.Background(), io.Discard, bytes.NewReader(raw), int64(len(raw)), &qcow2.Options{Compression: comp, Workers: 1}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("plain-nodigest", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if _, err := qcow2.Write(context.Background(), io.Discard, bytes.NewReader(raw), int64(len(raw)), &qcow2.Options{Workers: 1, NoDigest: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRead(b *testing.B) {
	raw := mixed(61, 32<<20)
	q, _ := toQcow2(b, raw, &qcow2.Options{Compression: qcow2.CompressionZlib})
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		im, err := qcow2.Open(bytes.NewReader(q), int64(len(q)))
		if err != nil {
			b.Fatal(err)
		}
		for off := int64(0); off < im.Size(); off += int64(len(buf)) {
			if _, err := im.ReadAt(buf, off); err != nil && err != io.EOF {
				b.Fatal(err)
			}
		}
	}
}
