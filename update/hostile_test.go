package update

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/fogkit/fogkit/update/bsdiff"
	"github.com/stretchr/testify/require"
)

// untar returns the members of a tar.
func untar(t testing.TB, b []byte) []tarMember {
	t.Helper()
	var out []tarMember
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		d, err := io.ReadAll(tr)
		require.NoError(t, err)
		out = append(out, tarMember{name: h.Name, typ: h.Typeflag, data: d, link: h.Linkname})
	}
}

func tinyTree() fstest.MapFS {
	return fstest.MapFS{
		"a":   {Mode: 0o644, Data: []byte("hello")},
		"d":   {Mode: fs.ModeDir | 0o755},
		"d/b": {Mode: 0o600, Data: []byte("world")},
		"l":   {Mode: fs.ModeSymlink | 0o777, Data: []byte("a")},
	}
}

func tinyPackage(t testing.TB, seq uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	_, err := Build(context.Background(), &buf, signers(testSigner(t, 1)), Tree{Version: "t", FS: tinyTree()}, nil,
		&BuildOptions{Vendor: "acme", Product: "demo", Version: "t", Sequence: seq})
	require.NoError(t, err)
	return buf.Bytes()
}

func TestHostileOuter(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	good := untar(t, tinyPackage(t, 5))
	require.Len(t, good, 4)
	with := func(edit func([]tarMember) []tarMember) []byte {
		ms := append([]tarMember(nil), good...)
		return makeTar(t, edit(ms))
	}
	cases := map[string]struct {
		pkg  []byte
		lim  *Limits
		want error
	}{
		"symlink-marker": {pkg: with(func(m []tarMember) []tarMember {
			m[0] = tarMember{name: MemberMarker, typ: tar.TypeSymlink, link: "/etc/passwd"}
			return m
		}), want: ErrUnsafeEntry},
		"hardlink-manifest": {pkg: with(func(m []tarMember) []tarMember {
			m[1] = tarMember{name: MemberManifest, typ: tar.TypeLink, link: MemberMarker}
			return m
		}), want: ErrUnsafeEntry},
		"device": {pkg: with(func(m []tarMember) []tarMember {
			return append(m[:1], append([]tarMember{{name: "dev", typ: tar.TypeChar}}, m[1:]...)...)
		}), want: ErrUnsafeEntry},
		"traversal": {pkg: with(func(m []tarMember) []tarMember {
			m[1].name = "../" + MemberManifest
			return m
		}), want: ErrUnsafeEntry},
		"duplicate-manifest": {pkg: with(func(m []tarMember) []tarMember {
			return append(m[:2], append([]tarMember{m[1]}, m[2:]...)...)
		}), want: ErrUnsafeEntry},
		"member-after-payload": {pkg: with(func(m []tarMember) []tarMember {
			return append(m, tarMember{name: "extra", data: []byte("x")})
		}), want: ErrUnsafeEntry},
		"no-signature": {pkg: with(func(m []tarMember) []tarMember {
			return append(m[:2], m[3])
		}), want: ErrMalformed},
		"unordered": {pkg: with(func(m []tarMember) []tarMember {
			m[0], m[1] = m[1], m[0]
			return m
		}), want: ErrUnsafeEntry},
		"oversize-manifest": {pkg: with(func(m []tarMember) []tarMember { return m }), lim: &Limits{MaxManifestSize: 100}, want: ErrTooLarge},
		"oversize-signature": {pkg: with(func(m []tarMember) []tarMember {
			m[2].data = make([]byte, 100<<10)
			return m
		}), want: ErrTooLarge},
		"too-many-signatures": {pkg: with(func(m []tarMember) []tarMember {
			var sigs []tarMember
			for i := 0; i < 9; i++ {
				s := m[2]
				if i > 0 {
					s.name = MemberSig + "." + string(rune('1'+i))
				}
				sigs = append(sigs, s)
			}
			return append(append(m[:2:2], sigs...), m[3])
		}), want: ErrTooLarge},
		"not-a-tar": {pkg: []byte("hello, this is not a tar file at all"), want: ErrMalformed},
		"empty":     {pkg: nil, want: ErrMalformed},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Verify(t.Context(), bytes.NewReader(c.pkg), int64(len(c.pkg)), &VerifyOptions{Keyring: ring, Limits: c.lim})
			require.Error(t, err)
			require.ErrorIs(t, err, c.want)
		})
	}
}

// resign replaces the manifest and payload of a package and signs again,
// as a vendor key holder (or an attacker who stole one) could.
func resign(t testing.TB, m *Manifest, payload []byte) []byte {
	return assemble(t, testSigner(t, 1), m, payload)
}

func TestHostileManifest(t *testing.T) {
	ring := testRing(t, testSigner(t, 1))
	pkg := tinyPackage(t, 5)
	base := readManifest(t, pkg)
	payload := payloadOf(t, pkg)
	edit := func(f func(m *Manifest)) []byte {
		b, _ := base.Marshal()
		var m Manifest
		_ = jsonUnmarshal(b, &m)
		f(&m)
		return resign(t, &m, payload)
	}
	files := func(m *Manifest) []File { return m.Steps[0].Files }
	cases := map[string]struct {
		pkg  []byte
		want error
	}{
		"traversal":  {edit(func(m *Manifest) { files(m)[0].Path = "../../etc/passwd" }), ErrUnsafeEntry},
		"absolute":   {edit(func(m *Manifest) { files(m)[0].Path = "/etc/passwd" }), ErrUnsafeEntry},
		"dot":        {edit(func(m *Manifest) { files(m)[0].Path = "./a" }), ErrUnsafeEntry},
		"device":     {edit(func(m *Manifest) { files(m)[0].Type = "chardev" }), ErrUnsafeEntry},
		"setuid-dir": {edit(func(m *Manifest) { files(m)[1].Mode = 0o100755 }), ErrUnsafeEntry},
		"duplicate": {edit(func(m *Manifest) {
			m.Steps[0].Files = append(files(m)[:1], files(m)...)
		}), ErrUnsafeEntry},
		"no-parent": {edit(func(m *Manifest) {
			m.Steps[0].Files = append(files(m)[:1], files(m)[2:]...)
		}), ErrUnsafeEntry},
		"link-target-nul": {edit(func(m *Manifest) { files(m)[3].Target = "a\x00b" }), ErrUnsafeEntry},
		"huge-file":       {edit(func(m *Manifest) { files(m)[0].Size = 1 << 60 }), ErrTooLarge},
		"bad-digest":      {edit(func(m *Manifest) { m.Tree = "sha256:zz" }), ErrMalformed},
		"tree-mismatch": {edit(func(m *Manifest) {
			files(m)[0].Mode = 0o600
		}), ErrMalformed},
		"unknown-kind": {edit(func(m *Manifest) { m.Kind = "magic" }), ErrMalformed},
		"patch-in-full": {edit(func(m *Manifest) {
			files(m)[0].Op = OpPatch
		}), ErrMalformed},
		"zero-sequence":   {edit(func(m *Manifest) { m.Sequence = 0 }), ErrMalformed},
		"control-in-name": {edit(func(m *Manifest) { m.Product = "de\nmo" }), ErrMalformed},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Verify(t.Context(), bytes.NewReader(c.pkg), int64(len(c.pkg)), &VerifyOptions{Keyring: ring})
			require.Error(t, err)
			require.ErrorIs(t, err, c.want)
		})
	}
	// A non-canonical manifest (same content, other spacing) is refused.
	mb, _ := base.Marshal()
	spaced := append([]byte(" "), mb...)
	_, err := ParseManifest(spaced, nil)
	require.ErrorIs(t, err, ErrMalformed)
}

func TestHostilePayload(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	pkg := tinyPackage(t, 5)
	m := readManifest(t, pkg)
	inner := untar(t, payloadOf(t, pkg))
	require.Len(t, inner, 2) // 0/a and 0/d/b
	with := func(edit func([]tarMember) []tarMember) []byte {
		ms := append([]tarMember(nil), inner...)
		return resign(t, m, makeTar(t, edit(ms)))
	}
	cases := map[string]struct {
		pkg  []byte
		want error
	}{
		"symlink": {with(func(ms []tarMember) []tarMember {
			ms[0] = tarMember{name: ms[0].name, typ: tar.TypeSymlink, link: "/etc/shadow"}
			return ms
		}), ErrUnsafeEntry},
		"hardlink": {with(func(ms []tarMember) []tarMember {
			ms[1] = tarMember{name: ms[1].name, typ: tar.TypeLink, link: ms[0].name}
			return ms
		}), ErrUnsafeEntry},
		"device": {with(func(ms []tarMember) []tarMember {
			ms[0] = tarMember{name: ms[0].name, typ: tar.TypeBlock}
			return ms
		}), ErrUnsafeEntry},
		"traversal": {with(func(ms []tarMember) []tarMember {
			ms[0].name = "0/../../a"
			return ms
		}), ErrUnsafeEntry},
		"unlisted": {with(func(ms []tarMember) []tarMember {
			return append(ms, tarMember{name: "0/evil", data: []byte("x")})
		}), ErrUnsafeEntry},
		"duplicate": {with(func(ms []tarMember) []tarMember {
			return append(ms[:1], ms...)
		}), ErrUnsafeEntry},
		"missing": {with(func(ms []tarMember) []tarMember {
			return ms[:1]
		}), ErrMalformed},
		"oversize": {with(func(ms []tarMember) []tarMember {
			ms[0].data = make([]byte, 1<<20)
			return ms
		}), ErrTooLarge},
		"content": {with(func(ms []tarMember) []tarMember {
			ms[0].data = []byte("HELLO")
			return ms
		}), ErrDigestMismatch},
		"garbage": {resign(t, m, []byte("not a tar")), ErrMalformed},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Verify(t.Context(), bytes.NewReader(c.pkg), int64(len(c.pkg)), &VerifyOptions{Keyring: ring})
			require.Error(t, err)
			require.ErrorIs(t, err, c.want)
			// And Apply refuses before writing anything.
			fsys := installed(t, k, ring, 1)
			before, ops := currentDigest(t, fsys), fsys.Ops()
			_, err = apply(t.Context(), fsys, c.pkg, applyOpts(ring))
			require.ErrorIs(t, err, c.want)
			require.Equal(t, ops, fsys.Ops())
			require.Equal(t, before, currentDigest(t, fsys))
		})
	}
}

// craftPatch returns a BSDIFF40 header with the given fields.
func craftPatch(ctrl, diff, newSize int64) []byte {
	b := make([]byte, 32)
	copy(b, "BSDIFF40")
	put := func(off int, v int64) {
		u := uint64(v)
		if v < 0 {
			u = uint64(-v) | 1<<63
		}
		binary.LittleEndian.PutUint64(b[off:], u)
	}
	put(8, ctrl)
	put(16, diff)
	put(24, newSize)
	return append(b, make([]byte, 64)...)
}

func TestHostilePatch(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	pkg := build(t, k, 2, []int{1}, baseOpts(2, KindDiff))
	m := readManifest(t, pkg)
	inner := untar(t, payloadOf(t, pkg))
	// Find the first patched file.
	idx, member := -1, ""
	for i, f := range m.Steps[0].Files {
		if f.Op == OpPatch {
			idx, member = i, stepMember(0, f.Path)
			break
		}
	}
	require.GreaterOrEqual(t, idx, 0)
	for name, c := range map[string]struct {
		patch []byte
		want  error
	}{
		"negative-lengths": {craftPatch(-1, -1, 10), ErrMalformed},
		"huge-new-size":    {craftPatch(0, 0, 1<<62), ErrTooLarge},
		"not-bsdiff":       {[]byte("garbage garbage garbage garbage garbage"), ErrMalformed},
		"smaller-new-size": {craftPatch(0, 0, 3), ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			mm := *m
			mm.Steps = append([]Step(nil), m.Steps...)
			mm.Steps[0].Files = append([]File(nil), m.Steps[0].Files...)
			f := &mm.Steps[0].Files[idx]
			sum := sha256.Sum256(c.patch)
			f.DataSize, f.DataSHA256 = int64(len(c.patch)), hex.EncodeToString(sum[:])
			ms := append([]tarMember(nil), inner...)
			for i := range ms {
				if ms[i].name == member {
					ms[i].data = c.patch
				}
			}
			bad := resign(t, &mm, makeTar(t, ms))
			fsys := installed(t, k, ring, 1)
			before := currentDigest(t, fsys)
			_, err := apply(t.Context(), fsys, bad, applyOpts(ring))
			require.Error(t, err)
			require.ErrorIs(t, err, c.want)
			require.True(t, errors.Is(err, bsdiff.ErrCorrupt) || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrMalformed))
			require.Equal(t, before, currentDigest(t, fsys))
			st, err := ReadState(fsys)
			require.NoError(t, err)
			require.Equal(t, "1.1", st.Current.Version)
			ents, err := fsys.ReadDir(SlotsDir)
			require.NoError(t, err)
			require.Len(t, ents, 1, "staging removed")
		})
	}
}
