package vmdk_test

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"strconv"
	"testing"

	"github.com/fogkit/fogkit/vmdk"
)

func benchRaw() []byte { return mixed(42, 16<<20) }

func BenchmarkWrite(b *testing.B) {
	raw := benchRaw()
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				_, err := vmdk.Write(context.Background(), io.Discard, bytes.NewReader(raw), int64(len(raw)),
					&vmdk.Options{Workers: workers, ContentID: "bench"})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRead(b *testing.B) {
	raw := benchRaw()
	v, _ := toVMDK(b, raw, nil)
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		d, err := vmdk.Open(bytes.NewReader(v), int64(len(v)))
		if err != nil {
			b.Fatal(err)
		}
		for off := int64(0); off < d.Size(); off += int64(len(buf)) {
			if _, err := d.ReadAt(buf, off); err != nil && err != io.EOF {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	raw := benchRaw()
	v, _ := toVMDK(b, raw, nil)
	b.SetBytes(int64(len(v)))
	for b.Loop() {
		if _, err := vmdk.Verify(context.Background(), bytes.NewReader(v), nil); err != nil {
			b.Fatal(err)
		}
	}
}
