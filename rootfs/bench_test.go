package rootfs_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/rootfs"
)

// benchBuilder holds ~16 MiB in 256 files, half text, half random.
func benchBuilder(b *testing.B, c rootfs.Compression) (*rootfs.Builder, int64) {
	bl := rootfs.New(&rootfs.Options{Compression: c, AllowNoInit: true})
	var total int64
	for i := 0; i < 256; i++ {
		var data []byte
		if i%2 == 0 {
			data = testutil.TextBytes(uint64(i), 64<<10)
		} else {
			data = testutil.RandomBytes(uint64(i), 64<<10)
		}
		total += int64(len(data))
		if err := bl.AddFile(rootfs.Entry{Path: fmt.Sprintf("/d%d/f%d", i%16, i), Mode: 0o644}, data); err != nil {
			b.Fatal(err)
		}
	}
	return bl, total
}

func BenchmarkWrite(b *testing.B) {
	for _, c := range []rootfs.Compression{rootfs.CompressNone, rootfs.CompressGzip, rootfs.CompressZstd} {
		b.Run(string(c), func(b *testing.B) {
			bl, total := benchBuilder(b, c)
			b.SetBytes(total)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bl.WriteTo(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRead(b *testing.B) {
	for _, c := range []rootfs.Compression{rootfs.CompressNone, rootfs.CompressGzip, rootfs.CompressZstd} {
		b.Run(string(c), func(b *testing.B) {
			bl, total := benchBuilder(b, c)
			var buf bytes.Buffer
			if _, err := bl.WriteTo(&buf); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(total)
			b.ReportAllocs()
			for b.Loop() {
				r := rootfs.NewReader(bytes.NewReader(buf.Bytes()), nil)
				for {
					if _, err := r.Next(); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
					if _, err := io.Copy(io.Discard, r); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
