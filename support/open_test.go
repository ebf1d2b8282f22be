package support

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/sign"
)

func TestOpenEncrypted(t *testing.T) {
	key := supportKey()
	var buf bytes.Buffer
	idx, err := Write(t.Context(), &buf, &Options{Sources: sampleSources(t), Recipients: []*sign.OpenPGPPublicKey{key.Public()}, Now: testNow})
	require.NoError(t, err)
	enc := buf.Bytes()

	b, err := Open(t.Context(), bytes.NewReader(enc), key, nil)
	require.NoError(t, err)
	assert.Equal(t, idx, b.Index)
	assert.Len(t, b.Files(), 5)
	raw, err := b.ReadFile(IndexName)
	require.NoError(t, err)
	assert.True(t, json.Valid(raw))
	_, err = b.ReadFile("nope")
	assert.ErrorIs(t, err, ErrNotFound)

	other, err := sign.GenerateOpenPGP("Other", "o@example.com", sign.PurposeSupport, nil)
	require.NoError(t, err)
	damaged := bytes.Clone(enc)
	damaged[len(damaged)/2] ^= 0x40
	plain, _ := writePlain(t, &Options{Sources: sampleSources(t)})
	tests := []struct {
		name string
		in   []byte
		key  *sign.OpenPGPSigner
		o    *OpenOptions
		want error
	}{
		{"wrong key", enc, other, nil, ErrDecrypt},
		{"damaged", damaged, key, nil, ErrDecrypt},
		{"truncated", enc[:len(enc)-40], key, nil, ErrDecrypt},
		{"no key", enc, nil, nil, ErrDecrypt},
		{"plain not allowed", plain, key, nil, ErrDecrypt},
		{"too large", enc, key, &OpenOptions{MaxSize: 1000}, ErrTooLarge},
		{"garbage", []byte("hello world, not a bundle"), key, nil, ErrDecrypt},
		{"garbage plain", []byte("hello world, not a bundle"), nil, &OpenOptions{Plain: true}, ErrMalformed},
		{"encrypted, plain allowed, no key", enc, nil, &OpenOptions{Plain: true}, ErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(t.Context(), bytes.NewReader(tt.in), tt.key, tt.o)
			assert.ErrorIs(t, err, tt.want)
		})
	}
	// Plain allows a plain bundle and still opens encrypted ones.
	_, err = Open(t.Context(), bytes.NewReader(plain), nil, &OpenOptions{Plain: true})
	assert.NoError(t, err)
	_, err = Open(t.Context(), bytes.NewReader(enc), key, &OpenOptions{Plain: true})
	assert.NoError(t, err)
}

// member is one tar entry of a hand-made bundle.
type member struct {
	hdr  tar.Header
	data []byte
}

func reg(name string, data []byte) member {
	return member{tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: testNow()}, data}
}

// indexFor returns an index.json member listing ms.
func indexFor(t *testing.T, ms []member, edit func(*Index)) member {
	idx := &Index{Format: IndexFormat, Created: testNow(), Compression: CompressionZstd, Files: []FileEntry{}, Sources: []SourceEntry{}}
	for _, m := range ms {
		sum := sha256.Sum256(m.data)
		idx.Files = append(idx.Files, FileEntry{Path: m.hdr.Name, Source: m.hdr.Name, Size: int64(len(m.data)), SHA256: hex.EncodeToString(sum[:])})
		idx.TotalBytes += int64(len(m.data))
	}
	if edit != nil {
		edit(idx)
	}
	b, err := json.Marshal(idx)
	require.NoError(t, err)
	return reg(IndexName, b)
}

func tarOf(t *testing.T, ms []member) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range ms {
		h := m.hdr
		require.NoError(t, tw.WriteHeader(&h))
		_, err := tw.Write(m.data)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

func zstdOf(t *testing.T, b []byte) []byte {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	require.NoError(t, err)
	return enc.EncodeAll(b, nil)
}

func TestOpenHostile(t *testing.T) {
	a, b := reg("a", []byte("alpha\n")), reg("d/b", []byte("beta\n"))
	good := []member{a, b}
	withIndex := func(ms []member, edit func(*Index)) []member {
		return append(append([]member(nil), ms...), indexFor(t, good, edit))
	}
	sym := a
	sym.hdr.Typeflag, sym.hdr.Linkname, sym.hdr.Size, sym.data = tar.TypeSymlink, "/etc/passwd", 0, nil
	dir := a
	dir.hdr.Typeflag, dir.hdr.Name, dir.hdr.Mode, dir.hdr.Size, dir.data = tar.TypeDir, "d/", 0o755, 0, nil
	mode := a
	mode.hdr.Mode = 0o755
	owner := a
	owner.hdr.Uname = "root"
	pax := a
	pax.hdr.PAXRecords = map[string]string{"comment": "hi"}
	trav := reg("../a", a.data)
	abs := reg("/a", a.data)
	evil := b
	evil.data = []byte("BETA\n")

	goodTar := tarOf(t, withIndex(good, nil))
	goodZst := zstdOf(t, goodTar)
	gzBuf := &bytes.Buffer{}
	gz := gzip.NewWriter(gzBuf)
	_, _ = gz.Write(tarOf(t, withIndex(good, func(i *Index) { i.Compression = CompressionGzip })))
	require.NoError(t, gz.Close())
	skippable := append(bytes.Clone(goodZst), 0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4)
	gzGood := gzBuf.Bytes()

	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"good", goodZst, nil},
		{"good gzip", gzGood, nil},
		{"gzip garbage after member", append(bytes.Clone(gzGood), 1, 2, 3), ErrMalformed},
		{"gzip second member", append(bytes.Clone(gzGood), gzGood...), ErrMalformed},
		{"gzip truncated", gzGood[:len(gzGood)-3], ErrMalformed},
		{"gzip index says zstd", func() []byte {
			var buf bytes.Buffer
			gz := gzip.NewWriter(&buf)
			_, _ = gz.Write(goodTar)
			_ = gz.Close()
			return buf.Bytes()
		}(), ErrMalformed},
		{"digest", zstdOf(t, tarOf(t, append([]member{a, evil}, indexFor(t, good, nil)))), ErrDigest},
		{"extra member", zstdOf(t, tarOf(t, withIndex([]member{a, b, reg("c", nil)}, nil))), ErrMalformed},
		{"missing member", zstdOf(t, tarOf(t, withIndex([]member{a}, nil))), ErrMalformed},
		{"order", zstdOf(t, tarOf(t, withIndex([]member{b, a}, nil))), ErrMalformed},
		{"no index", zstdOf(t, tarOf(t, good)), ErrMalformed},
		{"index not last", zstdOf(t, tarOf(t, []member{a, indexFor(t, good, nil), b})), ErrMalformed},
		{"symlink", zstdOf(t, tarOf(t, withIndex([]member{sym, b}, nil))), ErrUnsafePath},
		{"directory", zstdOf(t, tarOf(t, withIndex([]member{dir, a, b}, nil))), ErrUnsafePath},
		{"traversal", zstdOf(t, tarOf(t, withIndex([]member{trav, b}, nil))), ErrUnsafePath},
		{"absolute", zstdOf(t, tarOf(t, withIndex([]member{abs, b}, nil))), ErrUnsafePath},
		{"duplicate", zstdOf(t, tarOf(t, withIndex([]member{a, a}, nil))), ErrUnsafePath},
		{"file under file", zstdOf(t, tarOf(t, withIndex([]member{a, reg("a/x", nil)}, nil))), ErrUnsafePath},
		{"mode", zstdOf(t, tarOf(t, withIndex([]member{mode, b}, nil))), ErrMalformed},
		{"owner", zstdOf(t, tarOf(t, withIndex([]member{owner, b}, nil))), ErrMalformed},
		{"pax record", zstdOf(t, tarOf(t, withIndex([]member{pax, b}, nil))), ErrMalformed},
		{"index unsafe path", zstdOf(t, tarOf(t, withIndex(good, func(i *Index) { i.Files[0].Path = "../a" }))), ErrUnsafePath},
		{"index unknown field", zstdOf(t, tarOf(t, append(good, reg(IndexName, []byte(`{"format":1,"extra":1}`))))), ErrMalformed},
		{"index format", zstdOf(t, tarOf(t, withIndex(good, func(i *Index) { i.Format = 2 }))), ErrMalformed},
		{"index total", zstdOf(t, tarOf(t, withIndex(good, func(i *Index) { i.TotalBytes++ }))), ErrMalformed},
		{"index size", zstdOf(t, tarOf(t, withIndex(good, func(i *Index) { i.Files[1].Size++ }))), ErrMalformed},
		{"index time", zstdOf(t, tarOf(t, withIndex(good, func(i *Index) { i.Created = i.Created.Add(5e9) }))), ErrMalformed},
		{"garbage after tar", zstdOf(t, append(bytes.Clone(goodTar), 1, 2, 3)), ErrMalformed},
		{"zeros after tar", zstdOf(t, append(bytes.Clone(goodTar), make([]byte, 10240)...)), ErrMalformed},
		{"garbage after frame", append(bytes.Clone(goodZst), 1, 2, 3), ErrMalformed},
		{"second frame", append(bytes.Clone(goodZst), zstdOf(t, []byte("more"))...), ErrMalformed},
		{"skippable frame", skippable, ErrMalformed},
		{"truncated frame", goodZst[:len(goodZst)-5], ErrMalformed},
		{"flipped byte", func() []byte { c := bytes.Clone(goodZst); c[len(c)/2] ^= 1; return c }(), ErrMalformed},
		{"empty", nil, ErrMalformed},
		{"not compressed", goodTar, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bun, err := Open(t.Context(), bytes.NewReader(tt.in), nil, &OpenOptions{Plain: true})
			if tt.want == nil {
				require.NoError(t, err)
				assert.Equal(t, []string{"a", "d/b"}, bun.Files())
				return
			}
			assert.ErrorIs(t, err, tt.want)
			assert.True(t, typedOpenError(err), "%v", err)
		})
	}
	var de *DigestError
	_, err := Open(t.Context(), bytes.NewReader(zstdOf(t, tarOf(t, append([]member{a, evil}, indexFor(t, good, nil))))), nil, &OpenOptions{Plain: true})
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "d/b", de.Path)
	sum := sha256.Sum256(evil.data)
	assert.Equal(t, hex.EncodeToString(sum[:]), de.Got)
}

var openErrors = []error{ErrMalformed, ErrDigest, ErrTooLarge, ErrDecrypt, ErrUnsafePath}

func typedOpenError(err error) bool {
	for _, e := range openErrors {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func TestOpenTooLarge(t *testing.T) {
	// A small bundle expanding past the cap: a highly compressible member.
	big := reg("big", bytes.Repeat([]byte("a"), 4<<20))
	in := zstdOf(t, tarOf(t, []member{big, indexFor(t, []member{big}, nil)}))
	require.Less(t, len(in), 1<<20)
	_, err := Open(t.Context(), bytes.NewReader(in), nil, &OpenOptions{Plain: true, MaxSize: 1 << 20})
	assert.ErrorIs(t, err, ErrTooLarge)
	_, err = Open(t.Context(), bytes.NewReader(in), nil, &OpenOptions{Plain: true, MaxSize: 1000})
	assert.ErrorIs(t, err, ErrTooLarge)
}

func TestExtract(t *testing.T) {
	in, idx := writePlain(t, &Options{Sources: sampleSources(t)})
	b, err := Open(t.Context(), bytes.NewReader(in), nil, &OpenOptions{Plain: true})
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "out")
	require.NoError(t, b.Extract(dir))
	for _, f := range idx.Files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		require.NoError(t, err)
		want, _ := b.ReadFile(f.Path)
		assert.Equal(t, want, got)
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.Path)))
		require.NoError(t, err)
		assert.Zero(t, fi.Mode().Perm()&^0o644, f.Path)
	}
	_, err = os.Stat(filepath.Join(dir, IndexName))
	require.NoError(t, err)
	// Not into a non-empty directory.
	assert.ErrorIs(t, b.Extract(dir), ErrExists)
	// An empty existing one is fine.
	empty := t.TempDir()
	require.NoError(t, b.Extract(empty))
}
