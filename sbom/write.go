package sbom

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// ModulePath is fogkit's module, described as the build tool.
const ModulePath = "github.com/fogkit/fogkit"

// Write writes the SPDX 2.3 JSON document of an appliance to w and
// reports what it wrote. The same Input (and the same fogkit binary) gives
// the same bytes: elements are sorted by SPDXID, SPDXIDs derive from names
// and paths, and the only time is Input.Created.
//
// Every problem with the input (a malformed field, an unreadable
// initramfs, a cap that is hit) is found before the first byte is written;
// after that only w can fail.
func Write(ctx context.Context, w io.Writer, in *Input, o *Options) (*Result, error) {
	if in == nil {
		return nil, inputErr("Input", "nil")
	}
	opts := o.withDefaults()
	pl, res, err := build(ctx, in, opts)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	if err := encode(cw, pl); err != nil {
		return nil, err
	}
	res.Size = cw.n
	res.SHA256 = hex.EncodeToString(h.Sum(nil))
	return res, nil
}

// builder collects elements and checks that SPDXIDs are unique.
type builder struct {
	doc  *Document
	ids  map[string]bool
	rels map[Relationship]bool
}

func (b *builder) pkg(p SPDXPackage) error {
	if b.ids[p.SPDXID] {
		return inputErr("Packages", "two elements with the SPDXID %s (%s)", p.SPDXID, p.Name)
	}
	b.ids[p.SPDXID] = true
	b.doc.Packages = append(b.doc.Packages, p)
	return nil
}

func (b *builder) rel(a, typ, c string) {
	b.rels[Relationship{Element: a, Type: typ, Related: c}] = true
}

// plan is the document to encode: doc holds every element but the
// initramfs files, which are encoded from files (sorted by SPDXID) with
// their CONTAINS relationships from container.
type plan struct {
	doc       *Document
	files     []lazyFile
	container string
}

type lazyFile struct {
	id, path string
	c        *content
}

func build(ctx context.Context, in *Input, o Options) (*plan, *Result, error) {
	if err := checkInput(in); err != nil {
		return nil, nil, err
	}
	var scan *scanner
	if in.Initramfs != nil {
		var err error
		if scan, err = scanInitramfs(ctx, in.Initramfs.R, o); err != nil {
			return nil, nil, err
		}
	}
	bins := make([]*content, len(in.Binaries))
	for i := range in.Binaries {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		c, err := readBinary(&in.Binaries[i], fmt.Sprintf("Binaries[%d]", i))
		if err != nil {
			return nil, nil, err
		}
		bins[i] = c
		if o.Progress != nil {
			o.Progress(Event{Stage: "binaries", File: in.Binaries[i].Name, Done: int64(i + 1), Total: int64(len(in.Binaries))})
		}
	}

	fkVersion := fogkitVersion()
	tool := in.Tool
	if tool == "" {
		tool = "fogkit-" + fkVersion
	}
	creators := []string{"Tool: " + tool}
	if in.Supplier != "" {
		creators = append(creators, supplier(in.Supplier))
	}
	ns := in.Namespace
	if ns == "" {
		ns = defaultNamespace(in)
	}
	docName := in.Name
	if in.Version != "" {
		docName += "-" + in.Version
	}
	doc := &Document{
		SPDXVersion: SPDXVersion, DataLicense: DataLicense, SPDXID: DocumentID,
		Name: docName, DocumentNamespace: ns,
		CreationInfo: CreationInfo{Created: created(in.Created), Creators: creators},
		Packages:     []SPDXPackage{}, Files: []SPDXFile{}, Relationships: []Relationship{},
	}
	b := &builder{doc: doc, ids: map[string]bool{DocumentID: true}, rels: map[Relationship]bool{}}
	pl := &plan{doc: doc}
	res := &Result{Namespace: ns}

	app := newPackage(spdxID("Appliance", in.Name), in.Name, in.Version)
	app.Supplier = supplier(in.Supplier)
	if err := b.pkg(app); err != nil {
		return nil, nil, err
	}
	b.rel(DocumentID, RelDescribes, app.SPDXID)

	for _, f := range in.Outputs {
		p := newPackage(spdxID("Output", f.Name), f.Name, in.Version)
		p.PackageFileName = f.Name
		p.Supplier = app.Supplier
		p.Checksums = []Checksum{{"SHA256", strings.ToLower(f.SHA256)}}
		p.PrimaryPackagePurpose = "FILE"
		if err := b.pkg(p); err != nil {
			return nil, nil, err
		}
		b.rel(app.SPDXID, RelContains, p.SPDXID)
	}
	for _, dp := range in.Packages {
		p := newPackage(spdxID("Package", dp.Name+"@"+dp.Version), dp.Name, dp.Version)
		p.PackageFileName = dp.FileName
		p.Supplier = supplier(dp.Supplier)
		if dp.DownloadLocation != "" {
			p.DownloadLocation = dp.DownloadLocation
		}
		if dp.SHA256 != "" {
			p.Checksums = []Checksum{{"SHA256", strings.ToLower(dp.SHA256)}}
		}
		if dp.PURL != "" {
			p.ExternalRefs = []ExternalRef{purlRef(dp.PURL)}
		}
		if err := b.pkg(p); err != nil {
			return nil, nil, err
		}
		b.rel(app.SPDXID, RelContains, p.SPDXID)
	}

	fk := newPackage(spdxID("Tool", ModulePath), ModulePath, fkVersion)
	fk.DownloadLocation = "https://" + ModulePath
	fk.ExternalRefs = []ExternalRef{purlRef(GoPURL(ModulePath, fkVersion))}
	fk.PrimaryPackagePurpose = "APPLICATION"
	if err := b.pkg(fk); err != nil {
		return nil, nil, err
	}
	b.rel(fk.SPDXID, RelBuildToolOf, app.SPDXID)

	goBins := []string{}
	if scan != nil {
		a := in.Initramfs
		p := newPackage(spdxID("Initramfs", a.Name), a.Name, in.Version)
		p.PackageFileName = a.Name
		p.Supplier = app.Supplier
		p.Checksums = []Checksum{{"SHA256", strings.ToLower(a.SHA256)}}
		p.FilesAnalyzed = true
		p.PrimaryPackagePurpose = "ARCHIVE"
		// The initramfs files are kept compact and turned into SPDX
		// files and CONTAINS relationships only as they are encoded.
		for _, f := range scan.files {
			if f.c == nil {
				continue
			}
			id := spdxID("File", f.path)
			pl.files = append(pl.files, lazyFile{id: id, path: f.path, c: f.c})
			if f.c.gobin != nil {
				goBins = append(goBins, f.path)
				if err := b.goModules(id, f.c.gobin); err != nil {
					return nil, nil, err
				}
			}
		}
		scan.files = nil
		slices.SortFunc(pl.files, func(x, y lazyFile) int { return strings.Compare(x.id, y.id) })
		sums := make([][sha1.Size]byte, len(pl.files))
		for i, f := range pl.files {
			if i > 0 && pl.files[i-1].id == f.id {
				return nil, nil, inputErr("Initramfs", "two files with the SPDXID %s", f.id)
			}
			sums[i] = f.c.sha1
		}
		pl.container = p.SPDXID
		p.VerificationCode = &VerificationCode{Value: verificationCodeRaw(sums)}
		if err := b.pkg(p); err != nil {
			return nil, nil, err
		}
		b.rel(app.SPDXID, RelContains, p.SPDXID)
		res.Uninspected = scan.uninspected
	}
	for i, bin := range in.Binaries {
		sf := newFile(spdxID("Binary", bin.Name), "./"+strings.TrimPrefix(bin.Name, "/"), bins[i])
		if b.ids[sf.SPDXID] {
			return nil, nil, inputErr(fmt.Sprintf("Binaries[%d].Name", i), "duplicate %q", bin.Name)
		}
		b.ids[sf.SPDXID] = true
		doc.Files = append(doc.Files, sf)
		b.rel(app.SPDXID, RelContains, sf.SPDXID)
		goBins = append(goBins, bin.Name)
		if err := b.goModules(sf.SPDXID, bins[i].gobin); err != nil {
			return nil, nil, err
		}
	}

	slices.SortFunc(doc.Packages, func(x, y SPDXPackage) int { return strings.Compare(x.SPDXID, y.SPDXID) })
	slices.SortFunc(doc.Files, func(x, y SPDXFile) int { return strings.Compare(x.SPDXID, y.SPDXID) })
	for r := range b.rels {
		doc.Relationships = append(doc.Relationships, r)
	}
	slices.SortFunc(doc.Relationships, relCompare)
	slices.Sort(goBins)
	if len(goBins) > 0 {
		res.GoBinaries = goBins
	}
	res.Packages, res.Files = len(doc.Packages), len(doc.Files)+len(pl.files)
	return pl, res, nil
}

// goModules adds the modules of a Go binary (once per module across
// binaries) and relates the binary's file to them.
func (b *builder) goModules(file string, g *goInfo) error {
	add := func(m module, purpose string) (string, error) {
		id := spdxID("GoModule", m.path+"@"+m.version+"#"+m.sum)
		if b.ids[id] {
			return id, nil
		}
		p := newPackage(id, m.path, m.version)
		p.ExternalRefs = []ExternalRef{purlRef(GoPURL(m.path, m.version))}
		p.PrimaryPackagePurpose = purpose
		if m.sum != "" {
			// The go.sum hash is a digest of the module's file tree, which
			// no SPDX checksum algorithm names: it goes in the comment.
			p.Comment = "go.sum " + m.sum
		}
		return id, b.pkg(p)
	}
	if g.main.path != "" {
		id, err := add(g.main, "APPLICATION")
		if err != nil {
			return err
		}
		b.rel(file, RelGeneratedFrom, id)
	}
	for _, d := range g.deps {
		id, err := add(d, "LIBRARY")
		if err != nil {
			return err
		}
		b.rel(file, RelStaticLink, id)
	}
	if g.goVersion != "" {
		// The standard library is linked in too; purl names it "stdlib".
		id, err := add(module{path: "stdlib", version: g.goVersion}, "LIBRARY")
		if err != nil {
			return err
		}
		b.rel(file, RelStaticLink, id)
	}
	return nil
}

func newPackage(id, name, version string) SPDXPackage {
	return SPDXPackage{
		SPDXID: id, Name: name, VersionInfo: version, Supplier: NoAssertion,
		DownloadLocation: NoAssertion, LicenseConcluded: NoAssertion,
		LicenseDeclared: NoAssertion, CopyrightText: NoAssertion,
	}
}

func newFile(id, name string, c *content) SPDXFile {
	f := SPDXFile{
		SPDXID: id, FileName: name,
		Checksums: []Checksum{
			{"SHA1", hex.EncodeToString(c.sha1[:])},
			{"SHA256", hex.EncodeToString(c.sha256[:])},
		},
		LicenseConcluded: NoAssertion, LicenseInfoInFiles: []string{NoAssertion}, CopyrightText: NoAssertion,
	}
	if c.elf {
		f.FileTypes = []string{"BINARY"}
	}
	return f
}

func purlRef(p string) ExternalRef {
	return ExternalRef{ReferenceCategory: "PACKAGE-MANAGER", ReferenceType: "purl", ReferenceLocator: p}
}

// verificationCode is SPDX 2.3 §7.9: SHA-1 of the sorted, concatenated
// lower-case hex SHA-1 digests of the package's files.
func verificationCode(sums []string) string {
	slices.Sort(sums)
	h := sha1.New()
	for _, s := range sums {
		io.WriteString(h, s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// verificationCodeRaw is verificationCode of raw digests: sorting the
// bytes sorts their hex forms alike.
func verificationCodeRaw(sums [][sha1.Size]byte) string {
	slices.SortFunc(sums, func(x, y [sha1.Size]byte) int { return bytes.Compare(x[:], y[:]) })
	h := sha1.New()
	var hx [2 * sha1.Size]byte
	for _, s := range sums {
		hex.Encode(hx[:], s[:])
		h.Write(hx[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// spdxID derives an SPDXID from a kind and a key (a name, a path): the
// key's letters, digits, dots and dashes for the reader, and a digest of
// the key so that keys differing only in other characters stay apart.
func spdxID(kind, key string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + key))
	var sb strings.Builder
	sb.WriteString("SPDXRef-" + kind + "-")
	n := 0
	for _, r := range strings.TrimLeft(key, "/") {
		if n == 48 {
			break
		}
		n++
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			sb.WriteRune(r)
		default:
			sb.WriteByte('-')
		}
	}
	sb.WriteByte('-')
	sb.WriteString(hex.EncodeToString(sum[:6]))
	return sb.String()
}

func supplier(s string) string {
	switch {
	case s == "":
		return NoAssertion
	case strings.HasPrefix(s, "Organization: "), strings.HasPrefix(s, "Person: "), s == NoAssertion:
		return s
	}
	return "Organization: " + s
}

func created(t time.Time) string {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

func defaultNamespace(in *Input) string {
	h := sha256.New()
	fmt.Fprintf(h, "fogkit sbom\n%s\n%s\n", in.Name, in.Version)
	outs := slices.Clone(in.Outputs)
	slices.SortFunc(outs, func(x, y File) int { return strings.Compare(x.Name, y.Name) })
	for _, f := range outs {
		fmt.Fprintf(h, "%s %s\n", strings.ToLower(f.SHA256), f.Name)
	}
	if in.Initramfs != nil {
		fmt.Fprintf(h, "%s %s\n", strings.ToLower(in.Initramfs.SHA256), in.Initramfs.Name)
	}
	name := in.Name
	if in.Version != "" {
		name += "-" + in.Version
	}
	return "https://fogkit.dev/spdx/" + url.PathEscape(name) + "-" + hex.EncodeToString(h.Sum(nil)[:8])
}

// fogkitVersion is fogkit's module version in the running binary:
// "(devel)" in its own tests and in binaries built inside its tree.
func fogkitVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	if bi.Main.Path == ModulePath {
		if bi.Main.Version != "" {
			return bi.Main.Version
		}
		return "(devel)"
	}
	for _, d := range bi.Deps {
		if d.Path == ModulePath {
			return fromModule(d).version
		}
	}
	return "(devel)"
}

// encode writes doc as json.MarshalIndent(doc, "", "  ") would, element
// by element, so a document of a million files is never held as one
// buffer.
func encode(w io.Writer, pl *plan) error {
	doc := pl.doc
	bw := bufio.NewWriterSize(w, 64<<10)
	hb, err := json.MarshalIndent(struct {
		SPDXVersion       string       `json:"spdxVersion"`
		DataLicense       string       `json:"dataLicense"`
		SPDXID            string       `json:"SPDXID"`
		Name              string       `json:"name"`
		DocumentNamespace string       `json:"documentNamespace"`
		CreationInfo      CreationInfo `json:"creationInfo"`
	}{doc.SPDXVersion, doc.DataLicense, doc.SPDXID, doc.Name, doc.DocumentNamespace, doc.CreationInfo}, "", "  ")
	if err != nil {
		return err
	}
	bw.Write(hb[:len(hb)-2]) // without "\n}"
	var scratch []byte
	arr := func(name string, n int, elem func(int) any) error {
		fmt.Fprintf(bw, ",\n  %q: [", name)
		if n == 0 {
			bw.WriteString("]")
			return nil
		}
		for i := range n {
			if i > 0 {
				bw.WriteString(",")
			}
			bw.WriteString("\n    ")
			var b []byte
			var err error
			switch e := elem(i).(type) {
			case *SPDXFile:
				b, err = appendFile(scratch[:0], e)
			case *Relationship:
				b, err = appendRelationship(scratch[:0], e)
			default:
				b, err = json.MarshalIndent(e, "    ", "  ")
			}
			if err != nil {
				return err
			}
			bw.Write(b)
			if cap(b) <= 64<<10 {
				scratch = b
			}
		}
		bw.WriteString("\n  ]")
		return nil
	}
	if err := arr("packages", len(doc.Packages), func(i int) any { return &doc.Packages[i] }); err != nil {
		return err
	}
	// Input.Binaries files ("SPDXRef-Binary-…") sort before the
	// initramfs files ("SPDXRef-File-…").
	nb := len(doc.Files)
	err = arr("files", nb+len(pl.files), func(i int) any {
		if i < nb {
			return &doc.Files[i]
		}
		f := &pl.files[i-nb]
		sf := newFile(f.id, "."+f.path, f.c)
		return &sf
	})
	if err != nil {
		return err
	}
	// Merge the sorted relationships with the initramfs CONTAINS ones,
	// which are sorted too.
	rels, i, j := doc.Relationships, 0, 0
	err = arr("relationships", len(rels)+len(pl.files), func(int) any {
		if j < len(pl.files) {
			r := Relationship{Element: pl.container, Type: RelContains, Related: pl.files[j].id}
			if i == len(rels) || relCompare(r, rels[i]) < 0 {
				j++
				return &r
			}
		}
		i++
		return &rels[i-1]
	})
	if err != nil {
		return err
	}
	bw.WriteString("\n}\n")
	return bw.Flush()
}

// appendFile and appendRelationship append what
// json.MarshalIndent(v, "    ", "  ") gives, without reflection: these
// are the elements there are a million of. The equality is tested.
func appendFile(b []byte, f *SPDXFile) ([]byte, error) {
	b = append(b, "{\n      \"SPDXID\": "...)
	b = appendString(b, f.SPDXID)
	b = append(b, ",\n      \"fileName\": "...)
	b = appendString(b, f.FileName)
	b = appendList(b, "fileTypes", f.FileTypes)
	b = append(b, ",\n      \"checksums\": ["...)
	for i, c := range f.Checksums {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n        {\n          \"algorithm\": "...)
		b = appendString(b, c.Algorithm)
		b = append(b, ",\n          \"checksumValue\": "...)
		b = appendString(b, c.ChecksumValue)
		b = append(b, "\n        }"...)
	}
	if len(f.Checksums) == 0 {
		b = append(b, ']')
	} else {
		b = append(b, "\n      ]"...)
	}
	b = append(b, ",\n      \"licenseConcluded\": "...)
	b = appendString(b, f.LicenseConcluded)
	if f.LicenseInfoInFiles == nil {
		b = append(b, ",\n      \"licenseInfoInFiles\": null"...)
	} else if len(f.LicenseInfoInFiles) == 0 {
		b = append(b, ",\n      \"licenseInfoInFiles\": []"...)
	} else {
		b = appendList(b, "licenseInfoInFiles", f.LicenseInfoInFiles)
	}
	b = append(b, ",\n      \"copyrightText\": "...)
	b = appendString(b, f.CopyrightText)
	return append(b, "\n    }"...), nil
}

// appendList appends a non-empty list field (omitempty).
func appendList(b []byte, name string, l []string) []byte {
	if len(l) == 0 {
		return b
	}
	b = append(b, ",\n      \""...)
	b = append(b, name...)
	b = append(b, "\": ["...)
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n        "...)
		b = appendString(b, s)
	}
	return append(b, "\n      ]"...)
}

func appendRelationship(b []byte, r *Relationship) ([]byte, error) {
	b = append(b, "{\n      \"spdxElementId\": "...)
	b = appendString(b, r.Element)
	b = append(b, ",\n      \"relationshipType\": "...)
	b = appendString(b, r.Type)
	b = append(b, ",\n      \"relatedSpdxElement\": "...)
	b = appendString(b, r.Related)
	return append(b, "\n    }"...), nil
}

// appendString appends s as encoding/json writes it: plain when it is
// printable ASCII without characters JSON or HTML escaping touches;
// through encoding/json otherwise (invalid UTF-8 becomes U+FFFD there).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func relCompare(x, y Relationship) int {
	return cmp.Or(strings.Compare(x.Element, y.Element), strings.Compare(x.Type, y.Type), strings.Compare(x.Related, y.Related))
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
