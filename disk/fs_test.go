package disk

import (
	"io/fs"
	"os"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

// TestImageFS checks the ESP as an fs.FS with the standard library's
// checker, and that every file reads back what Files hashed.
func TestImageFS(t *testing.T) {
	path, res := buildTemp(t, smallSpec(), &Options{Seed: "fs"})
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	im, err := Open(f, st.Size())
	require.NoError(t, err)
	img := im.ESP()
	var names []string
	for _, fi := range res.Files {
		names = append(names, fi.Path)
	}
	require.NoError(t, fstest.TestFS(img, names...))
	for _, fi := range res.Files {
		b, err := fs.ReadFile(img, fi.Path)
		require.NoError(t, err)
		require.Equal(t, fi.SHA256, sha(b), fi.Path)
		info, err := fs.Stat(img, fi.Path)
		require.NoError(t, err)
		require.Equal(t, fs.FileMode(0o644), info.Mode())
	}
	for _, bad := range []string{"/vmlinuz", "../vmlinuz", "VMLINUZ", "nosuch", "loader/"} {
		_, err := img.Open(bad)
		require.Error(t, err, bad)
	}
	d, err := fs.Stat(img, "loader/entries")
	require.NoError(t, err)
	require.True(t, d.IsDir())
}
