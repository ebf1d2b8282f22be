package sbom_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/rootfs"
	"github.com/fogkit/fogkit/sbom"
)

// Bad input gives a typed error and writes nothing.
func TestWriteErrors(t *testing.T) {
	a := makeInitramfs(t, nil)
	withArchive := func(data []byte) func(*sbom.Input) {
		return func(in *sbom.Input) { in.Initramfs.R = bytes.NewReader(data) }
	}
	elf := fakeELF()
	for _, c := range []struct {
		name   string
		edit   func(*sbom.Input)
		opts   *sbom.Options
		is     []error
		target any
	}{
		{name: "not a cpio", edit: withArchive([]byte("this is not an archive at all")), is: []error{sbom.ErrInitramfs, rootfs.ErrFormat}},
		{name: "truncated", edit: withArchive(a.data[:len(a.data)/2]), is: []error{sbom.ErrInitramfs}},
		{name: "empty reader", edit: withArchive(nil), is: []error{sbom.ErrInitramfs, rootfs.ErrFormat}},
		{name: "MaxFiles", opts: &sbom.Options{MaxFiles: 3}, is: []error{sbom.ErrLimit}, target: new(*sbom.LimitError)},
		{name: "reader MaxEntries", opts: &sbom.Options{Reader: &rootfs.ReaderOptions{MaxEntries: 2}}, is: []error{sbom.ErrInitramfs, rootfs.ErrLimit}},
		{name: "non-Go ELF binary", edit: func(in *sbom.Input) {
			in.Binaries = []sbom.Binary{{Name: "bin/busybox", R: bytes.NewReader(elf), Size: int64(len(elf))}}
		}, is: []error{sbom.ErrNotGoBinary}, target: new(*sbom.BinaryError)},
		{name: "short binary", edit: func(in *sbom.Input) {
			in.Binaries = []sbom.Binary{{Name: "app", R: bytes.NewReader(elf), Size: int64(len(elf)) + 1}}
		}, is: []error{sbom.ErrInput, io.ErrUnexpectedEOF}},
		{name: "nil binary reader", edit: func(in *sbom.Input) { in.Binaries = []sbom.Binary{{Name: "app"}} }, is: []error{sbom.ErrInput}},
		{name: "no name", edit: func(in *sbom.Input) { in.Name = "" }, is: []error{sbom.ErrInput}, target: new(*sbom.InputError)},
		{name: "control character", edit: func(in *sbom.Input) { in.Version = "1\n2" }, is: []error{sbom.ErrInput}},
		{name: "bad digest", edit: func(in *sbom.Input) { in.Outputs[1].SHA256 = "abc" }, is: []error{sbom.ErrInput}},
		{name: "bad package digest", edit: func(in *sbom.Input) { in.Packages[0].SHA256 = strings.Repeat("g", 64) }, is: []error{sbom.ErrInput}},
		{name: "bad purl", edit: func(in *sbom.Input) { in.Packages[0].PURL = "deb/linux" }, is: []error{sbom.ErrInput}},
		{name: "duplicate package", edit: func(in *sbom.Input) { in.Packages[1] = in.Packages[0] }, is: []error{sbom.ErrInput}},
		{name: "duplicate output", edit: func(in *sbom.Input) { in.Outputs[1] = in.Outputs[0] }, is: []error{sbom.ErrInput}},
		{name: "relative namespace", edit: func(in *sbom.Input) { in.Namespace = "fogdemo/1" }, is: []error{sbom.ErrInput}},
		{name: "namespace fragment", edit: func(in *sbom.Input) { in.Namespace = "https://x.example/a#b" }, is: []error{sbom.ErrInput}},
		{name: "nil archive reader", edit: func(in *sbom.Input) { in.Initramfs.R = nil }, is: []error{sbom.ErrInput}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := input(a)
			if c.edit != nil {
				c.edit(in)
			}
			var out bytes.Buffer
			_, err := sbom.Write(t.Context(), &out, in, c.opts)
			require.Error(t, err)
			for _, e := range c.is {
				assert.ErrorIs(t, err, e)
			}
			if c.target != nil {
				assert.ErrorAs(t, err, c.target)
			}
			assert.Zero(t, out.Len(), "nothing written")
		})
	}
	_, err := sbom.Write(t.Context(), io.Discard, nil, nil)
	assert.ErrorIs(t, err, sbom.ErrInput)
}

func TestWriteCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out bytes.Buffer
	_, err := sbom.Write(ctx, &out, input(makeInitramfs(t, nil)), nil)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, out.Len())
}

// Many files: the cap is hit on the archive's count, with nothing held
// but the files up to it.
func TestWriteManyFiles(t *testing.T) {
	b := rootfs.New(&rootfs.Options{Compression: rootfs.CompressZstd, AllowNoInit: true})
	for i := range 5000 {
		require.NoError(t, b.AddFile(rootfs.Entry{Path: "/f/" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strconv.Itoa(i), Mode: 0o644}, []byte(strconv.Itoa(i))))
	}
	var arch bytes.Buffer
	_, err := b.WriteTo(&arch)
	require.NoError(t, err)
	in := func() *sbom.Input {
		return &sbom.Input{Name: "many", Initramfs: &sbom.Archive{File: sbom.File{Name: "i", SHA256: hexSHA256(arch.Bytes())}, R: bytes.NewReader(arch.Bytes())}}
	}
	var out bytes.Buffer
	res, err := sbom.Write(t.Context(), &out, in(), nil)
	require.NoError(t, err)
	assert.Equal(t, 5000, res.Files)
	_, err = sbom.Read(&out)
	require.NoError(t, err)

	_, err = sbom.Write(t.Context(), io.Discard, in(), &sbom.Options{MaxFiles: 4999})
	var le *sbom.LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, "MaxFiles", le.Limit)
	assert.EqualValues(t, 4999, le.Max)
}

// A later entry of a path replaces an earlier one, as in the kernel; a
// path replaced by a directory is no file.
func TestWriteReplacedEntries(t *testing.T) {
	var joined bytes.Buffer
	for _, files := range []map[string]string{{"/etc/motd": "one", "/opt/x": "file", `/a "quoted" <&> \\ name\u2028é`: "q"}, {"/etc/motd": "two"}} {
		b := rootfs.New(&rootfs.Options{AllowNoInit: true})
		for p, c := range files {
			require.NoError(t, b.AddFile(rootfs.Entry{Path: p, Mode: 0o644}, []byte(c)))
		}
		if len(files) == 1 {
			require.NoError(t, b.Add(rootfs.Entry{Path: "/opt/x", Type: rootfs.TypeDir, Mode: 0o755}))
		}
		_, err := b.WriteTo(&joined)
		require.NoError(t, err)
	}
	var written bytes.Buffer
	_, err := sbom.Write(t.Context(), &written, &sbom.Input{Name: "r", Initramfs: &sbom.Archive{
		File: sbom.File{Name: "i", SHA256: hexSHA256(joined.Bytes())}, R: bytes.NewReader(joined.Bytes()),
	}}, nil)
	require.NoError(t, err)
	out := bytes.NewBuffer(bytes.Clone(written.Bytes()))
	doc, err := sbom.Read(&written)
	require.NoError(t, err)
	require.Len(t, doc.Files, 2)
	names := map[string]string{}
	for _, f := range doc.Files {
		names[f.FileName] = f.Checksums[1].ChecksumValue
	}
	assert.Equal(t, map[string]string{"./etc/motd": hexSHA256([]byte("two")), `./a "quoted" <&> \\ name\u2028é`: hexSHA256([]byte("q"))}, names)
	m, err := json.MarshalIndent(doc, "", "  ")
	require.NoError(t, err)
	assert.Equal(t, out.String(), string(m)+"\n", "escaping as encoding/json's")
}

// Read refuses what Write would never write.
func TestReadErrors(t *testing.T) {
	var good bytes.Buffer
	_, err := sbom.Write(t.Context(), &good, input(makeInitramfs(t, nil)), nil)
	require.NoError(t, err)
	file0 := func(d *sbom.Document) *sbom.SPDXFile { return &d.Files[0] }
	for _, c := range []struct {
		name string
		edit func(*sbom.Document)
		raw  func([]byte) []byte
		is   error
	}{
		{name: "version", edit: func(d *sbom.Document) { d.SPDXVersion = "SPDX-2.2" }, is: sbom.ErrMalformed},
		{name: "created", edit: func(d *sbom.Document) { d.CreationInfo.Created = "yesterday" }, is: sbom.ErrMalformed},
		{name: "creator", edit: func(d *sbom.Document) { d.CreationInfo.Creators = []string{"fogkit"} }, is: sbom.ErrMalformed},
		{name: "namespace", edit: func(d *sbom.Document) { d.DocumentNamespace = "x" }, is: sbom.ErrMalformed},
		{name: "short checksum", edit: func(d *sbom.Document) { file0(d).Checksums[1].ChecksumValue = "abcd" }, is: sbom.ErrChecksum},
		{name: "upper-case checksum", edit: func(d *sbom.Document) {
			file0(d).Checksums[1].ChecksumValue = strings.ToUpper(file0(d).Checksums[1].ChecksumValue)
		}, is: sbom.ErrChecksum},
		{name: "algorithm", edit: func(d *sbom.Document) { file0(d).Checksums[1].Algorithm = "CRC32" }, is: sbom.ErrChecksum},
		{name: "no SHA1", edit: func(d *sbom.Document) { file0(d).Checksums = file0(d).Checksums[1:] }, is: sbom.ErrChecksum},
		{name: "changed file digest", edit: func(d *sbom.Document) {
			file0(d).Checksums[0].ChecksumValue = strings.Repeat("0", 40)
		}, is: sbom.ErrChecksum},
		{name: "bad SPDXID", edit: func(d *sbom.Document) { d.Packages[0].SPDXID = "SPDXRef-a_b" }, is: sbom.ErrMalformed},
		{name: "duplicate SPDXID", edit: func(d *sbom.Document) { d.Packages[1].SPDXID = d.Packages[0].SPDXID }, is: sbom.ErrMalformed},
		{name: "dangling relationship", edit: func(d *sbom.Document) { d.Relationships[0].Related = "SPDXRef-nothing" }, is: sbom.ErrMalformed},
		{name: "relationship type", edit: func(d *sbom.Document) { d.Relationships[0].Type = "LIKES" }, is: sbom.ErrMalformed},
		{name: "describes nothing", edit: func(d *sbom.Document) {
			for i := range d.Relationships {
				if d.Relationships[i].Type == sbom.RelDescribes {
					d.Relationships[i].Type = sbom.RelContains
				}
			}
		}, is: sbom.ErrMalformed},
		{name: "file name", edit: func(d *sbom.Document) { file0(d).FileName = "/init" }, is: sbom.ErrMalformed},
		{name: "purl", edit: func(d *sbom.Document) {
			for i := range d.Packages {
				for j := range d.Packages[i].ExternalRefs {
					d.Packages[i].ExternalRefs[j].ReferenceLocator = "golang/x"
				}
			}
		}, is: sbom.ErrMalformed},
		{name: "unknown field", raw: func(b []byte) []byte { return bytes.Replace(b, []byte(`"name"`), []byte(`"nme"`), 1) }, is: sbom.ErrMalformed},
		{name: "trailing data", raw: func(b []byte) []byte { return append(b, "{}"...) }, is: sbom.ErrMalformed},
		{name: "not JSON", raw: func([]byte) []byte { return []byte("SPDXVersion: SPDX-2.3") }, is: sbom.ErrMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := good.Bytes()
			if c.edit != nil {
				d, err := sbom.Read(bytes.NewReader(data))
				require.NoError(t, err)
				c.edit(d)
				data, err = json.Marshal(d)
				require.NoError(t, err)
			}
			if c.raw != nil {
				data = c.raw(bytes.Clone(data))
			}
			_, err := sbom.Read(bytes.NewReader(data))
			require.Error(t, err)
			assert.ErrorIs(t, err, c.is)
			var fe *sbom.FormatError
			assert.True(t, errors.As(err, &fe), "%T", err)
		})
	}
}
