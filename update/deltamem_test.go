package update

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
	"testing/fstest"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/sign"
	"github.com/stretchr/testify/require"
)

const bundleMemEnv = "FOGKIT_UPDATE_DELTAMEM_DIR"

// bigTree is version v of a tree with two large images that change a
// little between versions.
func bigTree(v int) Tree {
	img := func(seed uint64) []byte {
		b := testutil.TextBytes(seed, 40<<20)
		for i := 0; i < v; i++ {
			for at := (i + 1) * 777_777; at < len(b); at += 3 << 20 {
				copy(b[at:], []byte("version change "))
			}
		}
		return b
	}
	fsys := fstest.MapFS{
		"disk.img":   {Mode: 0o644, Data: img(1)},
		"initrd.img": {Mode: 0o644, Data: img(2)},
		"version":    {Mode: 0o644, Data: []byte{byte('0' + v)}},
	}
	return Tree{Version: "2." + string(rune('0'+v)), Sequence: uint64(v), FS: fsys}
}

// TestBundleOfLargeDeltasBoundedMemory applies a bundle of two steps,
// each patching two 40 MiB files with fkdelta1, to a real directory in a
// child process, and fails when the child's peak RSS exceeds 64 MiB plus
// 32 MiB for the Go runtime, the test binary and the package's own
// buffers: patches stream, nothing holds a file whole.
func TestBundleOfLargeDeltasBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 80 MiB trees")
	}
	dir := os.Getenv(bundleMemEnv)
	k := testSigner(t, 1)
	ring := testRing(t, k)
	if dir == "" {
		dir = t.TempDir()
		target := filepath.Join(dir, "target")
		require.NoError(t, os.Mkdir(target, 0o755))
		fsys, err := NewOSFS(target)
		require.NoError(t, err)
		o := &BuildOptions{Vendor: "acme", Product: "big", Version: "2.1", Sequence: 1, TempDir: dir}
		var full bytes.Buffer
		_, err = Build(t.Context(), &full, []sign.Signer{k}, bigTree(1), nil, o)
		require.NoError(t, err)
		ao := applyOpts(ring)
		ao.Confirmed, ao.SpoolDir = true, dir
		_, err = Apply(t.Context(), fsys, bytes.NewReader(full.Bytes()), int64(full.Len()), ao)
		require.NoError(t, err)
		full = bytes.Buffer{}
		o = &BuildOptions{Vendor: "acme", Product: "big", Version: "2.3", Sequence: 3, Kind: KindBundle, TempDir: dir, DeltaThreshold: 1 << 20}
		var bundle bytes.Buffer
		br, err := Build(t.Context(), &bundle, []sign.Signer{k}, bigTree(3), []Tree{bigTree(1), bigTree(2)}, o)
		require.NoError(t, err)
		require.Equal(t, 4, formatsOf(br.Manifest)[PatchFormatDelta], "every image patched with fkdelta1")
		t.Logf("bundle: %d bytes", bundle.Len())
		require.NoError(t, os.WriteFile(filepath.Join(dir, "bundle.fup"), bundle.Bytes(), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "want"), []byte(br.Manifest.Tree), 0o644))
		bundle = bytes.Buffer{}
		debug.FreeOSMemory()
		t.Setenv(bundleMemEnv, dir)
	}
	testutil.Bounded(t, testutil.Bounds{MaxRSS: (64 + 32) << 20}, func(t *testing.T) {
		fsys, err := NewOSFS(filepath.Join(dir, "target"))
		require.NoError(t, err)
		f, err := os.Open(filepath.Join(dir, "bundle.fup"))
		require.NoError(t, err)
		defer f.Close()
		st, err := f.Stat()
		require.NoError(t, err)
		ao := applyOpts(ring)
		ao.SpoolDir = dir
		rep, err := Apply(t.Context(), fsys, f, st.Size(), ao)
		require.NoError(t, err)
		require.Equal(t, 2, rep.Steps)
		require.Equal(t, 4, rep.Patched)
		want, err := os.ReadFile(filepath.Join(dir, "want"))
		require.NoError(t, err)
		require.Equal(t, string(want), currentDigest(t, fsys))
	})
}
