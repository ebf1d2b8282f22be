package update

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/update/updatetest"
	"github.com/stretchr/testify/require"
)

// seeded is a deterministic reader for key generation.
type seeded struct{ r *rand.ChaCha8 }

func (s seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

func testSigner(t testing.TB, seed byte) *sign.Ed25519Signer {
	t.Helper()
	var s [32]byte
	s[0] = seed
	k, err := sign.GenerateEd25519(seeded{rand.NewChaCha8(s)}, sign.PurposeUpdate)
	require.NoError(t, err)
	return k
}

func testRing(t testing.TB, keys ...*sign.Ed25519Signer) *sign.Keyring {
	t.Helper()
	var pubs []sign.PublicKey
	for _, k := range keys {
		pubs = append(pubs, k.Public())
	}
	r, err := sign.NewKeyring(pubs...)
	require.NoError(t, err)
	return r
}

// versionTree returns version v (1..4) of a small boot-like tree: some
// files change each version, one is added, one removed, links and modes
// vary.
func versionTree(v int) fstest.MapFS {
	m := fstest.MapFS{
		"boot":                       {Mode: fs.ModeDir | 0o755},
		"boot/loader":                {Mode: fs.ModeDir | 0o755},
		"boot/loader/entries":        {Mode: fs.ModeDir | 0o700},
		"etc":                        {Mode: fs.ModeDir | 0o755},
		"etc/os-release":             {Mode: 0o644, Data: []byte("NAME=demo\nVERSION=" + strconv.Itoa(v) + "\n")},
		"etc/static.conf":            {Mode: 0o600, Data: testutil.TextBytes(99, 3000)},
		"boot/vmlinuz":               {Mode: 0o644, Data: kernel(v)},
		"boot/initrd.img":            {Mode: 0o644, Data: testutil.RandomBytes(uint64(100+v), 20000)},
		"boot/loader/entries/a.conf": {Mode: 0o644, Data: []byte("title demo\nlinux /vmlinuz\n")},
		"usr":                        {Mode: fs.ModeDir | 0o755},
		"usr/bin":                    {Mode: fs.ModeDir | 0o755},
		"usr/bin/app":                {Mode: 0o755, Data: appBinary(v)},
		"usr/bin/tool":               {Mode: fs.ModeSymlink | 0o777, Data: []byte("app")},
		"empty":                      {Mode: 0o644, Data: nil},
	}
	if v%2 == 0 {
		m["usr/bin/extra-"+strconv.Itoa(v)] = &fstest.MapFile{Mode: 0o750, Data: testutil.TextBytes(uint64(v), 5000)}
	} else {
		m["usr/share"] = &fstest.MapFile{Mode: fs.ModeDir | 0o755}
		m["usr/share/doc"] = &fstest.MapFile{Mode: 0o644, Data: testutil.TextBytes(uint64(v+50), 8000)}
	}
	if v >= 3 {
		m["etc/static.conf"].Mode = 0o640 // same content, new mode
		m["usr/bin/tool"].Data = []byte("../bin/app")
	}
	return m
}

func kernel(v int) []byte {
	b := testutil.TextBytes(7, 60000)
	copy(b[1000*v:], fmt.Sprintf("kernel build %d", v))
	return b
}

func appBinary(v int) []byte {
	b := append([]byte(nil), testutil.RandomBytes(8, 40000)...)
	for i := 0; i < v; i++ {
		copy(b[5000+i*3000:], testutil.RandomBytes(uint64(200+i), 500))
	}
	return append(b, []byte(fmt.Sprintf("version %d", v))...)
}

func treeDigestOf(t testing.TB, fsys fs.FS) string {
	t.Helper()
	e, err := ScanTree(fsys)
	require.NoError(t, err)
	return TreeDigest(e)
}

func tree(v int) Tree {
	return Tree{Version: "1." + strconv.Itoa(v), Sequence: uint64(v), FS: versionTree(v)}
}

func baseOpts(v int, kind Kind) *BuildOptions {
	return &BuildOptions{Vendor: "acme", Product: "demo", Channel: "stable", Version: "1." + strconv.Itoa(v), Sequence: uint64(v), Kind: kind}
}

func build(t testing.TB, signer sign.Signer, to int, from []int, o *BuildOptions) []byte {
	t.Helper()
	var froms []Tree
	for _, f := range from {
		froms = append(froms, tree(f))
	}
	var buf bytes.Buffer
	_, err := Build(context.Background(), &buf, []sign.Signer{signer}, tree(to), froms, o)
	require.NoError(t, err)
	return buf.Bytes()
}

func applyOpts(ring *sign.Keyring) *ApplyOptions {
	return &ApplyOptions{VerifyOptions: VerifyOptions{Keyring: ring}}
}

// osTargetV1 returns an OSFS target in a new directory, closed when the
// test ends, with version 1 installed (full, confirmed) and signed by k.
func osTargetV1(t *testing.T, k *sign.Ed25519Signer, ring *sign.Keyring) (*OSFS, string) {
	t.Helper()
	dir := t.TempDir()
	fsys, err := NewOSFS(dir)
	require.NoError(t, err)
	t.Cleanup(func() { fsys.Close() })
	o := applyOpts(ring)
	o.Confirmed = true
	_, err = apply(t.Context(), fsys, build(t, k, 1, nil, baseOpts(1, KindFull)), o)
	require.NoError(t, err)
	return fsys, dir
}

func apply(ctx context.Context, fsys FS, pkg []byte, o *ApplyOptions) (*ApplyReport, error) {
	return Apply(ctx, fsys, bytes.NewReader(pkg), int64(len(pkg)), o)
}

// currentDigest returns the tree digest of the target's current slot.
func currentDigest(t testing.TB, fsys FS) string {
	t.Helper()
	st, err := ReadState(fsys)
	require.NoError(t, err)
	e, err := scanSlot(context.Background(), fsys, st.Current.Dir())
	require.NoError(t, err)
	return TreeDigest(e)
}

// installed returns a MemFS with version v installed, confirmed and durable.
func installed(t testing.TB, signer sign.Signer, ring *sign.Keyring, v int) *updatetest.MemFS {
	t.Helper()
	m := updatetest.NewMemFS()
	key := fmt.Sprintf("%s/%d", signer.KeyID(), v)
	pkgAny, ok := fullCache.Load(key)
	if !ok {
		pkgAny, _ = fullCache.LoadOrStore(key, build(t, signer, v, nil, baseOpts(v, KindFull)))
	}
	pkg := pkgAny.([]byte)
	o := applyOpts(ring)
	o.Confirmed = true
	_, err := apply(context.Background(), m, pkg, o)
	require.NoError(t, err)
	m.SyncAll()
	return m
}

var fullCache sync.Map

// testCipher is a stand-in payload encryption for tests (AES-GCM over the
// whole payload); examples use OpenPGP through the sign package.
func testCipher(key byte) (Encrypter, Decrypter) {
	aead := func() cipher.AEAD {
		k := sha256.Sum256([]byte{key})
		b, _ := aes.NewCipher(k[:])
		g, _ := cipher.NewGCM(b)
		return g
	}
	nonce := make([]byte, 12)
	enc := func(ctx context.Context, dst io.Writer, src io.Reader) error {
		b, err := io.ReadAll(src)
		if err != nil {
			return err
		}
		_, err = dst.Write(aead().Seal(nil, nonce, b, nil))
		return err
	}
	dec := func(ctx context.Context, dst io.Writer, src io.Reader) error {
		b, err := io.ReadAll(io.LimitReader(src, 1<<30))
		if err != nil {
			return err
		}
		p, err := aead().Open(nil, nonce, b, nil)
		if err != nil {
			return errors.New("authentication failed")
		}
		_, err = dst.Write(p)
		return err
	}
	return enc, dec
}

// tarMember is one member for assemble.
type tarMember struct {
	name string
	typ  byte
	data []byte
	size int64 // header size when >= 0 and differs from len(data); -1 to use len
	link string
}

func makeTar(t testing.TB, members []tarMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		typ := m.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: m.name, Typeflag: typ, Mode: 0o644, Size: int64(len(m.data)), Linkname: m.link, ModTime: time.Unix(0, 0)}
		if typ != tar.TypeReg {
			h.Size = 0
		}
		require.NoError(t, tw.WriteHeader(h))
		if typ == tar.TypeReg {
			_, err := tw.Write(m.data)
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

// assemble signs m (after filling in the payload digest) and builds a
// package around payload.
func assemble(t testing.TB, signer sign.Signer, m *Manifest, payload []byte) []byte {
	t.Helper()
	m.Payload.Size = int64(len(payload))
	sum := sha256.Sum256(payload)
	m.Payload.SHA256 = "sha256:" + hex.EncodeToString(sum[:])
	mb, err := m.Marshal()
	require.NoError(t, err)
	sig, err := signer.Sign(context.Background(), mb)
	require.NoError(t, err)
	return makeTar(t, []tarMember{
		{name: MemberMarker, data: []byte(Marker)},
		{name: MemberManifest, data: mb},
		{name: MemberSig, data: sig},
		{name: MemberPayload, data: payload},
	})
}

// memberSpans returns the data offset and size of each member of a tar.
func memberSpans(t testing.TB, pkg []byte) map[string][2]int64 {
	t.Helper()
	out := map[string][2]int64{}
	var off int64
	for off+512 <= int64(len(pkg)) {
		h := pkg[off : off+512]
		if bytes.Equal(h, make([]byte, 512)) {
			break
		}
		name := string(bytes.TrimRight(h[0:100], "\x00"))
		size, err := strconv.ParseInt(string(bytes.TrimRight(bytes.TrimSpace(h[124:136]), "\x00")), 8, 64)
		require.NoError(t, err)
		out[name] = [2]int64{off + 512, size}
		off += 512 + (size+511)/512*512
	}
	return out
}

// readManifest extracts the manifest of a package without verifying it.
func readManifest(t testing.TB, pkg []byte) *Manifest {
	t.Helper()
	sp := memberSpans(t, pkg)[MemberManifest]
	m, err := ParseManifest(pkg[sp[0]:sp[0]+sp[1]], nil)
	require.NoError(t, err)
	return m
}

// payloadOf extracts the payload member.
func payloadOf(t testing.TB, pkg []byte) []byte {
	sp := memberSpans(t, pkg)[MemberPayload]
	return append([]byte(nil), pkg[sp[0]:sp[0]+sp[1]]...)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func signers(s ...sign.Signer) []sign.Signer { return s }
