package testutil

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// update is the conventional -update flag: `go test ./pkg -update` rewrites
// golden files from the current output instead of comparing against them.
var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// Updating reports whether -update was given.
func Updating() bool { return *update }

// Golden compares got with testdata/<name> byte for byte, or rewrites the
// file when -update is set. Output is deterministic, so exact comparison is
// the right test.
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run with -update to create it)", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("golden %s differs (run with -update after checking the change)\n--- want\n%s\n--- got\n%s",
			path, clip(want), clip(got))
	}
}

func clip(b []byte) []byte {
	if len(b) > 4000 {
		return append(b[:4000:4000], "\n…"...)
	}
	return b
}
