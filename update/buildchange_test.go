package update

import (
	"bytes"
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/sign"
)

// changingFS serves a MapFS, but from the second Open of file on it
// returns the same number of bytes with one byte changed: a file edited in
// place between Build's scan and its read.
type changingFS struct {
	fstest.MapFS
	file  string
	opens int
}

func (c *changingFS) Open(name string) (fs.File, error) {
	if name == c.file {
		c.opens++
		if c.opens > 1 {
			orig := c.MapFS[name]
			d := append([]byte(nil), orig.Data...)
			d[len(d)/2] ^= 0x5a
			return fstest.MapFS{name: {Data: d, Mode: orig.Mode}}.Open(name)
		}
	}
	return c.MapFS.Open(name)
}

func TestBuildRefusesFileChangedAfterScan(t *testing.T) {
	k := testSigner(t, 1)
	cases := []struct {
		name   string
		kind   Kind
		file   string
		inBase bool // change the base tree's file instead of the target's
		from   []int
	}{
		{name: "full", kind: KindFull, file: "boot/vmlinuz"},
		{name: "diff whole new file", kind: KindDiff, file: "usr/bin/extra-2", from: []int{1}},
		{name: "diff patched target", kind: KindDiff, file: "usr/bin/app", from: []int{1}},
		{name: "diff patched base", kind: KindDiff, file: "usr/bin/app", from: []int{1}, inBase: true},
		{name: "diff small changed file", kind: KindDiff, file: "etc/os-release", from: []int{1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			to := tree(2)
			var from []Tree
			for _, v := range c.from {
				from = append(from, tree(v))
			}
			ch := &changingFS{file: c.file}
			if c.inBase {
				ch.MapFS = from[0].FS.(fstest.MapFS)
				from[0].FS = ch
			} else {
				ch.MapFS = to.FS.(fstest.MapFS)
				to.FS = ch
			}
			var buf bytes.Buffer
			_, err := Build(t.Context(), &buf, []sign.Signer{k}, to, from, baseOpts(2, c.kind))
			require.ErrorIs(t, err, ErrDigestMismatch)
			var de *DigestError
			require.True(t, errors.As(err, &de), "%v", err)
			require.Equal(t, c.file, de.Name)
			require.Contains(t, err.Error(), c.file)
			require.Equal(t, 2, ch.opens, "scan and one read")
			require.Zero(t, buf.Len(), "nothing written")
		})
	}
}

// A file that only changes if opened a third time is read consistently:
// the check passes and the package applies.
func TestBuildUnchangedFileStillBuilds(t *testing.T) {
	k := testSigner(t, 1)
	to := tree(2)
	ch := &changingFS{MapFS: to.FS.(fstest.MapFS), file: "usr/bin/app"}
	ch.opens = -1 // the change starts after scan and read
	to.FS = ch
	var buf bytes.Buffer
	_, err := Build(t.Context(), &buf, []sign.Signer{k}, to, []Tree{tree(1)}, baseOpts(2, KindDiff))
	require.NoError(t, err)
	fsys := installed(t, k, testRing(t, k), 1)
	_, err = apply(t.Context(), fsys, buf.Bytes(), applyOpts(testRing(t, k)))
	require.NoError(t, err)
	require.Equal(t, treeDigestOf(t, versionTree(2)), currentDigest(t, fsys))
}
