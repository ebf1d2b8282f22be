package sbom_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/fogkit/fogkit/sbom"
)

// BenchmarkWrite describes an uncompressed initramfs of 20,000 files of
// 1 KiB and one Go binary; bytes/s are of the archive.
func BenchmarkWrite(b *testing.B) {
	rb := rootfs.New(nil)
	require.NoError(b, rb.AddFile(rootfs.Entry{Path: "/init", Mode: 0o755}, goBinary(b)))
	for i := range 20000 {
		require.NoError(b, rb.AddFile(rootfs.Entry{Path: fmt.Sprintf("/usr/share/d%03d/f%05d", i%500, i), Mode: 0o644}, testutil.RandomBytes(uint64(i), 1024)))
	}
	var arch bytes.Buffer
	_, err := rb.WriteTo(&arch)
	require.NoError(b, err)
	data := arch.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		in := &sbom.Input{Name: "bench", Initramfs: &sbom.Archive{File: sbom.File{Name: "i", SHA256: hexSHA256(nil)}, R: bytes.NewReader(data)}}
		if _, err := sbom.Write(b.Context(), io.Discard, in, nil); err != nil {
			b.Fatal(err)
		}
	}
}
