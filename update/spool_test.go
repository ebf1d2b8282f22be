package update

import (
	"bytes"
	"context"
	"io"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// changingReaderAt serves good on its first pass over the package and bad
// on every later pass (a new pass starts when offset 0 is read again), as
// a file replaced between reads would.
type changingReaderAt struct {
	mu     sync.Mutex
	good   []byte
	bad    []byte
	passes int
}

func (c *changingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if off == 0 {
		c.passes++
	}
	src := c.good
	if c.passes > 1 {
		src = c.bad
	}
	return bytes.NewReader(src).ReadAt(p, off)
}

// recordingDecrypter records every byte handed to the decrypter.
type recordingDecrypter struct {
	mu   sync.Mutex
	seen [][]byte
	dec  Decrypter
}

func (r *recordingDecrypter) decrypt(ctx context.Context, dst io.Writer, src io.Reader) error {
	var got bytes.Buffer
	err := r.dec(ctx, dst, io.TeeReader(src, &got))
	r.mu.Lock()
	r.seen = append(r.seen, got.Bytes())
	r.mu.Unlock()
	return err
}

// TestPayloadChangedBetweenReads: a package whose payload changes after the
// digest was checked never feeds the changed bytes to the decrypter or the
// patcher; Apply installs exactly the verified content or fails with a
// typed error, leaving the target untouched.
func TestPayloadChangedBetweenReads(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	enc, dec := testCipher(1)
	for _, encrypted := range []bool{true, false} {
		name := "plain"
		if encrypted {
			name = "encrypted"
		}
		t.Run(name, func(t *testing.T) {
			o := baseOpts(2, KindDiff)
			if encrypted {
				o.Encrypt = enc
			}
			pkg := build(t, k, 2, []int{1}, o)
			sp := memberSpans(t, pkg)[MemberPayload]
			genuine := payloadOf(t, pkg)
			bad := append([]byte(nil), pkg...)
			for i := sp[0] + sp[1]/3; i < sp[0]+sp[1]-1; i += 97 {
				bad[i] ^= 0x5a
			}
			rec := &recordingDecrypter{dec: dec}
			fsys := installed(t, k, ring, 1)
			before := currentDigest(t, fsys)
			ao := applyOpts(ring)
			ao.Decrypt = rec.decrypt
			r := &changingReaderAt{good: pkg, bad: bad}
			rep, err := Apply(t.Context(), fsys, r, int64(len(pkg)), ao)
			for _, s := range rec.seen {
				require.True(t, bytes.Equal(s, genuine[:len(s)]), "decrypter saw bytes that were not verified")
			}
			if err != nil {
				// Refusing is fine, as long as it is typed and nothing changed.
				require.ErrorIs(t, err, ErrDigestMismatch)
				require.Equal(t, before, currentDigest(t, fsys))
				return
			}
			require.Equal(t, "1.2", rep.To.Version)
			require.Equal(t, treeDigestOf(t, versionTree(2)), currentDigest(t, fsys))
		})
	}
	// A package tampered in its first read is refused by digest before
	// anything is decrypted or written.
	pkg := build(t, k, 2, []int{1}, &BuildOptions{Vendor: "acme", Product: "demo", Channel: "stable", Version: "1.2", Sequence: 2, Kind: KindDiff, Encrypt: enc})
	sp := memberSpans(t, pkg)[MemberPayload]
	bad := append([]byte(nil), pkg...)
	bad[sp[0]+sp[1]/2] ^= 1
	rec := &recordingDecrypter{dec: dec}
	fsys := installed(t, k, ring, 1)
	before, ops := currentDigest(t, fsys), fsys.Ops()
	ao := applyOpts(ring)
	ao.Decrypt = rec.decrypt
	_, err := Apply(t.Context(), fsys, &changingReaderAt{good: bad, bad: pkg}, int64(len(pkg)), ao)
	require.ErrorIs(t, err, ErrDigestMismatch)
	require.Empty(t, rec.seen, "decrypter never called")
	require.Equal(t, ops, fsys.Ops())
	require.Equal(t, before, currentDigest(t, fsys))
}

// TestSpoolFile: a payload above the memory cap is spooled to a private
// file in SpoolDir, which is removed afterwards.
func TestSpoolFile(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	enc, dec := testCipher(1)
	old := spoolMemMax
	spoolMemMax = 0
	t.Cleanup(func() { spoolMemMax = old })
	o := baseOpts(2, KindDiff)
	o.Encrypt = enc
	pkg := build(t, k, 2, []int{1}, o)
	dir := t.TempDir()
	fsys := installed(t, k, ring, 1)
	ao := applyOpts(ring)
	ao.Decrypt, ao.SpoolDir = dec, dir
	_, err := apply(t.Context(), fsys, pkg, ao)
	require.NoError(t, err)
	require.Equal(t, treeDigestOf(t, versionTree(2)), currentDigest(t, fsys))
	rep, err := Verify(t.Context(), bytes.NewReader(pkg), int64(len(pkg)), &ao.VerifyOptions)
	require.NoError(t, err)
	require.True(t, rep.ContentVerified)
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, ents, "spool file removed")
	// A spool directory that cannot be written fails cleanly.
	ao.SpoolDir = dir + "/missing"
	_, err = Verify(t.Context(), bytes.NewReader(pkg), int64(len(pkg)), &ao.VerifyOptions)
	require.Error(t, err)
}

// TestPatchMemberHashBeforePatching: when the plain payload seen while
// staging differs from the one checked before (here a decrypter that
// answers differently the second time), a patch member is refused by its
// hash before it reaches the patcher.
func TestPatchMemberHashBeforePatching(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	enc, dec := testCipher(1)
	o := baseOpts(2, KindDiff)
	o.Encrypt = enc
	pkg := build(t, k, 2, []int{1}, o)
	m := readManifest(t, pkg)
	member := ""
	for _, f := range m.Steps[0].Files {
		if f.Op == OpPatch {
			member = stepMember(0, f.Path)
			break
		}
	}
	require.NotEmpty(t, member)
	calls := 0
	flaky := func(ctx context.Context, dst io.Writer, src io.Reader) error {
		calls++
		if calls == 1 {
			return dec(ctx, dst, src)
		}
		var plain bytes.Buffer
		if err := dec(ctx, &plain, src); err != nil {
			return err
		}
		ms := untar(t, plain.Bytes())
		for i := range ms {
			if ms[i].name == member {
				// Same size, a hostile patch: the patcher would reject it
				// as corrupt, the member hash must refuse it first.
				bad := craftPatch(-1, -1, 10)
				d := make([]byte, len(ms[i].data))
				copy(d, bad)
				ms[i].data = d
			}
		}
		_, err := dst.Write(makeTar(t, ms))
		return err
	}
	fsys := installed(t, k, ring, 1)
	before := currentDigest(t, fsys)
	ao := applyOpts(ring)
	ao.Decrypt = flaky
	_, err := apply(t.Context(), fsys, pkg, ao)
	require.Equal(t, 2, calls)
	require.ErrorIs(t, err, ErrDigestMismatch)
	var de *DigestError
	require.ErrorAs(t, err, &de)
	require.Equal(t, member, de.Name)
	require.Equal(t, before, currentDigest(t, fsys))
	ents, err := fsys.ReadDir(SlotsDir)
	require.NoError(t, err)
	require.Len(t, ents, 1, "staging removed")
}
