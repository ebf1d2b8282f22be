package update

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/update/updatetest"
	"github.com/stretchr/testify/require"
)

// linkTrees: v1 and v2 share the files a, b (same content) and c; v2
// changes v.
func linkTrees(v int) Tree {
	return Tree{Version: "l" + string(rune('0'+v)), Sequence: uint64(v), FS: fstest.MapFS{
		"a": {Mode: 0o644, Data: []byte("same content")},
		"b": {Mode: 0o644, Data: []byte("same content")},
		"c": {Mode: 0o644, Data: []byte("kept file")},
		"v": {Mode: 0o644, Data: bytes.Repeat([]byte{byte('0' + v)}, 100)},
	}}
}

func linkPackages(t *testing.T, k sign.Signer) (full, diff, diff3 []byte) {
	t.Helper()
	var f, d, d3 bytes.Buffer
	_, err := Build(t.Context(), &f, signers(k), linkTrees(1), nil, &BuildOptions{Vendor: "acme", Product: "demo", Version: "l1", Sequence: 1})
	require.NoError(t, err)
	_, err = Build(t.Context(), &d, signers(k), linkTrees(2), []Tree{linkTrees(1)}, &BuildOptions{Vendor: "acme", Product: "demo", Version: "l2", Sequence: 2, Kind: KindDiff})
	require.NoError(t, err)
	_, err = Build(t.Context(), &d3, signers(k), linkTrees(3), []Tree{linkTrees(2)}, &BuildOptions{Vendor: "acme", Product: "demo", Version: "l3", Sequence: 3, Kind: KindDiff})
	require.NoError(t, err)
	return f.Bytes(), d.Bytes(), d3.Bytes()
}

// TestHardLinkedBaseIsCopied: a base file that shares its inode with a
// file outside the target, or with another path of the same slot, is
// copied into the new slot, never linked; files linked only by Apply
// itself (with the previous slot) are still linked.
func TestHardLinkedBaseIsCopied(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	full, diff, diff3 := linkPackages(t, k)
	top := t.TempDir()
	dir := filepath.Join(top, "target")
	require.NoError(t, os.Mkdir(dir, 0o755))
	fsys, err := NewOSFS(dir)
	require.NoError(t, err)
	defer fsys.Close()
	o := applyOpts(ring)
	o.Confirmed = true
	_, err = apply(t.Context(), fsys, full, o)
	require.NoError(t, err)
	st, err := ReadState(fsys)
	require.NoError(t, err)
	cur := filepath.Join(dir, st.Current.Dir())

	// c is also reachable from outside the target; b is a second name of a.
	outside := filepath.Join(top, "outside")
	require.NoError(t, os.Link(filepath.Join(cur, "c"), outside))
	require.NoError(t, os.Remove(filepath.Join(cur, "b")))
	require.NoError(t, os.Link(filepath.Join(cur, "a"), filepath.Join(cur, "b")))

	rep, err := apply(t.Context(), fsys, diff, o)
	require.NoError(t, err)
	require.Equal(t, 0, rep.Reused)
	require.Equal(t, 3, rep.Copied)
	next := filepath.Join(dir, rep.To.Dir())
	stat := func(p string) os.FileInfo {
		fi, err := os.Lstat(p)
		require.NoError(t, err)
		return fi
	}
	require.False(t, os.SameFile(stat(outside), stat(filepath.Join(next, "c"))), "new slot shares an inode with a file outside the target")
	require.False(t, os.SameFile(stat(filepath.Join(next, "a")), stat(filepath.Join(next, "b"))), "a and b must be independent files")
	require.False(t, os.SameFile(stat(filepath.Join(cur, "a")), stat(filepath.Join(next, "a"))))
	got, err := ScanTree(os.DirFS(next))
	require.NoError(t, err)
	require.Equal(t, treeDigestOf(t, linkTrees(2).FS), TreeDigest(got))

	// The files are now only linked by Apply: the next update links them
	// (each has a second name in the previous slot, and no other).
	require.NoError(t, os.Link(filepath.Join(next, "c"), filepath.Join(next, "..", "..", "x")))
	rep, err = apply(t.Context(), fsys, diff3, o)
	require.NoError(t, err)
	require.Equal(t, 2, rep.Reused, "a and b linked")
	require.Equal(t, 1, rep.Copied, "c has a name outside the slots")

	// a and b now have a second name in the previous slot, made by Apply:
	// still linked (and c, copied last time, has only its own name).
	var d4 bytes.Buffer
	_, err = Build(t.Context(), &d4, signers(k), linkTrees(4), []Tree{linkTrees(3)}, &BuildOptions{Vendor: "acme", Product: "demo", Version: "l4", Sequence: 4, Kind: KindDiff})
	require.NoError(t, err)
	prev := filepath.Join(dir, rep.To.Dir())
	require.True(t, os.SameFile(stat(filepath.Join(next, "a")), stat(filepath.Join(prev, "a"))))
	rep, err = apply(t.Context(), fsys, d4.Bytes(), o)
	require.NoError(t, err)
	require.Equal(t, 3, rep.Reused)
	require.True(t, os.SameFile(stat(filepath.Join(prev, "a")), stat(filepath.Join(dir, rep.To.Dir(), "a"))))
}

// TestHardLinkedBaseIsCopiedMemFS: the same rule through MemFS, whose
// link counts come from its directory entries.
func TestHardLinkedBaseIsCopiedMemFS(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	full, diff, _ := linkPackages(t, k)
	m := updatetest.NewMemFS()
	o := applyOpts(ring)
	o.Confirmed = true
	_, err := apply(t.Context(), m, full, o)
	require.NoError(t, err)
	st, err := ReadState(m)
	require.NoError(t, err)
	require.NoError(t, m.Link(st.Current.Dir()+"/c", "outside"))
	rep, err := apply(t.Context(), m, diff, o)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Copied)
	require.Equal(t, 2, rep.Reused)
	a, err := m.Lstat("outside")
	require.NoError(t, err)
	b, err := m.Lstat(rep.To.Dir() + "/c")
	require.NoError(t, err)
	require.False(t, sameFile(a, b))
	c, err := m.Lstat(st.Current.Dir() + "/a")
	require.NoError(t, err)
	d, err := m.Lstat(rep.To.Dir() + "/a")
	require.NoError(t, err)
	require.True(t, sameFile(c, d), "a file only Apply linked is linked again")
}
