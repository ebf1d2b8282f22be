package gce_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/fogkit/fogkit/gce"
)

// tinyArchive is a gzip'd tar of one small member written by archive/tar
// (the writer's own archives hold a whole GiB, slow to check per exec).
func tinyArchive(t testing.TB, f tar.Format, typ byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	h := &tar.Header{Name: "disk.raw", Size: 1000, Mode: 0o644, Typeflag: typ, Format: f}
	if typ == tar.TypeDir {
		h.Size = 0
	}
	if err := tw.WriteHeader(h); err != nil {
		t.Fatal(err)
	}
	_, _ = tw.Write(bytes.Repeat([]byte{7}, int(h.Size)))
	_ = tw.Close()
	_ = zw.Close()
	return buf.Bytes()
}

// FuzzCheck feeds anything to Check: no panic, and an error is a
// *FormatError (the fuzzer never cancels).
func FuzzCheck(f *testing.F) {
	f.Add(tinyArchive(f, tar.FormatGNU, tar.TypeReg))
	f.Add(tinyArchive(f, tar.FormatUSTAR, tar.TypeReg))
	f.Add(tinyArchive(f, tar.FormatPAX, tar.TypeReg))
	f.Add(tinyArchive(f, tar.FormatGNU, tar.TypeDir))
	f.Add(sparseSeed(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := gce.Check(t.Context(), bytes.NewReader(b))
		if rep == nil {
			t.Fatal("nil report")
		}
		var fe *gce.FormatError
		if err != nil && !errors.As(err, &fe) {
			t.Fatalf("untyped error: %v", err)
		}
	})
}

// sparseSeed is an old GNU sparse header with an extension block, made
// by the writer, its data and padding cut to what a small archive holds:
// the sizes are rewritten to a 4 KiB file with 6 regions of 1 byte.
func sparseSeed(t testing.TB) []byte {
	raw := make([]byte, 16<<20)
	for i := range 6 {
		raw[i*(2<<20)] = 1
	}
	tgz, _ := write(t, raw, nil)
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	hdr := make([]byte, 1024)
	if _, err := io.ReadFull(zr, hdr); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(hdr)
	_, _ = zw.Write(make([]byte, 6*64<<10+1024))
	_ = zw.Close()
	return buf.Bytes()
}
