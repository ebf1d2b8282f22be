package backup

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/sign"
)

// Every kind of entry comes back as it was, by passphrase and by key,
// into a new directory and over an existing one.
func TestRoundTrip(t *testing.T) {
	key := customerKey(t)
	for _, tc := range []struct {
		name        string
		compression string
		key         bool
	}{
		{"passphrase-zstd", "", false},
		{"key-gzip", "gzip", true},
		{"key-none", "none", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			base := t.TempDir()
			src := filepath.Join(base, "src")
			makeTree(t, src)
			o := testOptions(src)
			o.Compression = tc.compression
			ro := ReadOptions{Passphrase: testPass}
			if tc.key {
				o.Passphrase, o.Recipients = nil, []*sign.OpenPGPPublicKey{key.Public()}
				ro = ReadOptions{Key: key}
			}
			var events []Event
			o.Progress = func(e Event) { events = append(events, e) }
			var buf bytes.Buffer
			m, err := Write(ctx, &buf, o)
			require.NoError(t, err)
			assert.Len(t, m.Skipped, 3, "%q", m.Skipped) // abs-link, db/escape, fifo
			assert.NotEmpty(t, events)

			vm, err := Verify(ctx, bytes.NewReader(buf.Bytes()), &ro)
			require.NoError(t, err)
			assert.Equal(t, m, vm)

			want := stored(snapshot(t, src), "abs-link", "db/escape", "fifo", "cache")
			for _, existing := range []bool{false, true} {
				dst := filepath.Join(base, "dst")
				if existing {
					require.NoError(t, os.MkdirAll(filepath.Join(dst, "old-stuff"), 0o755))
				}
				rm, err := Restore(ctx, bytes.NewReader(buf.Bytes()), dst, &RestoreOptions{ReadOptions: ro, Product: "acme-vault", Sequence: 24})
				require.NoError(t, err)
				assert.Equal(t, m, rm)
				got := snapshot(t, dst)
				dump, err := os.ReadFile(filepath.Join(dst, DefaultStreamDir, "db.sql"))
				require.NoError(t, err)
				assert.Equal(t, "-- dump\nCREATE TABLE t (x int);\n", string(dump))
				delete(got, DefaultStreamDir)
				delete(got, DefaultStreamDir+"/db.sql")
				// The root's mode and time come back too.
				assert.Equal(t, want, got)
				assert.Empty(t, leftovers(t, dst))
				require.NoError(t, os.RemoveAll(dst))
			}
		})
	}
}
