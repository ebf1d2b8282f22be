package sbom_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spdx/tools-golang/spdxlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx23 "github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/fogkit/fogkit/sbom"
)

// The SBOM of a real initramfs with a Go /init, read by the SPDX
// project's own Go library: every file with the right digest, the Go
// modules of /init with purls and relationships, the structure of the
// document.
func TestWriteReadBySPDXTools(t *testing.T) {
	bin := goBinary(t)
	a := makeInitramfs(t, bin)
	var events int
	var out bytes.Buffer
	res, err := sbom.Write(t.Context(), &out, input(a), &sbom.Options{Progress: func(sbom.Event) { events++ }})
	require.NoError(t, err)
	assert.Equal(t, len(a.files), events)
	assert.Equal(t, []string{"/init"}, res.GoBinaries)
	assert.Empty(t, res.Uninspected)
	assert.Equal(t, int64(out.Len()), res.Size)
	assert.Equal(t, hexSHA256(out.Bytes()), res.SHA256)
	assert.Equal(t, len(a.files), res.Files)

	// The SPDX 2.3 model of tools-golang, then its validation (on its
	// current model, which is 2.3).
	var doc spdx23.Document
	require.NoError(t, spdxjson.ReadInto(bytes.NewReader(out.Bytes()), &doc))
	cur, err := spdxjson.Read(bytes.NewReader(out.Bytes()))
	require.NoError(t, err)
	require.NoError(t, spdxlib.ValidateDocument(cur))
	described, err := spdxlib.GetDescribedPackageIDs(cur)
	require.NoError(t, err)
	require.Len(t, described, 1)

	assert.Equal(t, "SPDX-2.3", doc.SPDXVersion)
	assert.Equal(t, "fogdemo-1.0.0", doc.DocumentName)
	assert.Equal(t, res.Namespace, doc.DocumentNamespace)
	assert.True(t, strings.HasPrefix(doc.DocumentNamespace, "https://fogkit.dev/spdx/fogdemo-1.0.0-"), doc.DocumentNamespace)
	assert.Equal(t, "2026-12-01T12:00:00Z", doc.CreationInfo.Created)
	require.Len(t, doc.CreationInfo.Creators, 2)
	assert.Equal(t, "Tool", doc.CreationInfo.Creators[0].CreatorType)
	assert.True(t, strings.HasPrefix(doc.CreationInfo.Creators[0].Creator, "fogkit-"))
	assert.Equal(t, common.Creator{CreatorType: "Organization", Creator: "Fog Demo Inc."}, doc.CreationInfo.Creators[1])

	// Every regular file of the archive, with its SHA-256 and SHA-1, and
	// nothing else.
	got := map[string]string{}
	ids := map[string]string{} // fileName → SPDXID
	for _, f := range doc.Files {
		for _, c := range f.Checksums {
			if c.Algorithm == common.SHA256 {
				got[f.FileName] = c.Value
			}
		}
		ids[f.FileName] = string(f.FileSPDXIdentifier)
		assert.Len(t, f.Checksums, 2)
	}
	want := map[string]string{}
	for p, c := range a.files {
		want[p] = hexSHA256(c)
	}
	assert.Equal(t, want, got)

	rels := map[string][]string{} // "A TYPE" → Bs
	for _, r := range doc.Relationships {
		k := string(r.RefA.ElementRefID) + " " + r.Relationship
		rels[k] = append(rels[k], string(r.RefB.ElementRefID))
	}
	pkgs := map[string]*spdx23.Package{}
	byName := map[string]*spdx23.Package{}
	for _, p := range doc.Packages {
		pkgs[string(p.PackageSPDXIdentifier)] = p
		byName[p.PackageName+"@"+p.PackageVersion] = p
	}
	app := pkgs[string(described[0])]
	require.NotNil(t, app)
	assert.Equal(t, "fogdemo", app.PackageName)
	assert.Equal(t, "Fog Demo Inc.", app.PackageSupplier.Supplier)

	var contained []string
	for _, id := range rels[string(app.PackageSPDXIdentifier)+" CONTAINS"] {
		contained = append(contained, pkgs[id].PackageName)
	}
	slices.Sort(contained)
	assert.Equal(t, []string{"fogdemo-disk1.vmdk", "fogdemo.ova", "initrd.img", "linux-image-6.1.0-26-amd64", "systemd-boot-efi"}, contained)

	kernel := byName["linux-image-6.1.0-26-amd64@6.1.112-1"]
	require.NotNil(t, kernel)
	require.Len(t, kernel.PackageExternalReferences, 1)
	assert.Equal(t, "pkg:deb/debian/linux-image-6.1.0-26-amd64@6.1.112-1?arch=amd64", kernel.PackageExternalReferences[0].Locator)
	assert.Equal(t, "Debian", kernel.PackageSupplier.Supplier)
	assert.Equal(t, "pkg:deb/debian/systemd-boot-efi@252.30-1~deb12u2?arch=amd64", byName["systemd-boot-efi@252.30-1~deb12u2"].PackageExternalReferences[0].Locator)

	initrd := byName["initrd.img@1.0.0"]
	require.NotNil(t, initrd)
	assert.True(t, initrd.FilesAnalyzed)
	assert.Len(t, rels[string(initrd.PackageSPDXIdentifier)+" CONTAINS"], len(a.files))
	assert.Equal(t, hexSHA256(a.data), initrd.PackageChecksums[0].Value)

	// /init's modules: the main module it was built from, the modules it
	// links (as `go version -m` lists them) and the standard library.
	initID := ids["./init"]
	gen := rels[initID+" GENERATED_FROM"]
	require.Len(t, gen, 1)
	assert.Equal(t, sbom.ModulePath, pkgs[gen[0]].PackageName)
	linked := map[string]string{}
	for _, id := range rels[initID+" STATIC_LINK"] {
		p := pkgs[id]
		linked[p.PackageName] = p.PackageVersion
		require.Len(t, p.PackageExternalReferences, 1)
		assert.Equal(t, sbom.GoPURL(p.PackageName, p.PackageVersion), p.PackageExternalReferences[0].Locator)
		if p.PackageName != "stdlib" {
			assert.True(t, strings.HasPrefix(p.PackageComment, "go.sum h1:"), p.PackageComment)
		}
	}
	assert.Equal(t, "v1.20.3", linked["github.com/klauspost/compress"])
	assert.Equal(t, "v1.5.2", linked["github.com/ProtonMail/go-crypto"])
	assert.True(t, strings.HasPrefix(linked["stdlib"], "go1."), linked["stdlib"])
	// The non-Go ELF has no modules.
	assert.Empty(t, rels[ids["./bin/busybox"]+" STATIC_LINK"])

	var tool *spdx23.Package
	for _, p := range doc.Packages {
		if p.PackageName == sbom.ModulePath && len(rels[string(p.PackageSPDXIdentifier)+" BUILD_TOOL_OF"]) > 0 {
			tool = p
		}
	}
	require.NotNil(t, tool, "fogkit as BUILD_TOOL_OF")

	// Our own reader accepts it, verification code included.
	rd, err := sbom.Read(bytes.NewReader(out.Bytes()))
	require.NoError(t, err)
	assert.Len(t, rd.Files, len(a.files))
}

// Same input, same bytes; and the streamed encoding is exactly
// json.MarshalIndent of the document.
func TestWriteTwice(t *testing.T) {
	a := makeInitramfs(t, nil)
	var one, two bytes.Buffer
	r1, err := sbom.Write(t.Context(), &one, input(a), nil)
	require.NoError(t, err)
	r2, err := sbom.Write(t.Context(), &two, input(a), nil)
	require.NoError(t, err)
	assert.Equal(t, one.Bytes(), two.Bytes())
	assert.Equal(t, r1, r2)

	doc, err := sbom.Read(bytes.NewReader(one.Bytes()))
	require.NoError(t, err)
	m, err := json.MarshalIndent(doc, "", "  ")
	require.NoError(t, err)
	assert.Equal(t, string(one.Bytes()), string(m)+"\n")
	assert.True(t, slices.IsSortedFunc(doc.Packages, func(x, y sbom.SPDXPackage) int { return strings.Compare(x.SPDXID, y.SPDXID) }))
	assert.True(t, slices.IsSortedFunc(doc.Files, func(x, y sbom.SPDXFile) int { return strings.Compare(x.SPDXID, y.SPDXID) }))
	assert.True(t, slices.IsSortedFunc(doc.Relationships, func(x, y sbom.Relationship) int {
		return strings.Compare(x.Element+" "+x.Type+" "+x.Related, y.Element+" "+y.Type+" "+y.Related)
	}))
	assert.Len(t, doc.Files, len(a.files))

	// Order of the caller's slices does not matter.
	in := input(a)
	slices.Reverse(in.Outputs)
	slices.Reverse(in.Packages)
	var three bytes.Buffer
	_, err = sbom.Write(t.Context(), &three, in, nil)
	require.NoError(t, err)
	assert.Equal(t, one.Bytes(), three.Bytes())
}

// Go binaries given beside the initramfs; Options are not mutated.
func TestWriteBinaries(t *testing.T) {
	bin := goBinary(t)
	a := makeInitramfs(t, nil)
	in := input(a)
	in.Created = time.Time{}
	in.Binaries = []sbom.Binary{{Name: "/usr/bin/app", R: bytes.NewReader(bin), Size: int64(len(bin))}}
	o := &sbom.Options{}
	var out bytes.Buffer
	res, err := sbom.Write(t.Context(), &out, in, o)
	require.NoError(t, err)
	assert.Equal(t, &sbom.Options{}, o)
	assert.Equal(t, []string{"/usr/bin/app"}, res.GoBinaries)

	cur, err := spdxjson.Read(bytes.NewReader(out.Bytes()))
	require.NoError(t, err)
	require.NoError(t, spdxlib.ValidateDocument(cur))

	doc, err := sbom.Read(&out)
	require.NoError(t, err)
	require.Len(t, doc.Files, len(a.files)+1)
	assert.True(t, slices.IsSortedFunc(doc.Files, func(x, y sbom.SPDXFile) int { return strings.Compare(x.SPDXID, y.SPDXID) }))
	app := doc.Files[0]
	assert.Equal(t, "./usr/bin/app", app.FileName)
	assert.Equal(t, []string{"BINARY"}, app.FileTypes)
	assert.Equal(t, hexSHA256(bin), app.Checksums[1].ChecksumValue)
	assert.Equal(t, "1970-01-01T00:00:00Z", doc.CreationInfo.Created)
	var modules int
	for _, r := range doc.Relationships {
		if r.Element == app.SPDXID && r.Type == sbom.RelStaticLink {
			modules++
		}
	}
	assert.Greater(t, modules, 5)
}

// ELF files over MaxBinaryBytes are hashed and reported, not inspected.
func TestWriteUninspected(t *testing.T) {
	bin := goBinary(t)
	a := makeInitramfs(t, bin)
	var out bytes.Buffer
	res, err := sbom.Write(t.Context(), &out, input(a), &sbom.Options{MaxBinaryBytes: 1000})
	require.NoError(t, err)
	assert.Equal(t, []string{"/bin/busybox", "/init"}, res.Uninspected)
	assert.Empty(t, res.GoBinaries)
	doc, err := sbom.Read(&out)
	require.NoError(t, err)
	for _, f := range doc.Files {
		if f.FileName == "./init" {
			assert.Equal(t, hexSHA256(bin), f.Checksums[1].ChecksumValue)
		}
	}
}

func TestPURL(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{sbom.GoPURL("github.com/klauspost/compress", "v1.20.3"), "pkg:golang/github.com/klauspost/compress@v1.20.3"},
		{sbom.GoPURL("github.com/fogkit/fogkit", "(devel)"), "pkg:golang/github.com/fogkit/fogkit@%28devel%29"},
		{sbom.GoPURL("example.com/m", "v0.0.0-20260101-abc+incompatible"), "pkg:golang/example.com/m@v0.0.0-20260101-abc%2Bincompatible"},
		{sbom.DebianPURL("libc6", "2.36-9+deb12u8", "amd64"), "pkg:deb/debian/libc6@2.36-9%2Bdeb12u8?arch=amd64"},
		{sbom.DebianPURL("grub", "1:2.06-13", ""), "pkg:deb/debian/grub@1%3A2.06-13"},
	} {
		assert.Equal(t, c.want, c.got)
	}
}
