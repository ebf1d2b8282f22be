package update

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/update/updatetest"
	"github.com/stretchr/testify/require"
)

func TestNested(t *testing.T) {
	vendor := testSigner(t, 1)
	ring := testRing(t, vendor)
	// A node package for another product.
	var node bytes.Buffer
	_, err := Build(t.Context(), &node, []sign.Signer{vendor}, tree(2), []Tree{tree(1)},
		&BuildOptions{Vendor: "acme", Product: "node", Version: "1.2", Sequence: 2, Kind: KindDiff})
	require.NoError(t, err)

	for _, withTree := range []bool{false, true} {
		to := Tree{Version: "s1"}
		if withTree {
			to = tree(3)
		}
		var srv bytes.Buffer
		rep, err := Build(t.Context(), &srv, []sign.Signer{vendor}, to, nil, &BuildOptions{
			Vendor: "acme", Product: "demo", Version: to.Version, Sequence: 3, Kind: KindNested,
			Nested: []NestedInput{{Name: "node.fup", Data: bytes.NewReader(node.Bytes()), Size: int64(node.Len())}}})
		require.NoError(t, err)
		require.Equal(t, "node", rep.Manifest.Nested[0].Product)
		pkg := srv.Bytes()

		// The server verifies everything, nested digests included.
		vr, err := Verify(t.Context(), bytes.NewReader(pkg), int64(len(pkg)), &VerifyOptions{Keyring: ring, Product: "demo"})
		require.NoError(t, err)
		require.True(t, vr.ContentVerified)

		// It stores the node package unchanged.
		var out bytes.Buffer
		n, err := ExtractNested(t.Context(), bytes.NewReader(pkg), int64(len(pkg)), "node.fup", &out, &VerifyOptions{Keyring: ring})
		require.NoError(t, err)
		require.Equal(t, "1.2", n.Version)
		require.Equal(t, node.Bytes(), out.Bytes())

		// The server never applies the node package; it applies its own
		// tree if the package has one.
		fsys := installed(t, vendor, ring, 1)
		_, err = apply(t.Context(), fsys, pkg, applyOpts(ring))
		if withTree {
			require.NoError(t, err)
			require.Equal(t, treeDigestOf(t, versionTree(3)), currentDigest(t, fsys))
		} else {
			require.ErrorIs(t, err, ErrNotApplicable)
		}

		// The node verifies and applies its own package end to end.
		nodeFS := updatetest.NewMemFS()
		var nodeFull bytes.Buffer
		_, err = Build(t.Context(), &nodeFull, []sign.Signer{vendor}, tree(1), nil,
			&BuildOptions{Vendor: "acme", Product: "node", Version: "1.1", Sequence: 1})
		require.NoError(t, err)
		first := &ApplyOptions{VerifyOptions: VerifyOptions{Keyring: ring, Product: "node"}, Confirmed: true}
		_, err = Apply(t.Context(), nodeFS, bytes.NewReader(nodeFull.Bytes()), int64(nodeFull.Len()), first)
		require.NoError(t, err)
		nb := out.Bytes()
		_, err = Apply(t.Context(), nodeFS, bytes.NewReader(nb), int64(len(nb)), &ApplyOptions{VerifyOptions: VerifyOptions{Keyring: ring}})
		require.NoError(t, err)
		require.Equal(t, treeDigestOf(t, versionTree(2)), currentDigest(t, nodeFS))
		// A node package never installs on the server.
		_, err = Apply(t.Context(), fsys, bytes.NewReader(nb), int64(len(nb)), &ApplyOptions{VerifyOptions: VerifyOptions{Keyring: ring}})
		require.ErrorIs(t, err, ErrWrongProduct)
	}
}

func TestLongAndUnicodeNames(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	long := strings.Repeat("directory-name-", 12)
	v1 := fstest.MapFS{
		long:                       {Mode: fs.ModeDir | 0o755},
		long + "/" + long + ".bin": {Mode: 0o644, Data: bytes.Repeat([]byte("abc"), 5000)},
		"grüße":                    {Mode: fs.ModeDir | 0o755},
		"grüße/日本語.txt":            {Mode: 0o644, Data: []byte("text")},
		"sp ace":                   {Mode: 0o644, Data: []byte("x")},
	}
	v2 := fstest.MapFS{}
	for p, f := range v1 {
		c := *f
		v2[p] = &c
	}
	v2[long+"/"+long+".bin"] = &fstest.MapFile{Mode: 0o644, Data: bytes.Repeat([]byte("abd"), 5000)}
	var full, diff bytes.Buffer
	_, err := Build(t.Context(), &full, []sign.Signer{k}, Tree{Version: "1", FS: v1}, nil, &BuildOptions{Vendor: "acme", Product: "demo", Version: "1", Sequence: 1})
	require.NoError(t, err)
	_, err = Build(t.Context(), &diff, []sign.Signer{k}, Tree{Version: "2", FS: v2}, []Tree{{Version: "1", FS: v1}},
		&BuildOptions{Vendor: "acme", Product: "demo", Version: "2", Sequence: 2, Kind: KindDiff})
	require.NoError(t, err)
	m := updatetest.NewMemFS()
	o := applyOpts(ring)
	o.Confirmed = true
	_, err = apply(t.Context(), m, full.Bytes(), o)
	require.NoError(t, err)
	rep, err := apply(t.Context(), m, diff.Bytes(), applyOpts(ring))
	require.NoError(t, err)
	require.Equal(t, 1, rep.Patched)
	require.Equal(t, treeDigestOf(t, v2), currentDigest(t, m))
}

func TestApplyWithoutHardLinks(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	m := installed(t, k, ring, 1)
	m.SetLinks(false)
	rep, err := apply(t.Context(), m, build(t, k, 4, []int{1, 2, 3}, baseOpts(4, KindBundle)), applyOpts(ring))
	require.NoError(t, err)
	require.Zero(t, rep.Reused)
	require.Greater(t, rep.Copied, 0)
	require.Equal(t, treeDigestOf(t, versionTree(4)), currentDigest(t, m))
}

// TestExtractNestedChecksInnerManifest: a nested entry whose product,
// version or sequence differs from the nested package's own manifest, or
// whose bytes are no package at all, is refused even though the digest
// matches.
func TestExtractNestedChecksInnerManifest(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	inner := build(t, k, 2, []int{1}, &BuildOptions{Vendor: "acme", Product: "node", Version: "1.2", Sequence: 2, Kind: KindDiff})
	outer := func(data []byte, edit func(n *Nested)) []byte {
		sum := sha256.Sum256(data)
		n := Nested{Name: "node.fup", Product: "node", Version: "1.2", Sequence: 2, Size: int64(len(data)), SHA256: "sha256:" + hex.EncodeToString(sum[:])}
		edit(&n)
		m := &Manifest{Format: FormatVersion, Vendor: "acme", Product: "demo", Channel: "stable", Version: "s1", Sequence: 3,
			Kind: KindNested, Nested: []Nested{n}}
		return assemble(t, k, m, makeTar(t, []tarMember{{name: "nested/node.fup", data: data}}))
	}
	extract := func(pkg []byte) ([]byte, error) {
		var out bytes.Buffer
		_, err := ExtractNested(t.Context(), bytes.NewReader(pkg), int64(len(pkg)), "node.fup", &out, &VerifyOptions{Keyring: ring})
		return out.Bytes(), err
	}
	got, err := extract(outer(inner, func(*Nested) {}))
	require.NoError(t, err)
	require.Equal(t, inner, got)

	for name, edit := range map[string]func(n *Nested){
		"product":  func(n *Nested) { n.Product = "other" },
		"version":  func(n *Nested) { n.Version = "9.9" },
		"sequence": func(n *Nested) { n.Sequence = 99 },
	} {
		pkg := outer(inner, edit)
		_, err := Verify(t.Context(), bytes.NewReader(pkg), int64(len(pkg)), &VerifyOptions{Keyring: ring})
		require.NoError(t, err, "the outer package itself is consistent")
		_, err = extract(pkg)
		require.ErrorIs(t, err, ErrMalformed, name)
		require.ErrorContains(t, err, "nested entry says", name)
	}
	_, err = extract(outer([]byte("not a package at all"), func(*Nested) {}))
	require.ErrorIs(t, err, ErrMalformed)
	bad := append([]byte(nil), inner...)
	sp := memberSpans(t, bad)[MemberManifest]
	bad[sp[0]+2] = 'X' // the inner manifest no longer parses
	_, err = extract(outer(bad, func(*Nested) {}))
	require.ErrorIs(t, err, ErrMalformed)
}
