package backup

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Same tree and options, same plaintext bytes, for every compression.
func TestBuildTwice(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	makeTree(t, src)
	for _, c := range []string{"none", "zstd", "gzip"} {
		var a, b bytes.Buffer
		o := testOptions(src)
		o.Compression = c
		ma, err := writePlain(t.Context(), &a, o)
		require.NoError(t, err)
		mb, err := writePlain(t.Context(), &b, o)
		require.NoError(t, err)
		assert.Equal(t, ma, mb)
		assert.True(t, bytes.Equal(a.Bytes(), b.Bytes()), "%s: plaintexts differ", c)
	}
	// The encrypted backups differ (fresh session keys and salts) but read
	// back to the same manifest.
	var a, b bytes.Buffer
	_, err := Write(t.Context(), &a, testOptions(src))
	require.NoError(t, err)
	_, err = Write(t.Context(), &b, testOptions(src))
	require.NoError(t, err)
	assert.NotEqual(t, a.Bytes(), b.Bytes())
}
