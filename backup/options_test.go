package backup

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteOptionErrors(t *testing.T) {
	src := t.TempDir()
	for name, edit := range map[string]func(*Options){
		"compression": func(o *Options) { o.Compression = "lz4" },
		"pattern":     func(o *Options) { o.Exclude = []string{"["} },
		"no dir":      func(o *Options) { o.Dir = "" },
		"stream dup":  func(o *Options) { o.Streams = append(o.Streams, o.Streams[0]) },
	} {
		o := testOptions(src)
		edit(o)
		_, err := Write(t.Context(), &bytes.Buffer{}, o)
		assert.ErrorIs(t, err, ErrMalformed, name)
	}
	o := testOptions(filepath.Join(src, "missing"))
	_, err := Write(t.Context(), &bytes.Buffer{}, o)
	assert.Error(t, err)
}

// Streams never land outside the tree or through a symlink of it.
func TestStreamDir(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "real"), 0o755))
	require.NoError(t, os.Symlink("real", filepath.Join(src, "dumps")))
	var buf bytes.Buffer
	_, err := Write(t.Context(), &buf, testOptions(src))
	require.NoError(t, err)
	for _, sd := range []string{"../out", "/abs"} {
		_, err = Restore(t.Context(), bytes.NewReader(buf.Bytes()), filepath.Join(base, "a"), &RestoreOptions{ReadOptions: ReadOptions{Passphrase: testPass}, Product: "acme-vault", Sequence: 24, StreamDir: sd})
		assert.ErrorIs(t, err, ErrUnsafePath, sd)
	}
	dst := filepath.Join(base, "b")
	_, err = Restore(t.Context(), bytes.NewReader(buf.Bytes()), dst, &RestoreOptions{ReadOptions: ReadOptions{Passphrase: testPass}, Product: "acme-vault", Sequence: 24, StreamDir: "dumps/x"})
	assert.ErrorIs(t, err, ErrUnsafePath)
	assert.NoDirExists(t, dst)
	assert.Empty(t, leftovers(t, dst))
}
