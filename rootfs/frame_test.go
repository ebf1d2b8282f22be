package rootfs

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// FuzzZstdFrame: the frame walker that finds where a zstd member ends
// passes input through unchanged, stops at or before its end, and leaves
// everything after the frame unread, whatever the bytes.
func FuzzZstdFrame(f *testing.F) {
	for _, opts := range [][]zstd.EOption{{zstd.WithEncoderCRC(true)}, {zstd.WithEncoderCRC(false), zstd.WithSingleSegment(true)}} {
		var buf bytes.Buffer
		enc, err := zstd.NewWriter(&buf, append(opts, zstd.WithEncoderConcurrency(1))...)
		if err != nil {
			f.Fatal(err)
		}
		_, _ = enc.Write(bytes.Repeat([]byte("070701 fogkit "), 20))
		_ = enc.Close()
		f.Add(append(buf.Bytes(), "\x00\x00\x1f\x8b"...))
	}
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38, 0x09, 0x00, 0x00, 0x00, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, in []byte) {
		src := bufio.NewReaderSize(bytes.NewReader(in), 64)
		out, err := io.ReadAll(&zstdFrameReader{r: src})
		if !bytes.HasPrefix(in, out) {
			t.Fatalf("passed %d bytes that are not the input's start", len(out))
		}
		if err != nil {
			return
		}
		rest, _ := io.ReadAll(src)
		if !bytes.Equal(rest, in[len(out):]) {
			t.Fatalf("after a frame of %d bytes, %d bytes remain, want %d", len(out), len(rest), len(in)-len(out))
		}
	})
}
