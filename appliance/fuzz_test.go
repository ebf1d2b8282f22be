package appliance

import (
	"context"
	"errors"
	"testing"
)

// FuzzRecord feeds build records to the parser and, when one parses, to
// Verify over an empty directory: a record from a previous build's
// directory is outside input, and its output paths must never reach
// outside the directory Verify is given.
func FuzzRecord(f *testing.F) {
	f.Add([]byte(`{"format":"fogkit-build-v2","spec":{"name":"a","epoch":"2026-01-01T00:00:00Z"},"outputs":[{"name":"a.ova","path":"a.ova","size":1,"sha256":"00"}]}`))
	f.Add([]byte(`{"format":"fogkit-build-v2","spec":{},"outputs":[{"path":"../etc/passwd"}]}`))
	f.Add([]byte(`{"format":"fogkit-build-v2","spec":{},"outputs":[{"path":"/etc/passwd"}]}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseRecord(b)
		if err != nil {
			if !errors.Is(err, ErrRecord) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if err := r.Verify(context.Background(), dir); err != nil && !errors.Is(err, ErrRecord) {
			t.Fatalf("untyped error %v", err)
		}
	})
}
