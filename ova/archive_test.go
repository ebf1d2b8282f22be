package ova

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOpenAndRead(t *testing.T) {
	ova, res := buildOVA(t, nil)
	a, err := Open(bytes.NewReader(ova), int64(len(ova)), nil)
	require.NoError(t, err)
	assert.Equal(t, "app", a.Name())
	entries := a.Entries()
	require.Len(t, entries, len(res.Entries))
	for i, e := range entries {
		assert.Equal(t, res.Entries[i].Name, e.Name)
		assert.Equal(t, res.Entries[i].Kind, e.Kind)
		assert.Equal(t, res.Entries[i].Offset, e.Offset)
		assert.Equal(t, res.Entries[i].Digest, e.Digest, "manifest digest of %s", e.Name)
	}
	assert.Equal(t, testDescriptor("app", testFiles()), a.Descriptor())
	assert.Equal(t, res.Certificate, a.Certificate())
	assert.Len(t, a.Manifest(), 3)

	for _, f := range testFiles() {
		r, err := a.Member(f.Name)
		require.NoError(t, err)
		got, err := io.ReadAll(r)
		require.NoError(t, err)
		rc, _ := f.Open()
		want, _ := io.ReadAll(rc)
		assert.Equal(t, want, got)
	}
	_, err = a.Member("nope")
	require.ErrorIs(t, err, ErrMissing)
}

func TestExtract(t *testing.T) {
	ova, _ := buildOVA(t, nil)
	a, err := Open(bytes.NewReader(ova), int64(len(ova)), nil)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "out")
	var events int
	require.NoError(t, a.Extract(t.Context(), dir, &ExtractOptions{Progress: func(Event) { events++ }}))
	assert.NotZero(t, events)
	for _, m := range members(t, ova) {
		got, err := os.ReadFile(filepath.Join(dir, m.name))
		require.NoError(t, err)
		assert.Equal(t, m.data, got, m.name)
	}
	// Never overwrites.
	require.Error(t, a.Extract(t.Context(), dir, nil))

	// Size cap: checked before anything is written.
	capped := filepath.Join(t.TempDir(), "capped")
	require.ErrorIs(t, a.Extract(t.Context(), capped, &ExtractOptions{MaxSize: 1000}), ErrTooLarge)
	_, err = os.Stat(capped)
	assert.True(t, os.IsNotExist(err))

	// A member failing its digest is removed again.
	m := members(t, ova)
	m[4].data[7] ^= 1
	bad := rawTar(t, m)
	a, err = Open(bytes.NewReader(bad), int64(len(bad)), nil)
	require.NoError(t, err)
	dir = t.TempDir()
	err = a.Extract(t.Context(), dir, nil)
	assertFileErr(t, err, ErrDigestMismatch, "app-disk2.vmdk")
	_, err = os.Stat(filepath.Join(dir, "app-disk2.vmdk"))
	assert.True(t, os.IsNotExist(err))
}

// withEntry appends one archive/tar entry after the good archive's members.
func withEntry(t *testing.T, good []byte, h tar.Header, data []byte) []byte {
	raw := rawTar(t, members(t, good))
	var b bytes.Buffer
	b.Write(raw[:len(raw)-2*blockSize])
	tw := tar.NewWriter(&b)
	h.Size = int64(len(data))
	require.NoError(t, tw.WriteHeader(&h))
	_, err := tw.Write(data)
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	return b.Bytes()
}

func TestOpenRefusesUnsafeMembers(t *testing.T) {
	good, _ := buildOVA(t, nil)
	cases := []struct {
		name     string
		hdr      tar.Header
		sentinel error
	}{
		{"dotdot", tar.Header{Name: "../evil", Mode: 0o644, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}, ErrUnsafePath},
		{"nested dotdot", tar.Header{Name: "a/../../evil", Mode: 0o644, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}, ErrUnsafePath},
		{"absolute", tar.Header{Name: "/etc/evil", Mode: 0o644, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}, ErrUnsafePath},
		{"subdir", tar.Header{Name: "d/x.vmdk", Mode: 0o644, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}, ErrUnsafePath},
		{"symlink", tar.Header{Name: "app-link", Linkname: "/etc/passwd", Mode: 0o777, Typeflag: tar.TypeSymlink, Format: tar.FormatUSTAR}, ErrUnsafePath},
		{"hardlink", tar.Header{Name: "app-hard", Linkname: "app.ovf", Mode: 0o644, Typeflag: tar.TypeLink, Format: tar.FormatUSTAR}, ErrUnsafePath},
		{"char device", tar.Header{Name: "null", Mode: 0o666, Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Format: tar.FormatUSTAR}, ErrUnsafePath},
		{"fifo", tar.Header{Name: "fifo", Mode: 0o666, Typeflag: tar.TypeFifo, Format: tar.FormatUSTAR}, ErrUnsafePath},
		{"directory", tar.Header{Name: "dir/", Mode: 0o755, Typeflag: tar.TypeDir, Format: tar.FormatUSTAR}, ErrFormat},
		{"duplicate", tar.Header{Name: "app-disk1.vmdk", Mode: 0o644, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}, ErrDuplicate},
		{"pax", tar.Header{Name: "p.vmdk", Mode: 0o644, Typeflag: tar.TypeReg, PAXRecords: map[string]string{"comment": "c"}, Format: tar.FormatPAX}, ErrFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := withEntry(t, good, c.hdr, nil)
			_, err := Open(bytes.NewReader(bad), int64(len(bad)), nil)
			require.ErrorIs(t, err, c.sentinel)
			_, err = Verify(t.Context(), bytes.NewReader(bad), nil)
			require.ErrorIs(t, err, c.sentinel)
		})
	}
}

func TestExtractRefusesUnlisted(t *testing.T) {
	good, _ := buildOVA(t, nil)
	bad := withEntry(t, good, tar.Header{Name: "extra.sh", Mode: 0o644, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}, []byte("echo hi\n"))
	a, err := Open(bytes.NewReader(bad), int64(len(bad)), nil)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "out")
	assertFileErr(t, a.Extract(t.Context(), dir, nil), ErrUnlisted, "extra.sh")
	_, err = os.Stat(dir)
	assert.True(t, os.IsNotExist(err), "nothing written")

	// No manifest: nothing can be checked, so nothing is extracted.
	m := members(t, good)
	noMF := rawTar(t, []member{m[0], m[3]})
	a, err = Open(bytes.NewReader(noMF), int64(len(noMF)), nil)
	require.NoError(t, err)
	assertFileErr(t, a.Extract(t.Context(), dir, nil), ErrMissing, "app.mf")
}

func TestOpenLimits(t *testing.T) {
	good, _ := buildOVA(t, nil)
	_, err := Open(bytes.NewReader(good), int64(len(good)), &OpenOptions{MaxEntries: 3})
	require.ErrorIs(t, err, ErrTooLarge)
	_, err = Open(bytes.NewReader(good), 1000, nil)
	require.ErrorIs(t, err, ErrFormat)
	_, err = Open(bytes.NewReader(nil), 0, nil)
	require.ErrorIs(t, err, ErrFormat)
}

// A failed Extract leaves the directory as it was: no member placed before
// the failing one, no temporary file.
func TestExtractAllOrNothing(t *testing.T) {
	ova, _ := buildOVA(t, nil)
	m := members(t, ova)
	require.Equal(t, "app-disk2.vmdk", m[4].name)
	m[4].data[7] ^= 1 // the second disk fails its digest
	bad := rawTar(t, m)
	a, err := Open(bytes.NewReader(bad), int64(len(bad)), nil)
	require.NoError(t, err)
	dir := t.TempDir()
	assertFileErr(t, a.Extract(t.Context(), dir, nil), ErrDigestMismatch, "app-disk2.vmdk")
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, left)

	// An existing file is never replaced, and the members placed before
	// reaching it are removed again; the existing file is kept.
	a, err = Open(bytes.NewReader(ova), int64(len(ova)), nil)
	require.NoError(t, err)
	dir = t.TempDir()
	mine := filepath.Join(dir, "app-disk2.vmdk")
	require.NoError(t, os.WriteFile(mine, []byte("mine"), 0o600))
	err = a.Extract(t.Context(), dir, nil)
	require.ErrorIs(t, err, fs.ErrExist)
	left, err = os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, left, 1)
	assert.Equal(t, "app-disk2.vmdk", left[0].Name())
	got, err := os.ReadFile(mine)
	require.NoError(t, err)
	assert.Equal(t, "mine", string(got))
}
