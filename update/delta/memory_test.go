package delta

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/stretchr/testify/require"
)

// memDirEnv passes the generated pair to the child process.
const memDirEnv = "FOGKIT_DELTA_MEMTEST_DIR"

// TestApplyMemoryBounded applies the patch of a generated 256 MiB pair in
// a child process (the test binary re-run for this test alone) and fails
// when the child's peak RSS, as the kernel accounts it, exceeds 64 MiB
// plus 24 MiB for the Go runtime and the test binary. The pair is made
// deterministically in the parent (not committed); no timing is checked.
func TestApplyMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a 256 MiB pair")
	}
	dir := os.Getenv(memDirEnv)
	if dir == "" {
		dir = t.TempDir()
		old, nw := genPair("insertions", 256<<20, 42)
		for i := 0; i < len(nw); i += 1 << 20 {
			nw[i] ^= 0x55 // scattered changes in every segment
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, "old"), old, 0o644))
		var patch bytes.Buffer
		require.NoError(t, Diff(t.Context(), &patch, bytes.NewReader(old), int64(len(old)), bytes.NewReader(nw), int64(len(nw)), nil))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "patch"), patch.Bytes(), 0o644))
		sum := sha256.Sum256(nw)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "new.sha256"), []byte(hex.EncodeToString(sum[:])), 0o644))
		t.Logf("pair: old %d, new %d bytes, patch %d bytes", len(old), len(nw), patch.Len())
		old, nw, patch = nil, nil, bytes.Buffer{}
		debug.FreeOSMemory()
		t.Setenv(memDirEnv, dir)
	}
	testutil.Bounded(t, testutil.Bounds{MaxRSS: (64 + 24) << 20}, func(t *testing.T) {
		of, err := os.Open(filepath.Join(dir, "old"))
		require.NoError(t, err)
		defer of.Close()
		st, err := of.Stat()
		require.NoError(t, err)
		pf, err := os.Open(filepath.Join(dir, "patch"))
		require.NoError(t, err)
		defer pf.Close()
		h := sha256.New()
		n, err := Apply(t.Context(), h, of, st.Size(), pf, nil)
		require.NoError(t, err)
		want, err := os.ReadFile(filepath.Join(dir, "new.sha256"))
		require.NoError(t, err)
		require.Equal(t, string(want), hex.EncodeToString(h.Sum(nil)))
		require.Greater(t, n, int64(256<<20))
	})
}

var _ = io.Discard
