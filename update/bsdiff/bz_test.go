package bsdiff

import (
	"bytes"
	"testing"

	"github.com/dsnet/compress/bzip2"
)

// bz compresses b with bzip2 so tests can craft patches.
func bz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := bzip2.NewWriter(&buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
