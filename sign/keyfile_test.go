package sign

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadKeyFile(t *testing.T) {
	dir := t.TempDir()
	s, err := GenerateEd25519(rand.Reader, PurposeLicense)
	require.NoError(t, err)
	pub, err := EncodePublicKey(s.Public())
	require.NoError(t, err)
	path := filepath.Join(dir, "license.pub")
	require.NoError(t, os.WriteFile(path, pub, 0o644))

	data, err := ReadKeyFile(path)
	require.NoError(t, err)
	k, err := LoadPublicKey(data, PurposeLicense)
	require.NoError(t, err)
	assert.Equal(t, s.KeyID(), k.KeyID())

	// A file far over the cap is read only one byte past it, and the
	// loaders refuse it.
	huge := filepath.Join(dir, "huge")
	require.NoError(t, os.WriteFile(huge, bytes.Repeat([]byte("A"), 3*MaxKeyFileSize), 0o644))
	data, err = ReadKeyFile(huge)
	require.NoError(t, err)
	assert.Len(t, data, MaxKeyFileSize+1)
	_, err = LoadPublicKey(data, PurposeLicense)
	assert.ErrorIs(t, err, ErrTooLarge)

	_, err = ReadKeyFile(filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestReadPassphraseFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, want string
	}{
		{"lf", "secret\n", "secret"},
		{"crlf", "secret\r\nsecond line\n", "secret"},
		{"no newline", "secret", "secret"},
		{"spaces kept", " se cret \n", " se cret "},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			require.NoError(t, os.WriteFile(p, []byte(tc.content), 0o600))
			got, err := ReadPassphraseFile(p)
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
		})
	}
	long := filepath.Join(dir, "long")
	require.NoError(t, os.WriteFile(long, bytes.Repeat([]byte("x"), MaxPassphraseFileSize+1), 0o600))
	_, err := ReadPassphraseFile(long)
	assert.ErrorIs(t, err, ErrTooLarge)
	// A short first line before a large rest is fine.
	require.NoError(t, os.WriteFile(long, append([]byte("pw\n"), bytes.Repeat([]byte("x"), 2*MaxPassphraseFileSize)...), 0o600))
	got, err := ReadPassphraseFile(long)
	require.NoError(t, err)
	assert.Equal(t, "pw", string(got))
	_, err = ReadPassphraseFile(filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestReadKeyring(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i, purpose := range []Purpose{PurposeLicense, PurposeLicense} {
		s, err := GenerateEd25519(rand.Reader, purpose)
		require.NoError(t, err)
		pub, err := EncodePublicKey(s.Public())
		require.NoError(t, err)
		p := filepath.Join(dir, fmt.Sprintf("k%d.pub", i))
		require.NoError(t, os.WriteFile(p, pub, 0o644))
		paths = append(paths, p)
	}
	ring, err := ReadKeyring(PurposeLicense, paths[0], paths[1])
	require.NoError(t, err)
	assert.Len(t, ring.Keys(), 2)

	// Not a key, a missing file: the error names the file.
	bad := filepath.Join(dir, "bad.pub")
	require.NoError(t, os.WriteFile(bad, []byte("not a key\n"), 0o644))
	_, err = ReadKeyring(PurposeLicense, paths[0], bad)
	assert.ErrorContains(t, err, bad)
	_, err = ReadKeyring(PurposeLicense, filepath.Join(dir, "missing.pub"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}
