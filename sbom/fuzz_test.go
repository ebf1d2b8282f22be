package sbom_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/rootfs"
	"github.com/fogkit/fogkit/sbom"
)

// smallArchive is an initramfs of two files, compressed or not.
func smallArchive(t testing.TB, c rootfs.Compression) []byte {
	b := rootfs.New(&rootfs.Options{Compression: c})
	require.NoError(t, b.AddFile(rootfs.Entry{Path: "/init", Mode: 0o755}, []byte("#!/bin/sh\n")))
	require.NoError(t, b.AddFile(rootfs.Entry{Path: "/bin/x", Mode: 0o755}, fakeELF()[:64]))
	require.NoError(t, b.Add(rootfs.Entry{Path: "/bin/y", Type: rootfs.TypeHardlink, Linkname: "/bin/x"}))
	var buf bytes.Buffer
	_, err := b.WriteTo(&buf)
	require.NoError(t, err)
	return buf.Bytes()
}

func smallDoc(t testing.TB) []byte {
	data := smallArchive(t, rootfs.CompressNone)
	in := &sbom.Input{
		Name: "f", Version: "1", Outputs: []sbom.File{{Name: "f.ova", SHA256: hexSHA256(nil)}},
		Initramfs: &sbom.Archive{File: sbom.File{Name: "i", SHA256: hexSHA256(data)}, R: bytes.NewReader(data)},
		Packages:  []sbom.Package{{Name: "k", Version: "1", PURL: sbom.DebianPURL("k", "1", "amd64")}},
	}
	var out bytes.Buffer
	_, err := sbom.Write(t.Context(), &out, in, nil)
	require.NoError(t, err)
	return out.Bytes()
}

// Read never panics, and what it accepts reads back once re-encoded,
// to the same encoding.
func FuzzRead(f *testing.F) {
	good := smallDoc(f)
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT"}`))
	f.Add(bytes.Replace(good, []byte(`"SHA1"`), []byte(`"SHA256"`), 1))
	f.Add(good[:len(good)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := sbom.Read(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, sbom.ErrMalformed) && !errors.Is(err, sbom.ErrChecksum) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		again, err := json.Marshal(doc)
		require.NoError(t, err)
		doc2, err := sbom.Read(bytes.NewReader(again))
		require.NoError(t, err)
		third, err := json.Marshal(doc2)
		require.NoError(t, err)
		require.Equal(t, string(again), string(third))
	})
}

// Write over any archive bytes: a typed error, or a document Read accepts.
func FuzzWriteInitramfs(f *testing.F) {
	f.Add(smallArchive(f, rootfs.CompressNone))
	f.Add(smallArchive(f, rootfs.CompressGzip))
	f.Add(smallArchive(f, rootfs.CompressZstd))
	f.Add([]byte("070701"))
	f.Add([]byte{})
	opts := &sbom.Options{MaxFiles: 100, MaxBinaryBytes: 1 << 16,
		Reader: &rootfs.ReaderOptions{MaxEntries: 1000, MaxBytes: 4 << 20, MaxPadding: 1 << 16, MaxNameBytes: 1 << 16}}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &sbom.Input{Name: "f", Initramfs: &sbom.Archive{File: sbom.File{Name: "i", SHA256: hexSHA256(data)}, R: bytes.NewReader(data)}}
		var out bytes.Buffer
		_, err := sbom.Write(t.Context(), &out, in, opts)
		if err != nil {
			if !errors.Is(err, sbom.ErrInitramfs) && !errors.Is(err, sbom.ErrLimit) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			require.Zero(t, out.Len())
			return
		}
		written := bytes.Clone(out.Bytes())
		doc, err := sbom.Read(&out)
		require.NoError(t, err)
		// The hand-made encoding of files and relationships is
		// encoding/json's, but for invalid UTF-8, which both write as
		// an escaped U+FFFD that reads back as the character itself.
		if !bytes.Contains(written, []byte(`\ufffd`)) {
			m, err := json.MarshalIndent(doc, "", "  ")
			require.NoError(t, err)
			require.Equal(t, string(written), string(m)+"\n")
		}
	})
}
