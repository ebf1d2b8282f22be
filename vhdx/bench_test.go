package vhdx_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/fogkit/fogkit/vhdx"
)

// BenchmarkWrite converts 64 MiB with 24 MiB of data in 1 MiB blocks.
func BenchmarkWrite(b *testing.B) {
	raw := rawBytes(64*mib, []island{{0, mixed(1, 16*mib)}, {40 * mib, mixed(2, 8*mib)}})
	for _, nd := range []bool{false, true} {
		name := "digest"
		if nd {
			name = "nodigest"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := vhdx.Write(context.Background(), io.Discard, bytes.NewReader(raw), int64(len(raw)), &vhdx.Options{BlockSize: mib, NoDigest: nd}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRead reads the whole disk back through Open.
func BenchmarkRead(b *testing.B) {
	raw := rawBytes(64*mib, []island{{0, mixed(1, 16*mib)}, {40 * mib, mixed(2, 8*mib)}})
	v, _ := toVHDX(b, raw, &vhdx.Options{BlockSize: mib})
	buf := make([]byte, mib)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		d, err := vhdx.Open(bytes.NewReader(v), int64(len(v)))
		if err != nil {
			b.Fatal(err)
		}
		for off := int64(0); off < d.Size(); off += mib {
			if _, err := d.ReadAt(buf, off); err != nil {
				b.Fatal(err)
			}
		}
	}
}
