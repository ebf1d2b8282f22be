package backup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCommandStream(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	require.NoError(t, os.MkdirAll(src, 0o755))
	o := testOptions(src)
	o.Streams = []Stream{CommandStream("dump.sql", "sh", "-c", "echo 'CREATE TABLE t;'; echo progress >&2")}
	var buf bytes.Buffer
	m, err := Write(t.Context(), &buf, o)
	require.NoError(t, err)
	require.Len(t, m.Streams, 1)
	assert.Equal(t, int64(len("CREATE TABLE t;\n")), m.Streams[0].Size)

	dst := filepath.Join(t.TempDir(), "dst")
	_, err = Restore(t.Context(), bytes.NewReader(buf.Bytes()), dst, &RestoreOptions{ReadOptions: ReadOptions{Passphrase: testPass}, Product: "acme-vault", Sequence: 24, StreamDir: "var/dumps"})
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dst, "var/dumps/dump.sql"))
	require.NoError(t, err)
	assert.Equal(t, "CREATE TABLE t;\n", string(b))

	// A dump that fails fails the backup, quoting its error output.
	o.Streams = []Stream{CommandStream("dump.sql", "sh", "-c", "echo partial; echo 'connection refused' >&2; exit 3")}
	_, err = Write(t.Context(), &bytes.Buffer{}, o)
	assert.ErrorIs(t, err, ErrStream)
	assert.ErrorContains(t, err, "connection refused")

	// So does one that cannot start or breaks while read.
	o.Streams = []Stream{CommandStream("x", "/nonexistent/dump")}
	_, err = Write(t.Context(), &bytes.Buffer{}, o)
	assert.ErrorIs(t, err, ErrStream)
	broken := errors.New("disk error")
	o.Streams = []Stream{{Name: "x", Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(bytes.NewReader([]byte("abc")), errReader{broken})), nil
	}}}
	_, err = Write(t.Context(), &bytes.Buffer{}, o)
	assert.ErrorIs(t, err, ErrStream)
	assert.ErrorIs(t, err, broken)

	// Bad names.
	for _, n := range []string{"", "..", "a/b", "x y"} {
		o.Streams = []Stream{{Name: n, Open: staticStream("")}}
		_, err = Write(t.Context(), &bytes.Buffer{}, o)
		assert.ErrorIs(t, err, ErrMalformed, n)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// A file that changes between its listing and its reading fails the
// backup: a backup is a consistent copy or nothing.
func TestFileChanged(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	makeTree(t, src)
	o := testOptions(src)
	o.Progress = func(e Event) {
		if e.Stage == "file" && e.File == "config/app.yaml" {
			f, err := os.OpenFile(filepath.Join(src, "config/app.yaml"), os.O_APPEND|os.O_WRONLY, 0)
			require.NoError(t, err)
			f.WriteString("more: 1\n")
			f.Close()
		}
	}
	_, err := Write(t.Context(), &bytes.Buffer{}, o)
	assert.ErrorIs(t, err, ErrChanged)
	var pe *PathError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "config/app.yaml", pe.Path)
}

// Cancelling stops a backup and a restore; the restore leaves nothing.
func TestCancel(t *testing.T) {
	data, dst, before := backupOf(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	n := 0
	_, err := Restore(ctx, bytes.NewReader(data), dst, &RestoreOptions{ReadOptions: ReadOptions{Passphrase: testPass, Progress: func(Event) {
		if n++; n == 3 {
			cancel()
		}
	}}, Product: "acme-vault", Sequence: 24})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, before, snapshot(t, dst))
	assert.Empty(t, leftovers(t, dst))
}
