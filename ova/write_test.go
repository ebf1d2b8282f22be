package ova

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteLayout(t *testing.T) {
	ova, res := buildOVA(t, nil)
	require.Zero(t, len(ova)%blockSize, "whole 512-byte blocks")
	require.True(t, isZeroBlock(ova[len(ova)-2*blockSize:len(ova)-blockSize]) && isZeroBlock(ova[len(ova)-blockSize:]), "two zero blocks at the end")

	var names []string
	for _, e := range res.Entries {
		names = append(names, e.Name)
		h := ova[e.Offset : e.Offset+blockSize]
		assert.Equal(t, "ustar\x0000", string(h[257:265]), "%s: USTAR magic", e.Name)
		assert.Equal(t, byte('0'), h[156], "%s: regular file", e.Name)
		assert.Equal(t, "0000644\x00", string(h[100:108]), "%s: mode", e.Name)
		assert.Equal(t, "0000000\x00", string(h[108:116]), "%s: uid", e.Name)
		assert.Equal(t, "0000000\x00", string(h[116:124]), "%s: gid", e.Name)
		assert.Equal(t, FormatUSTAR, e.Format)
	}
	assert.Equal(t, []string{"app.ovf", "app.mf", "app.cert", "app-disk1.vmdk", "app-disk2.vmdk"}, names)

	// archive/tar reads it back with the same names, sizes and USTAR format.
	tr := tar.NewReader(bytes.NewReader(ova))
	for i := 0; ; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			require.Equal(t, len(res.Entries), i)
			break
		}
		require.NoError(t, err)
		assert.Equal(t, res.Entries[i].Name, h.Name)
		assert.Equal(t, res.Entries[i].Size, h.Size)
		assert.Equal(t, tar.FormatUSTAR, h.Format)
		assert.Equal(t, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), h.ModTime.UTC())
		assert.Equal(t, byte(tar.TypeReg), h.Typeflag)
	}

	// The manifest is exactly our lines.
	files := testFiles()
	desc := testDescriptor("app", files)
	want := "SHA256(app.ovf)= " + hexSHA256(desc) + "\n"
	for _, f := range files {
		rc, _ := f.Open()
		data, _ := io.ReadAll(rc)
		want += "SHA256(" + f.Name + ")= " + hexSHA256(data) + "\n"
	}
	assert.Equal(t, want, string(res.Manifest))
	assert.Regexp(t, `^SHA256\(app\.mf\)= [0-9a-f]{512}\n-----BEGIN CERTIFICATE-----\n`, string(res.Certificate))
}

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Our USTAR header is byte-identical to archive/tar's for the same fields.
func TestHeaderMatchesArchiveTar(t *testing.T) {
	for _, size := range []int64{0, 1, 511, 512, 70001, maxOctalSize} {
		var ours [blockSize]byte
		require.NoError(t, encodeHeader(&ours, "disk.vmdk", size, 1767323045))
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: "disk.vmdk", Size: size, Mode: 0o644, Typeflag: tar.TypeReg,
			ModTime: time.Unix(1767323045, 0), Format: tar.FormatUSTAR}))
		assert.Equal(t, b.Bytes()[:blockSize], ours[:], "size %d", size)
	}
}

// Members of 8 GiB and more get GNU headers with base-256 sizes that
// archive/tar and our reader agree on.
func TestGNUHeaderForHugeMembers(t *testing.T) {
	for _, size := range []int64{maxOctalSize + 1, 9 << 30, 5 << 40} {
		var h [blockSize]byte
		require.NoError(t, encodeHeader(&h, "big.vmdk", size, 0))
		assert.Equal(t, "ustar  \x00", string(h[257:265]))
		assert.Equal(t, byte(0x80), h[124])
		got, err := decodeHeader(h[:], 0, false)
		require.NoError(t, err)
		assert.Equal(t, size, got.Size)
		assert.Equal(t, FormatGNU, got.Format)
		hdr, err := tar.NewReader(bytes.NewReader(append(h[:], make([]byte, 1024)...))).Next()
		require.NoError(t, err)
		assert.Equal(t, size, hdr.Size)
		assert.Equal(t, tar.FormatGNU, hdr.Format)
	}
}

func TestBuildTwiceIdentical(t *testing.T) {
	a, _ := buildOVA(t, nil)
	b, _ := buildOVA(t, nil)
	require.True(t, bytes.Equal(a, b), "two builds with the same inputs and key differ")
}

func TestWriteVerifiesRoundTrip(t *testing.T) {
	for _, alg := range []Digest{SHA1, SHA256, SHA512} {
		for _, last := range []bool{false, true} {
			t.Run(string(alg)+map[bool]string{false: "", true: "-last"}[last], func(t *testing.T) {
				ova, res := buildOVA(t, &Options{Name: "app", Digest: alg, ManifestLast: last, Signer: testSigner(t)})
				rep, err := Verify(t.Context(), bytes.NewReader(ova), &VerifyOptions{TrailingDigest: alg, Roots: testSigner(t).Certificates()})
				require.NoError(t, err)
				assert.True(t, rep.Signed)
				assert.True(t, rep.Signer.Trusted)
				assert.Equal(t, alg, rep.Signer.Algorithm)
				assert.Equal(t, last, rep.Finding(FindingManifestLast))
				assert.Equal(t, alg == SHA1, rep.Finding(FindingWeakDigest))
				require.Len(t, rep.Entries, len(res.Entries))
				for i, e := range res.Entries {
					assert.Equal(t, e.Name, rep.Entries[i].Name)
					assert.Equal(t, e.Digest, rep.Entries[i].Digest, e.Name)
				}
				assert.True(t, strings.HasPrefix(string(res.Certificate), string(alg)+"(app.mf)= "))
			})
		}
	}
}

// countingFile counts Open calls.
func countingFile(f File, opens *int) File {
	open := f.Open
	f.Open = func() (io.ReadCloser, error) { *opens++; return open() }
	return f
}

func TestWritePasses(t *testing.T) {
	data := testVMDK("d.vmdk", bytes.Repeat([]byte("fogkit"), 10000), "")
	sum := sha256.Sum256(data)
	ctx := context.Background()
	cases := []struct {
		name   string
		file   File
		last   bool
		opens  int
		stages []Stage
	}{
		{"prehashed", File{Name: "d.vmdk", Size: int64(len(data)), Digest: sum[:]}, false, 1, []Stage{StageWrite}},
		{"hashed-first", File{Name: "d.vmdk"}, false, 2, []Stage{StageHash, StageWrite}},
		{"manifest-last", File{Name: "d.vmdk", Size: int64(len(data))}, true, 1, []Stage{StageWrite}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opens := 0
			f := c.file
			f.Open = func() (io.ReadCloser, error) { opens++; return io.NopCloser(bytes.NewReader(data)), nil }
			var stages []Stage
			var events []Event
			opt := &Options{Name: "x", ManifestLast: c.last, Progress: func(e Event) {
				events = append(events, e)
				if e.File == "d.vmdk" && (len(stages) == 0 || stages[len(stages)-1] != e.Stage) {
					stages = append(stages, e.Stage)
				}
			}}
			var out bytes.Buffer
			files := []File{{Name: "d.vmdk", Size: int64(len(data))}}
			res, err := Write(ctx, &out, testDescriptor("x", files), []File{f}, opt)
			require.NoError(t, err)
			assert.Equal(t, c.opens, opens)
			assert.Equal(t, c.stages, stages)
			assert.Equal(t, "SHA256(d.vmdk)= "+hex.EncodeToString(sum[:])+"\n", strings.SplitAfter(string(res.Manifest), "\n")[1])
			last := events[len(events)-1]
			assert.Equal(t, last.Done, last.Total)
			_, err = Verify(ctx, &out, &VerifyOptions{AllowUnsigned: true})
			require.NoError(t, err)
		})
	}
}

func TestWriteSizeMismatch(t *testing.T) {
	data := []byte("hello")
	ctx := context.Background()
	desc := smallDescriptor([]File{{Name: "d.vmdk", Size: 5}})
	// Declared larger than the reader.
	_, err := Write(ctx, io.Discard, smallDescriptor([]File{{Name: "d.vmdk", Size: 6}}), []File{ReaderFile("d.vmdk", 6, nil, bytes.NewReader(data))}, &Options{Name: "x", ManifestLast: true})
	assertFileErr(t, err, ErrSizeMismatch, "d.vmdk")
	// Declared smaller than the reader.
	_, err = Write(ctx, io.Discard, smallDescriptor([]File{{Name: "d.vmdk", Size: 4}}), []File{ReaderFile("d.vmdk", 4, nil, bytes.NewReader(data))}, &Options{Name: "x", ManifestLast: true})
	assertFileErr(t, err, ErrSizeMismatch, "d.vmdk")
	// Descriptor ovf:size differs from the file.
	_, err = Write(ctx, io.Discard, smallDescriptor([]File{{Name: "d.vmdk", Size: 9}}), []File{BytesFile("d.vmdk", data)}, &Options{Name: "x"})
	assertFileErr(t, err, ErrSizeMismatch, "d.vmdk")
	// A one-shot reader without digest cannot be hashed in a first pass.
	_, err = Write(ctx, io.Discard, desc, []File{ReaderFile("d.vmdk", 5, nil, bytes.NewReader(data))}, &Options{Name: "x"})
	assertFileErr(t, err, ErrInvalid, "d.vmdk")
}

func assertFileErr(t *testing.T, err error, sentinel error, file string) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, sentinel)
	var names []string
	for _, e := range flatten(err) {
		if !errors.Is(e, sentinel) {
			continue
		}
		var fe *FileError
		var de *DigestError
		switch {
		case errors.As(e, &de):
			names = append(names, de.File)
		case errors.As(e, &fe):
			names = append(names, fe.File)
		}
	}
	assert.Contains(t, names, file, "%v", err)
}

// flatten lists the leaves of a tree of joined errors.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func TestWriteInputChecks(t *testing.T) {
	a, b := BytesFile("a.vmdk", []byte("a")), BytesFile("b.vmdk", []byte("bb"))
	ctx := context.Background()
	cases := []struct {
		name     string
		desc     []File
		files    []File
		opt      Options
		sentinel error
		file     string
	}{
		{"unlisted", []File{a}, []File{a, b}, Options{}, ErrUnlisted, "b.vmdk"},
		{"missing", []File{a, b}, []File{a}, Options{}, ErrMissing, "b.vmdk"},
		{"order", []File{a, b}, []File{b, a}, Options{}, ErrOrder, "b.vmdk"},
		{"dir name", nil, []File{BytesFile("d/a.vmdk", nil)}, Options{}, ErrInvalid, "d/a.vmdk"},
		{"dotdot", nil, []File{BytesFile("..", nil)}, Options{}, ErrInvalid, ".."},
		{"duplicate", []File{a}, []File{a, a}, Options{}, ErrDuplicate, "a.vmdk"},
		{"clash", nil, []File{BytesFile("appliance.mf", nil)}, Options{}, ErrDuplicate, "appliance.mf"},
		{"no open", []File{a}, []File{{Name: "a.vmdk", Size: 1}}, Options{}, ErrInvalid, "a.vmdk"},
		{"bad digest len", []File{a}, []File{{Name: "a.vmdk", Size: 1, Digest: []byte{1}, Open: a.Open}}, Options{}, ErrInvalid, "a.vmdk"},
		{"long name", nil, []File{BytesFile(strings.Repeat("n", 101), nil)}, Options{}, ErrInvalid, strings.Repeat("n", 101)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := Write(ctx, &out, testDescriptor("appliance", c.desc), c.files, &c.opt)
			assertFileErr(t, err, c.sentinel, c.file)
			assert.Zero(t, out.Len(), "nothing written before the checks pass")
		})
	}
	_, err := Write(ctx, io.Discard, []byte("not xml"), nil, nil)
	require.ErrorIs(t, err, ErrDescriptor)
	_, err = Write(ctx, io.Discard, []byte("<Envelope/>"), nil, &Options{Digest: "MD5"})
	require.ErrorIs(t, err, ErrInvalid)
}

func TestWriteCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	data := make([]byte, 3*copyChunk)
	files := []File{BytesFile("d.vmdk", data)}
	n := 0
	_, err := Write(ctx, io.Discard, testDescriptor("x", files), files, &Options{Name: "x", Progress: func(e Event) {
		if n++; n == 3 {
			cancel()
		}
	}})
	require.ErrorIs(t, err, context.Canceled)
}

func TestWriteSHA512Signature(t *testing.T) {
	ova, res := buildOVA(t, &Options{Name: "app", Digest: SHA512, Signer: testSigner(t)})
	m := members(t, ova)
	mf := m[1].data
	assert.Equal(t, res.Manifest, mf)
	sum := sha512.Sum512(m[0].data)
	assert.True(t, strings.HasPrefix(string(mf), "SHA512(app.ovf)= "+hex.EncodeToString(sum[:])+"\n"))
}

// A file hashed in a first pass whose bytes change (same size) before the
// write pass must not yield an archive whose manifest no longer matches.
func TestWriteSourceChangedBetweenPasses(t *testing.T) {
	first := bytes.Repeat([]byte("a"), 3000)
	second := bytes.Repeat([]byte("b"), 3000)
	opens := 0
	f := File{Name: "d.vmdk", Open: func() (io.ReadCloser, error) {
		opens++
		if opens == 1 {
			return io.NopCloser(bytes.NewReader(first)), nil
		}
		return io.NopCloser(bytes.NewReader(second)), nil
	}}
	desc := smallDescriptor([]File{{Name: "d.vmdk", Size: int64(len(first))}})
	_, err := Write(t.Context(), io.Discard, desc, []File{f}, &Options{Name: "x"})
	require.Equal(t, 2, opens)
	assertFileErr(t, err, ErrDigestMismatch, "d.vmdk")
	var de *DigestError
	require.ErrorAs(t, err, &de)
	want, got := sha256.Sum256(first), sha256.Sum256(second)
	assert.Equal(t, hex.EncodeToString(want[:]), de.Want)
	assert.Equal(t, hex.EncodeToString(got[:]), de.Got)
	assert.Equal(t, SHA256, de.Algorithm)
}
