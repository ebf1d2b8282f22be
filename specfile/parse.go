package specfile

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/fogkit/fogkit/appliance"
	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/ext4"
	"github.com/fogkit/fogkit/license"
	"github.com/fogkit/fogkit/rootfs"
)

// File is a parsed spec file: an appliance.Spec ready for appliance.Build
// once Resolve has filled in what needs the build host (the /init, the
// host's kernel, the BIOS parts), and the parts Build does not take yet.
type File struct {
	// Name is the file's name as given to Parse (problems carry it).
	Name string `json:"name"`
	// Dir is what the file's relative paths are relative to.
	Dir string `json:"dir"`
	// Document is the file as written.
	Document *Document `json:"document"`
	// Spec is the appliance to build: every field the file sets, paths
	// joined to Dir. Init, Kernel (unless kernel.file) and BIOS are
	// filled by Resolve.
	Spec *appliance.Spec `json:"spec"`
	// Init, Kernel, BIOS and ISOLinux are the file's sources for those
	// parts, paths joined to Dir.
	Init     InitSource     `json:"init"`
	Kernel   KernelSource   `json:"kernel"`
	BIOS     BIOSSource     `json:"bios"`
	ISOLinux ISOLinuxSource `json:"isolinux"`
	// FetchAssets is what appliance.Options.FetchAssets should be: set by
	// Resolve when the file says kernel.fetch and names no kernel file.
	FetchAssets bool `json:"fetchAssets"`
}

// Load reads and parses the spec file at path; its relative paths are
// relative to the file's directory. Files over MaxFileSize are refused.
func Load(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("specfile: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("specfile: %s: %w", path, err)
	}
	return Parse(data, path, filepath.Dir(path))
}

// Parse reads a spec file's content. name is what problems call the file;
// dir is what relative paths in it are relative to (the file's directory;
// "" or "." for the current one). Every problem (YAML syntax, unknown or
// misspelt keys, wrong types, impossible values, missing required keys or
// files, and what appliance.Spec.Validate refuses) is reported at once in
// an *Error. Parse reads the environment only for epoch:
// SOURCE_DATE_EPOCH, and the file system only to check that the files the
// spec names exist.
func Parse(data []byte, name, dir string) (*File, error) {
	d := newDecoder(name)
	if len(data) > MaxFileSize {
		d.add(Problem{File: name, Message: fmt.Sprintf("larger than %d bytes: a spec file is small", MaxFileSize)})
		return nil, d.err()
	}
	root, ok := d.parseYAML(data)
	if !ok {
		return nil, d.err()
	}
	doc := &Document{}
	d.decodeStruct(root, valueOf(doc), "")
	if d.over || root.Kind != yaml.MappingNode {
		return nil, d.err()
	}
	f := d.convert(doc, dir)
	if err := d.err(); err != nil {
		return nil, err
	}
	return f, nil
}

// err returns the collected problems as an *Error, or nil.
func (d *decoder) err() error {
	if len(d.problems) == 0 {
		return nil
	}
	sortProblems(d.problems)
	if d.dropped > 0 {
		d.problems = append(d.problems, Problem{File: d.file, Message: fmt.Sprintf("and %d more problems", d.dropped)})
	}
	return &Error{Problems: d.problems}
}

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// parseYAML reads exactly one YAML document into a node tree.
func (d *decoder) parseYAML(data []byte) (root *yaml.Node, ok bool) {
	defer func() {
		// yaml.v3 is not known to panic on input; should it, the input is
		// reported as malformed rather than taking the caller down.
		if r := recover(); r != nil {
			d.add(Problem{File: d.file, Message: fmt.Sprintf("malformed YAML (%v)", r)})
			root, ok = nil, false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.add(Problem{File: d.file, Message: "empty file: a spec file is a YAML mapping (name, version, sequence, init, epoch...)"})
		} else {
			d.yamlError(err)
		}
		return nil, false
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		d.yamlError(err)
		return nil, false
	default:
		d.bad(&extra, "", "a second YAML document (after ---): a spec file holds one")
		return nil, false
	}
	root = &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		d.add(Problem{File: d.file, Message: "empty file: a spec file is a YAML mapping (name, version, sequence, init, epoch...)"})
		return nil, false
	}
	root, ok = d.resolve(root, "")
	return root, ok
}

// yamlError turns yaml.v3's "yaml: line N: msg" into a Problem.
func (d *decoder) yamlError(err error) {
	msg := err.Error()
	p := Problem{File: d.file, Message: "malformed YAML: " + msg}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		if p.Line > 0 {
			p.Column = 1
		}
		p.Message = "malformed YAML: " + m[2]
	}
	d.add(p)
}

// safeName reports whether s is 1-64 letters, digits, '.', '_' and '-',
// not starting with '.' or '-' (appliance's rule for names).
var safeName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$`)

// convert turns the document into a File, checking what the types alone
// cannot say.
func (d *decoder) convert(doc *Document, dir string) *File {
	path := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	// exists checks that the file (or directory) the key names is there.
	exists := func(key, p string, wantDir bool) {
		if p == "" {
			return
		}
		st, err := os.Stat(p)
		switch {
		case err != nil:
			d.bad(d.atValue(key), key, "%s: no such file or directory", p)
		case wantDir && !st.IsDir():
			d.bad(d.atValue(key), key, "%s is not a directory", p)
		case !wantDir && !st.Mode().IsRegular():
			d.bad(d.atValue(key), key, "%s is not a regular file", p)
		}
	}
	s := &appliance.Spec{
		Name: doc.Name, Product: doc.Product, Vendor: doc.Vendor, Version: doc.Version,
		Sequence: doc.Sequence, AppDir: path(doc.App), AppPrefix: doc.AppPrefix,
		ModuleTree: path(doc.ModuleTree), Modules: doc.Modules,
		Loader: disk.Loader(doc.Loader), EFI: path(doc.EFI), Cmdline: doc.Cmdline,
		ESPSize: int64(doc.ESPSize), CPUs: doc.CPUs, MemoryMiB: doc.MemoryMiB,
		DataSize: int64(doc.DataSize), DataLabel: doc.DataLabel,
		Compression: rootfs.Compression(doc.Compression),
	}
	if s.Product == "" {
		s.Product = s.Name
	}
	if s.Loader == "" {
		s.Loader = disk.SystemdBoot
	}
	for _, fm := range doc.Formats {
		s.Formats = append(s.Formats, appliance.Format(fm))
	}
	for _, p := range doc.Previous {
		s.Previous = append(s.Previous, path(p))
	}
	f := &File{Document: doc, Spec: s, Dir: dir, Name: d.file}
	exists("app", s.AppDir, true)
	if len(doc.AppModes) > 0 {
		s.AppHook = d.appModes(doc.AppModes, s)
	}
	exists("moduleTree", s.ModuleTree, true)
	exists("efi", s.EFI, false)

	// init: exactly one source.
	f.Init = InitSource{File: path(doc.Init.File), GoPackage: doc.Init.GoPackage}
	switch {
	case d.has("init") && d.vals["init"] != nil && d.vals["init"].Kind == yaml.MappingNode &&
		(doc.Init.File == "") == (doc.Init.GoPackage == ""):
		d.bad(d.at("init"), "init", "set exactly one of file (a prebuilt /init) and goPackage (a Go package to build)")
	case doc.Init.File != "":
		exists("init.file", f.Init.File, false)
	case strings.HasPrefix(doc.Init.GoPackage, "./") || strings.HasPrefix(doc.Init.GoPackage, "../"):
		// A directory: relative to the file, kept in the form go build
		// reads as a directory.
		p := path(doc.Init.GoPackage)
		if !filepath.IsAbs(p) {
			p = "." + string(filepath.Separator) + p
		}
		f.Init.GoPackage = p
		exists("init.goPackage", p, true)
	case filepath.IsAbs(doc.Init.GoPackage):
		exists("init.goPackage", doc.Init.GoPackage, true)
	}

	// kernel: a file, or host and/or fetch.
	f.Kernel = KernelSource{File: path(doc.Kernel.File), Host: doc.Kernel.Host, Fetch: doc.Kernel.Fetch}
	if doc.Kernel.File != "" {
		if doc.Kernel.Host || doc.Kernel.Fetch {
			d.bad(d.at("kernel"), "kernel", "set file, or host and/or fetch, not both")
		}
		exists("kernel.file", f.Kernel.File, false)
		s.Kernel = f.Kernel.File
	}

	f.BIOS = BIOSSource{Enabled: doc.BIOS.Enabled, Syslinux: path(doc.BIOS.Syslinux), GPTMBR: path(doc.BIOS.GPTMBR)}
	exists("bios.syslinux", f.BIOS.Syslinux, false)
	exists("bios.gptmbr", f.BIOS.GPTMBR, false)
	f.ISOLinux = ISOLinuxSource{Enabled: doc.ISOLinux.Enabled, Loader: path(doc.ISOLinux.Loader),
		LDLinux: path(doc.ISOLinux.LDLinux), HybridMBR: path(doc.ISOLinux.HybridMBR)}
	exists("isolinux.loader", f.ISOLinux.Loader, false)
	exists("isolinux.ldlinux", f.ISOLinux.LDLinux, false)
	exists("isolinux.hybridMBR", f.ISOLinux.HybridMBR, false)

	switch {
	case doc.Epoch.FromEnv:
		t, err := appliance.ParseEpoch("")
		if err != nil {
			d.bad(d.atValue("epoch"), "epoch", "%v", err)
		}
		s.Epoch = t
	default:
		s.Epoch = doc.Epoch.Time
	}
	if doc.License != nil {
		s.License = d.license(doc.License, s)
	}

	s.Flavours = d.flavours(doc.Flavours)
	if d.has("flavourOVAs") {
		s.FlavourOVAs = append([]string{}, doc.FlavourOVAs...)
	}
	s.CombinedOVA = doc.CombinedOVA

	d.validate(s)
	return f
}

// appModes turns the appModes rules into a Spec.AppHook.
func (d *decoder) appModes(rules []AppMode, s *appliance.Spec) func(*rootfs.Entry) bool {
	if s.AppDir == "" {
		d.bad(d.at("appModes"), "appModes", "set app too: the rules apply to its files")
	}
	type rule struct {
		match string
		dir   bool
		mode  uint32
	}
	var rs []rule
	for i, r := range rules {
		key := fmt.Sprintf("appModes[%d].match", i)
		if _, err := path.Match(r.Match, ""); err != nil {
			d.bad(d.atValue(key), key, "bad pattern %q: %v", clip(r.Match), err)
			continue
		}
		m, _ := strconv.ParseUint(r.Mode, 8, 32) // the schema pattern holds
		rs = append(rs, rule{match: r.Match, dir: r.Type == "dir", mode: uint32(m)})
	}
	prefix := s.AppPrefix
	if prefix == "" {
		prefix = "/opt/app"
	}
	prefix, _ = rootfs.CleanPath(prefix)
	return func(e *rootfs.Entry) bool {
		if e.Type != rootfs.TypeFile && e.Type != rootfs.TypeDir {
			return true
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(e.Path, prefix), "/")
		if rel == "" {
			rel = "."
		}
		for _, r := range rs {
			name := rel
			if !strings.Contains(r.match, "/") {
				name = path.Base(rel)
			}
			if ok, _ := path.Match(r.match, name); ok && r.dir == (e.Type == rootfs.TypeDir) {
				e.Mode = r.mode
				break
			}
		}
		return true
	}
}

// license builds the license the file describes.
func (d *decoder) license(ls *LicenseSource, s *appliance.Spec) *license.License {
	l := &license.License{
		Sequence: ls.Sequence, Product: ls.Product,
		Customer: license.Customer{ID: ls.Customer.ID, Name: ls.Customer.Name},
		Trial:    ls.Trial, Seats: ls.Seats, Features: ls.Features, Limits: ls.Limits,
		InstanceID: ls.InstanceID, Metadata: ls.Metadata,
		GracePeriod: license.Days(ls.GracePeriodDays),
	}
	if l.Sequence == 0 {
		l.Sequence = 1
	}
	product := s.Product
	if l.Product != "" {
		product = l.Product
	}
	l.ID = strings.NewReplacer("{product}", product, "{epoch}", strconv.FormatInt(s.Epoch.Unix(), 10)).Replace(ls.ID)
	if strings.ContainsAny(l.ID, "{}") {
		d.bad(d.atValue("license.id"), "license.id", "%q: the only placeholders are {product} and {epoch}", clip(ls.ID))
	}
	if l.Product == "" {
		l.Product = s.Product
	}
	l.IssuedAt = s.Epoch
	if !ls.IssuedAt.IsZero() {
		l.IssuedAt = ls.IssuedAt.Time
	}
	l.NotBefore = l.IssuedAt
	if !ls.NotBefore.IsZero() {
		l.NotBefore = ls.NotBefore.Time
	}
	switch {
	case !ls.ExpiresAt.IsZero() && !ls.ValidFor.IsZero():
		d.bad(d.at("license.validFor"), "license.validFor", "set expiresAt or validFor, not both")
	case !ls.ExpiresAt.IsZero():
		t := ls.ExpiresAt.Time
		l.ExpiresAt = &t
	case !ls.ValidFor.IsZero():
		t := ls.ValidFor.AddTo(l.NotBefore)
		l.ExpiresAt = &t
	}
	if l.ExpiresAt != nil && !s.Epoch.IsZero() && !l.ExpiresAt.After(l.NotBefore) {
		key := "license.expiresAt"
		if !d.has(key) {
			key = "license.notBefore"
		}
		d.bad(d.atValue(key), key, "the license would expire (%s) before it starts (%s)", l.ExpiresAt.Format("2006-01-02"), l.NotBefore.Format("2006-01-02"))
	}
	if ls.GracePeriodDays > 0 && !d.has("license.expiresAt") && !d.has("license.validFor") {
		d.bad(d.at("license.gracePeriodDays"), "license.gracePeriodDays", "a grace period needs expiresAt or validFor")
	}
	if !ls.UpdatesUntil.IsZero() {
		t := ls.UpdatesUntil.Time
		l.UpdatesUntil = &t
	}
	return l
}

// specFields maps the field names appliance.Spec.Validate's problems
// start with to the file's keys.
var specFields = []struct{ prefix, key string }{
	{"App and AppDir", "app"}, {"CPUs, MemoryMiB and DataSize", "cpus"},
	{"License.Product", "license.product"}, {"DataLabel", "dataLabel"}, {"DataSize", "dataSize"},
	{"ESPSize", "espSize"}, {"Formats", "formats"}, {"Loader", "loader"}, {"Name", "name"},
	{"Product", "product"}, {"Version", "version"}, {"Sequence", "sequence"}, {"Epoch", "epoch"},
	{"Previous[", "previous"}, {"FlavourOVAs", "flavourOVAs"}, {"CombinedOVA", "combinedOVA"},
	{"Flavours", "flavours"},
}

var (
	previousIndex = regexp.MustCompile(`^Previous\[(\d+)\]`)
	flavourIndex  = regexp.MustCompile(`^Flavours\[\d+\] \(([^)]*)\)`)
)

// validate folds appliance.Spec.Validate's problems in, at the key they
// concern; one the walk already reported for that key is left out.
func (d *decoder) validate(s *appliance.Spec) {
	err := s.Validate()
	var se *appliance.SpecError
	if err == nil || !errors.As(err, &se) {
		if err != nil {
			d.add(Problem{File: d.file, Message: err.Error()})
		}
		return
	}
	reported := maps.Clone(d.covered)
	for _, p := range d.problems {
		reported[p.Field] = true
	}
	for _, msg := range se.Problems {
		key := ""
		for _, f := range specFields {
			if strings.HasPrefix(msg, f.prefix) {
				key = f.key
				break
			}
		}
		if m := previousIndex.FindStringSubmatch(msg); m != nil {
			key = "previous[" + m[1] + "]"
		}
		if m := flavourIndex.FindStringSubmatch(msg); m != nil {
			key = "flavours." + m[1]
		}
		if key == "product" && !d.has("product") {
			continue // Product is Name: the Name problem says it
		}
		if reported[key] || (key != "" && reported[strings.Split(key, "[")[0]]) {
			continue
		}
		reported[key] = true
		d.bad(d.atValue(key), key, "%s", msg)
	}
}

// flavours turns the flavours block into appliance flavours in the order
// the file lists them (a YAML mapping has no order, but its keys have
// lines, and the first flavour is the combined OVA's default).
func (d *decoder) flavours(src map[string]FlavourSource) []appliance.Flavour {
	if len(src) == 0 {
		return nil
	}
	names := slices.Collect(maps.Keys(src))
	pos := func(name string) (int, int) {
		if n := d.at("flavours." + name); n != nil {
			return n.Line, n.Column
		}
		return 0, 0
	}
	slices.SortFunc(names, func(a, b string) int {
		la, ca := pos(a)
		lb, cb := pos(b)
		if c := cmp.Compare(la, lb); c != 0 {
			return c
		}
		if c := cmp.Compare(ca, cb); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	out := make([]appliance.Flavour, 0, len(names))
	for _, name := range names {
		fl := src[name]
		key := "flavours." + name
		if !safeName.MatchString(name) || len(name) > 32 {
			d.bad(d.at(key), key, "flavour name %q: use 1-32 letters, digits, '.', '_' and '-', not starting with '.' or '-' (it becomes part of file names)", clip(name))
			d.covered[key] = true
		}
		if fl.DataSize != 0 && (fl.DataSize < ext4.MinSize || fl.DataSize > ext4.MaxSize) {
			d.bad(d.atValue(key+".dataSize"), key+".dataSize", "%d bytes: the data disk is ext4, which takes %d MiB to %d TiB", fl.DataSize, ext4.MinSize>>20, ext4.MaxSize>>40)
			d.covered[key] = true
		}
		out = append(out, appliance.Flavour{Name: name, CPUs: fl.CPUs, MemoryMiB: fl.MemoryMiB, DataSize: int64(fl.DataSize)})
	}
	return out
}
