package update

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/update/updatetest"
)

// adoptTree is a version's tree without symlinks (an ESP has none).
func adoptTree(v int) fstest.MapFS {
	m := versionTree(v)
	delete(m, "usr/bin/tool")
	return m
}

func adoptOpts(v int) *AdoptOptions {
	return &AdoptOptions{Vendor: "acme", Product: "demo", Version: tree(v).Version, Sequence: uint64(v)}
}

// TestAdoptThenDiff: the shipped version, adopted from where it boots,
// takes a diff package from that version; a second Adopt is refused.
func TestAdoptThenDiff(t *testing.T) {
	ctx := context.Background()
	signer := testSigner(t, 1)
	ring := testRing(t, signer)
	m := updatetest.NewMemFS()
	st, err := Adopt(ctx, m, adoptTree(1), adoptOpts(1))
	require.NoError(t, err)
	require.Equal(t, treeDigestOf(t, adoptTree(1)), st.Current.Tree)
	require.False(t, st.Pending)
	require.EqualValues(t, 1, st.HighestSequence)

	var buf bytes.Buffer
	_, err = Build(ctx, &buf, signers(signer), Tree{Version: "1.2", Sequence: 2, FS: adoptTree(2)},
		[]Tree{{Version: "1.1", Sequence: 1, FS: adoptTree(1)}}, baseOpts(2, KindDiff))
	require.NoError(t, err)
	rep, err := apply(ctx, m, buf.Bytes(), applyOpts(ring))
	require.NoError(t, err)
	require.Positive(t, rep.Patched+rep.Written)
	require.Equal(t, treeDigestOf(t, adoptTree(2)), currentDigest(t, m))

	_, err = Adopt(ctx, m, adoptTree(1), adoptOpts(1))
	require.ErrorIs(t, err, ErrNotApplicable)
}

func TestAdoptRefusals(t *testing.T) {
	ctx := context.Background()
	for name, c := range map[string]struct {
		tree fs.FS
		o    func(*AdoptOptions)
		want error
	}{
		"symlink":     {versionTree(1), nil, ErrUnsupported},
		"wrong tree":  {adoptTree(1), func(o *AdoptOptions) { o.Tree = treeDigestOf(t, adoptTree(2)) }, ErrDigestMismatch},
		"no version":  {adoptTree(1), func(o *AdoptOptions) { o.Version = "" }, ErrMalformed},
		"sequence 0":  {adoptTree(1), func(o *AdoptOptions) { o.Sequence = 0 }, ErrMalformed},
		"too large":   {adoptTree(1), func(o *AdoptOptions) { o.MaxSize = 1000 }, ErrTooLarge},
		"bad mode":    {adoptTree(1), func(o *AdoptOptions) { o.FileMode = fs.ModeSetuid | 0o644 }, ErrMalformed},
		"bad vendor":  {adoptTree(1), func(o *AdoptOptions) { o.Vendor = "a/b" }, ErrMalformed},
		"bad digest":  {adoptTree(1), func(o *AdoptOptions) { o.Tree = "md5:x" }, ErrMalformed},
		"few files":   {adoptTree(1), func(o *AdoptOptions) { o.MaxFiles = 2 }, ErrTooLarge},
		"hostile dir": {fstest.MapFS{"a\\b": {Data: []byte("x")}}, nil, ErrUnsafeEntry},
	} {
		m := updatetest.NewMemFS()
		o := adoptOpts(1)
		if c.o != nil {
			c.o(o)
		}
		_, err := Adopt(ctx, m, c.tree, o)
		require.ErrorIs(t, err, c.want, name)
		_, err = ReadState(m)
		require.ErrorIs(t, err, ErrNotInstalled, name)
		ents, _ := m.ReadDir(SlotsDir)
		require.Empty(t, ents, "%s: nothing left in %s", name, SlotsDir)
	}
}

// TestAdoptModes: FileMode and DirMode replace what the tree reports
// (an ESP's mount modes), so the digest is the build's.
func TestAdoptModes(t *testing.T) {
	want := fstest.MapFS{"d": {Mode: fs.ModeDir | 0o755}, "d/f": {Data: []byte("x"), Mode: 0o644}, "g": {Data: []byte("y"), Mode: 0o644}}
	got := fstest.MapFS{"d": {Mode: fs.ModeDir | 0o700}, "d/f": {Data: []byte("x"), Mode: 0o755}, "g": {Data: []byte("y"), Mode: 0o755}}
	o := adoptOpts(1)
	o.FileMode, o.DirMode, o.Tree = 0o644, 0o755, treeDigestOf(t, want)
	st, err := Adopt(context.Background(), updatetest.NewMemFS(), got, o)
	require.NoError(t, err)
	require.Equal(t, o.Tree, st.Current.Tree)
}

// TestAdoptCrash: a crash anywhere leaves, after Recover, nothing or the
// whole adopted tree.
func TestAdoptCrash(t *testing.T) {
	ctx := context.Background()
	want := treeDigestOf(t, adoptTree(1))
	for k := 0; ; k++ {
		m := updatetest.NewMemFS()
		m.CrashAfter(k)
		_, err := Adopt(ctx, m, adoptTree(1), adoptOpts(1))
		r := m.Reboot()
		_, rerr := Recover(ctx, r)
		require.NoError(t, rerr, "crash after %d", k)
		st, serr := ReadState(r)
		if errors.Is(serr, ErrNotInstalled) {
			ents, _ := r.ReadDir(SlotsDir)
			require.Empty(t, ents, "crash after %d", k)
		} else {
			require.NoError(t, serr)
			require.Equal(t, want, st.Current.Tree)
			require.Equal(t, want, currentDigest(t, r))
		}
		if err == nil {
			break
		}
		require.ErrorIs(t, err, updatetest.ErrCrashed)
	}
}
