package sign

import (
	"bytes"
	"crypto/rand"
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
