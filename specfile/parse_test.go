package specfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/appliance"
	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/license"
	"github.com/fogkit/fogkit/rootfs"
)

// minimal is the smallest valid spec file.
const minimal = `name: acme
version: 1.0.0
sequence: 1
init: {goPackage: example.com/acme/init}
epoch: 1790000000
`

// parseErr parses data and returns its problems as "line:col: field: message" lines.
func parseErr(t *testing.T, data, dir string) []Problem {
	t.Helper()
	_, err := Parse([]byte(data), "a.yaml", dir)
	require.Error(t, err)
	require.ErrorIs(t, err, ErrSpec)
	var se *Error
	require.ErrorAs(t, err, &se)
	return se.Problems
}

// The example spec is the pipeline's demo with its defaults: the same
// appliance.Spec fields and the same license, field for field.
func TestExampleIsThePipelineDemo(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1790000000")
	f, err := Load(example)
	require.NoError(t, err)
	epoch := time.Unix(1790000000, 0).UTC()
	s := f.Spec
	assert.Equal(t, "fogdemo", s.Name)
	assert.Equal(t, "fogdemo", s.Product)
	assert.Equal(t, "Fogkit Demo Vendor", s.Vendor)
	assert.Equal(t, "1.0.0", s.Version)
	assert.Equal(t, uint64(1), s.Sequence)
	assert.Equal(t, filepath.Join("..", "examples", "pipeline", "demoapp"), s.AppDir)
	assert.Equal(t, "/opt/app", s.AppPrefix)
	assert.Equal(t, disk.SystemdBoot, s.Loader)
	assert.Equal(t, "console=tty0 console=ttyS0 panic=-1", s.Cmdline)
	assert.Equal(t, 2, s.CPUs)
	assert.Equal(t, int64(1024), s.MemoryMiB)
	assert.Equal(t, int64(20<<30), s.DataSize)
	assert.Equal(t, int64(appliance.DefaultESPSize), s.ESPSize)
	assert.Equal(t, appliance.DefaultDataLabel, s.DataLabel)
	assert.Equal(t, rootfs.CompressNone, s.Compression)
	assert.Equal(t, []appliance.Format{appliance.FormatOVA}, s.Formats)
	assert.Nil(t, s.Modules, "absent modules mean the defaults")
	assert.Nil(t, s.Previous)
	assert.Nil(t, s.BIOS)
	assert.Equal(t, epoch, s.Epoch)
	assert.Empty(t, s.Kernel, "resolved by Resolve")
	assert.Equal(t, InitSource{GoPackage: "github.com/fogkit/fogkit/examples/pipeline/demoinit"}, f.Init)
	assert.Equal(t, KernelSource{Host: true, Fetch: true}, f.Kernel)
	assert.False(t, f.BIOS.Enabled)
	assert.False(t, f.ISOLinux.Enabled)
	assert.Empty(t, f.Spec.Flavours)

	// examples/pipeline's license, as run() makes it.
	expires := epoch.AddDate(2, 0, 0)
	want := &license.License{ID: fmt.Sprintf("%s-demo-%d", s.Product, epoch.Unix()), Sequence: 1,
		Product: s.Product, Customer: license.Customer{ID: "ACME-001", Name: "Acme Corporation"},
		IssuedAt: epoch, NotBefore: epoch, ExpiresAt: &expires, GracePeriod: license.Days(14), Seats: 25,
		Features: []string{"backup", "cluster", "reporting"}, Limits: map[string]int64{"nodes": 5},
		Metadata: map[string]string{"issued-by": "fogkit reference pipeline"}}
	assert.Equal(t, want, s.License)
	require.NoError(t, s.Validate())
}

// One error lists every problem, in file order, each at its key or value.
func TestParseReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	ps := parseErr(t, `name: "bad name"
verison: 1.0.0
sequence: 0
init: {file: missing-init, goPackage: x}
kernel: {file: vmlinuz, host: true}
cpus: "4"
memoryMiB: 1.5
dataSize: 20X
espSize: 8T
formats: [ova, ova, iso9660]
loader: grub
license:
  id: "{customer}"
  customer: {name: Acme}
  seats: -1
  expiresAt: 2020-01-01
  validFor: 2y
previous: [old]
epoch: 2026-02-30
flavours:
  "bad name": {cpus: 0}
  big: {dataSize: 1K}
`, dir)
	var got []string
	for _, p := range ps {
		assert.Equal(t, "a.yaml", p.File)
		got = append(got, fmt.Sprintf("%d:%d %s", p.Line, p.Column, p.Field))
	}
	assert.Equal(t, []string{
		"1:7 name",    // Validate: bad characters
		"2:1 verison", // unknown; did you mean version? (and not also "version: missing")
		"3:11 sequence",
		"4:1 init", // both sources
		"5:1 kernel",
		"5:16 kernel.file", // missing file
		"6:7 cpus",
		"7:12 memoryMiB",
		"8:11 dataSize",
		"9:10 espSize", // Validate: too large
		"10:16 formats[1]",
		"10:21 formats[2]",
		"11:9 loader",
		"13:7 license.id",
		"14:13 license.customer.id",
		"15:10 license.seats",
		"17:3 license.validFor",
		"18:12 previous[0]", // Validate: not a build directory
		"19:8 epoch",
		"21:3 flavours.bad name",
		"21:22 flavours.bad name.cpus",
		"22:19 flavours.big.dataSize",
	}, got, "%v", &Error{Problems: ps})
	assert.Contains(t, ps[1].Message, "did you mean version?")
	assert.Contains(t, ps[4].Message, "set file, or host and/or fetch")
	assert.Contains(t, ps[5].Message, filepath.Join(dir, "vmlinuz")+": no such file")
	// A required key that is simply absent is reported at the mapping.
	ps = parseErr(t, strings.Replace(minimal, "sequence: 1\n", "", 1), "")
	require.Len(t, ps, 1)
	assert.Equal(t, Problem{File: "a.yaml", Line: 1, Column: 1, Field: "sequence", Message: "missing (required)"}, ps[0])
}

func TestProblemString(t *testing.T) {
	for _, tc := range []struct {
		p    Problem
		want string
	}{
		{Problem{File: "a.yaml", Line: 3, Column: 7, Field: "license.customer.id", Message: "missing"}, "a.yaml:3:7: license.customer.id: missing"},
		{Problem{File: "a.yaml", Message: "empty file"}, "a.yaml: empty file"},
		{Problem{Line: 2, Column: 1, Message: "m"}, "2:1: m"},
		{Problem{Field: "cpus", Message: "m"}, "cpus: m"},
	} {
		assert.Equal(t, tc.want, tc.p.String())
	}
	err := &Error{Problems: []Problem{{File: "a", Line: 1, Column: 1, Message: "x"}, {File: "a", Line: 2, Column: 3, Field: "f", Message: "y"}}}
	assert.Equal(t, "a:1:1: x\na:2:3: f: y", err.Error())
	assert.True(t, errors.Is(fmt.Errorf("wrapped: %w", err), ErrSpec))
}

// Relative paths are relative to the file's directory; files the spec
// names must exist.
func TestParsePaths(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"app/", "init", "vmlinuz", "mods/", "syslinux", "gptmbr.bin", "isolinux.bin", "ldlinux.c32", "isohdpfx.bin", "prev/", "initpkg/"} {
		if strings.HasSuffix(p, "/") {
			require.NoError(t, os.MkdirAll(filepath.Join(dir, p), 0o755))
		} else {
			require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644))
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "prev", appliance.RecordFile), []byte("{}"), 0o644))
	base := strings.Replace(minimal, "init: {goPackage: example.com/acme/init}\n", "", 1)
	f, err := Parse([]byte(base+`app: app
init: {file: init}
kernel: {file: vmlinuz}
moduleTree: mods
bios: {syslinux: syslinux, gptmbr: /abs/gptmbr.bin}
isolinux: {loader: isolinux.bin, ldlinux: ldlinux.c32, hybridMBR: isohdpfx.bin}
previous: [prev]
`), "a.yaml", dir)
	var se *Error
	require.ErrorAs(t, err, &se)
	require.Len(t, se.Problems, 1, "%v", err)
	assert.Equal(t, Problem{File: "a.yaml", Line: 9, Column: 36, Field: "bios.gptmbr", Message: "/abs/gptmbr.bin: no such file or directory"}, se.Problems[0])

	f, err = Parse([]byte(base+`app: app
init: {file: init}
kernel: {file: vmlinuz}
moduleTree: mods
bios: {syslinux: syslinux, gptmbr: gptmbr.bin}
isolinux: {loader: isolinux.bin, ldlinux: ldlinux.c32, hybridMBR: isohdpfx.bin}
previous: [prev]
`), "a.yaml", dir)
	require.NoError(t, err)
	j := func(p string) string { return filepath.Join(dir, p) }
	assert.Equal(t, j("app"), f.Spec.AppDir)
	assert.Equal(t, j("vmlinuz"), f.Spec.Kernel)
	assert.Equal(t, j("mods"), f.Spec.ModuleTree)
	assert.Equal(t, []string{j("prev")}, f.Spec.Previous)
	assert.Equal(t, InitSource{File: j("init")}, f.Init)
	assert.Equal(t, BIOSSource{Enabled: true, Syslinux: j("syslinux"), GPTMBR: j("gptmbr.bin")}, f.BIOS)
	assert.Equal(t, ISOLinuxSource{Enabled: true, Loader: j("isolinux.bin"), LDLinux: j("ldlinux.c32"), HybridMBR: j("isohdpfx.bin")}, f.ISOLinux)

	// A Go package directory stays a directory to go build.
	f, err = Parse([]byte(strings.Replace(minimal, "example.com/acme/init", "./initpkg", 1)), "a.yaml", dir)
	require.NoError(t, err)
	assert.Equal(t, j("initpkg"), f.Init.GoPackage)
	f, err = Parse([]byte(strings.Replace(minimal, "example.com/acme/init", "./initpkg", 1)), "a.yaml", "")
	require.Error(t, err, "./initpkg is not in the current directory")
	f, err = Parse([]byte(strings.Replace(minimal, "example.com/acme/init", "./initpkg", 1)), "a.yaml", "sub")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "./sub/initpkg: no such file")
}

func TestParseLicense(t *testing.T) {
	lic := func(extra string) string {
		return minimal + "license:\n  id: L-{epoch}\n  customer: {id: C1}\n" + extra
	}
	epoch := time.Unix(1790000000, 0).UTC()
	f, err := Parse([]byte(lic("  validFor: 730d\n  gracePeriodDays: 7\n  issuedAt: 2026-01-01\n  updatesUntil: 2027-06-30T12:00:00Z\n  trial: true\n")), "a.yaml", "")
	require.NoError(t, err)
	l := f.Spec.License
	issued := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, "L-1790000000", l.ID)
	assert.Equal(t, "acme", l.Product)
	assert.Equal(t, uint64(1), l.Sequence)
	assert.Equal(t, issued, l.IssuedAt)
	assert.Equal(t, issued, l.NotBefore)
	assert.Equal(t, issued.AddDate(0, 0, 730), *l.ExpiresAt)
	assert.Equal(t, license.Days(7), l.GracePeriod)
	assert.Equal(t, time.Date(2027, 6, 30, 12, 0, 0, 0, time.UTC), *l.UpdatesUntil)
	assert.True(t, l.Trial)

	f, err = Parse([]byte(lic("")), "a.yaml", "")
	require.NoError(t, err)
	assert.Equal(t, epoch, f.Spec.License.IssuedAt, "issuedAt defaults to the epoch")
	assert.Nil(t, f.Spec.License.ExpiresAt, "perpetual")

	for _, tc := range []struct{ extra, field, msg string }{
		{"  expiresAt: 2030-01-01\n  validFor: 1y\n", "license.validFor", "not both"},
		{"  expiresAt: 2020-01-01\n", "license.expiresAt", "before it starts"},
		{"  gracePeriodDays: 3\n", "license.gracePeriodDays", "needs expiresAt"},
		{"  product: other\n", "license.product", "differs from Product"},
		{"  notBefore: 2030-02-31\n", "license.notBefore", "bad date"},
		{"  limits: {nodes: many}\n", "license.limits.nodes", "want a whole number"},
		{"  metadata: {a: 1}\n", "license.metadata.a", "want a string"},
		{"  features: [a, a]\n", "license.features[1]", "listed twice"},
	} {
		ps := parseErr(t, lic(tc.extra), "")
		require.Len(t, ps, 1, "%s: %v", tc.extra, &Error{Problems: ps})
		assert.Equal(t, tc.field, ps[0].Field, tc.extra)
		assert.Contains(t, ps[0].Message, tc.msg)
		assert.Positive(t, ps[0].Line)
	}
}

func TestParseEpoch(t *testing.T) {
	for _, tc := range []struct {
		v, env string
		want   time.Time
	}{
		{"0", "", time.Unix(0, 0).UTC()},
		{"1790000000", "", time.Unix(1790000000, 0).UTC()},
		{"2026-12-01T10:00:00+01:00", "", time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)},
		{`"2026-12-01T10:00:00Z"`, "", time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)},
		{"SOURCE_DATE_EPOCH", "1700000000", time.Unix(1700000000, 0).UTC()},
	} {
		t.Setenv("SOURCE_DATE_EPOCH", tc.env)
		f, err := Parse([]byte(strings.Replace(minimal, "1790000000", tc.v, 1)), "a.yaml", "")
		require.NoError(t, err, tc.v)
		assert.Equal(t, tc.want, f.Spec.Epoch, tc.v)
	}
	// Unset: today 00:00 UTC, as the pipeline does.
	t.Setenv("SOURCE_DATE_EPOCH", "")
	f, err := Parse([]byte(strings.Replace(minimal, "1790000000", "SOURCE_DATE_EPOCH", 1)), "a.yaml", "")
	require.NoError(t, err)
	assert.Equal(t, time.Duration(0), f.Spec.Epoch.Sub(f.Spec.Epoch.Truncate(24*time.Hour)))
	t.Setenv("SOURCE_DATE_EPOCH", "soon")
	ps := parseErr(t, strings.Replace(minimal, "1790000000", "SOURCE_DATE_EPOCH", 1), "")
	assert.Equal(t, "epoch", ps[0].Field)
	for _, bad := range []string{"-1", "1.5", "tomorrow", "2026-01-01", "[1]"} {
		ps := parseErr(t, strings.Replace(minimal, "1790000000", bad, 1), "")
		require.Len(t, ps, 1, bad)
		assert.Equal(t, Problem{File: "a.yaml", Line: 5, Column: 8, Field: "epoch", Message: ps[0].Message}, ps[0], bad)
	}
}

func TestParseFlavours(t *testing.T) {
	f, err := Parse([]byte(minimal+`dataSize: 40G
flavours:
  medium: &m {cpus: 4, memoryMiB: 4096}
  small: {cpus: 2, memoryMiB: 2048, dataSize: 20G}
  large: {cpus: 8, memoryMiB: 16384, dataSize: 500GiB}
  medium2: *m
`), "a.yaml", "")
	require.NoError(t, err)
	// In file order: the first is the combined OVA's default.
	assert.Equal(t, []appliance.Flavour{
		{Name: "medium", CPUs: 4, MemoryMiB: 4096},
		{Name: "small", CPUs: 2, MemoryMiB: 2048, DataSize: 20 << 30},
		{Name: "large", CPUs: 8, MemoryMiB: 16384, DataSize: 500 << 30},
		{Name: "medium2", CPUs: 4, MemoryMiB: 4096},
	}, f.Spec.Flavours)
	assert.Nil(t, f.Spec.FlavourOVAs)
	assert.False(t, f.Spec.CombinedOVA)
	assert.Equal(t, int64(40<<30), f.Spec.DataSize)

	ps := parseErr(t, minimal+"flavours:\n  small: {cpu: 2}\n  .x: {}\n  huge: {dataSize: 64T}\n", "")
	require.Len(t, ps, 3, "%v", &Error{Problems: ps})
	assert.Equal(t, "flavours.small.cpu", ps[0].Field)
	assert.Contains(t, ps[0].Message, "did you mean cpus?")
	assert.Equal(t, "flavours..x", ps[1].Field)
	assert.Equal(t, "flavours.huge.dataSize", ps[2].Field)
}

// Validate's problems land on the key they concern, once.
func TestParseFoldsValidate(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "notabuild"), 0o755))
	ps := parseErr(t, strings.Replace(minimal, "acme", "-acme", 1)+"dataLabel: a-label-far-too-long\nprevious: [notabuild]\nespSize: 64T\n", dir)
	var got []string
	for _, p := range ps {
		got = append(got, fmt.Sprintf("%d:%d %s", p.Line, p.Column, p.Field))
	}
	assert.Equal(t, []string{"1:7 name", "6:12 dataLabel", "7:12 previous[0]", "8:10 espSize"}, got, "%v", &Error{Problems: ps})
}

// Hostile and malformed YAML gets positioned problems and bounded work.
func TestParseHostile(t *testing.T) {
	// Aliases multiply what the walk visits: a wide mapping referenced
	// from many flavours, a long list referenced from every list key.
	var wide, many strings.Builder
	wide.WriteString("x-wide: &w {")
	many.WriteString("flavours: {")
	for i := range 1000 {
		fmt.Fprintf(&wide, "k%d: 1, ", i)
		fmt.Fprintf(&many, "f%d: *w, ", i)
	}
	wideMap := minimal + strings.TrimSuffix(wide.String(), ", ") + "}\n" + strings.TrimSuffix(many.String(), ", ") + "}\n"
	wideMap = strings.Replace(wideMap, "x-wide: ", "vendor: ", 1) // anchored on a key that exists
	long := minimal + "modules: &l [" + strings.Repeat("m, ", 60000) + "m]\nprevious: *l\nformats: *l\n"
	for _, tc := range []struct {
		name, data string
		line, col  int
		msg        string
	}{
		{"alias fan-out over a wide mapping", wideMap, 0, 0, "expands to more than"},
		{"alias fan-out over a long list", long, 0, 0, "expands to more than"},
		{"deep nesting", minimal + "modules: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n", 6, 1, "malformed YAML"},
		{"deep mapping", minimal + "license: " + strings.Repeat("{a: ", 20000) + "1" + strings.Repeat("}", 20000) + "\n", 6, 1, "malformed YAML"},
		{"duplicate key", minimal + "name: other\n", 6, 1, "key given twice (first at line 1)"},
		{"duplicate nested key", minimal + "kernel:\n  host: true\n  host: false\n", 8, 3, "key given twice (first at line 7)"},
		{"duplicate map key", minimal + "flavours:\n  s: {}\n  s: {}\n", 8, 3, "key given twice"},
		{"merge key", minimal + "kernel:\n  <<: {host: true}\n", 7, 3, "merge keys"},
		{"non-string key", minimal + "1: x\n", 6, 1, "want a key name"},
		{"complex key", minimal + "? [a]\n: x\n", 6, 3, "want a key name"},
		{"null value", minimal + "cpus:\n", 6, 6, "got no value"},
		{"scalar init", strings.Replace(minimal, "{goPackage: example.com/acme/init}", "./init", 1), 4, 7, "want a mapping (keys: file, goPackage)"},
		{"tab indentation", minimal + "kernel:\n\thost: true\n", 7, 1, "malformed YAML"},
		{"two documents", minimal + "---\nname: other\n", 6, 1, "second YAML document"},
		{"unterminated quote", minimal + "cmdline: \"abc\n", 6, 1, "malformed YAML"},
		{"list root", "- a\n- b\n", 1, 1, "want a mapping"},
		{"scalar root", "hello\n", 1, 1, "want a mapping"},
		{"empty", "", 0, 0, "empty file"},
		{"comments only", "# nothing\n", 0, 0, "empty file"},
		{"undefined alias", minimal + "cpus: *nope\n", 0, 0, "unknown anchor"},
		{"huge int", minimal + "cpus: 99999999999999999999999\n", 6, 7, "want a whole number"},
		{"int overflow", minimal + "memoryMiB: 9223372036854775808\n", 6, 12, "out of range"},
		{"recursive alias", minimal + "license: &r {id: x, customer: *r}\n", 6, 21, "unknown key"},
		{"custom tag", minimal + "cpus: !!str 4\n", 6, 7, "want a whole number"},
		{"binary", minimal + "cmdline: !!binary aGVsbG8=\n", 6, 10, "want a string"},
		{"invalid UTF-8", minimal + "vendor: \xff\xfe\n", 0, 0, "malformed YAML"},
		{"NUL", minimal + "vendor: a\x00b\n", 0, 0, "malformed YAML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := parseErr(t, tc.data, "")
			require.NotEmpty(t, ps)
			p := ps[0]
			if strings.Contains(tc.msg, "expands") {
				p = ps[len(ps)-1]
				if strings.Contains(p.Message, "more problems") {
					p = ps[len(ps)-2]
				}
			}
			assert.Contains(t, p.Message, tc.msg, "%v", &Error{Problems: ps})
			if tc.line > 0 {
				assert.Equal(t, tc.line, p.Line, "%v", p)
				assert.Equal(t, tc.col, p.Column, "%v", p)
			}
			assert.LessOrEqual(t, len(ps), maxProblems+2)
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	big := minimal + "# " + strings.Repeat("x", MaxFileSize) + "\n"
	ps := parseErr(t, big, "")
	require.Len(t, ps, 1)
	assert.Contains(t, ps[0].Message, "larger than")
	path := filepath.Join(t.TempDir(), "big.yaml")
	require.NoError(t, os.WriteFile(path, []byte(big), 0o644))
	_, err := Load(path)
	require.ErrorIs(t, err, ErrSpec)
	_, err = Load(filepath.Join(t.TempDir(), "missing.yaml"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// A file of nothing but unknown keys stops listing at maxProblems.
func TestParseProblemCap(t *testing.T) {
	var b strings.Builder
	for i := range 500 {
		fmt.Fprintf(&b, "k%d: 1\n", i)
	}
	ps := parseErr(t, b.String(), "")
	assert.Len(t, ps, maxProblems+1)
	assert.Contains(t, ps[len(ps)-1].Message, "more problems")
}

// The same file gives the same File and the same problems, every time.
func TestParseDeterministic(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1790000000")
	data, err := os.ReadFile(example)
	require.NoError(t, err)
	a, err := Parse(data, "x", "../examples")
	require.NoError(t, err)
	b, err := Parse(data, "x", "../examples")
	require.NoError(t, err)
	ja, err := json.Marshal(a)
	require.NoError(t, err)
	jb, err := json.Marshal(b)
	require.NoError(t, err)
	assert.JSONEq(t, string(ja), string(jb))
	assert.Equal(t, a.Spec.License, b.Spec.License) // not in Spec's JSON
	bad := minimal + "flavours: {a: {cpu: 1}, b: {cpu: 1}, c: {cpu: 1}, d: {cpu: 1}}\nname: x\n"
	first := parseErr(t, bad, "")
	for range 20 {
		assert.Equal(t, first, parseErr(t, bad, ""))
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"name", "version", "memoryMiB", "dataSize", "formats", "cpus", "isolinux", "hybridMBR"}
	for _, tc := range []struct{ in, want string }{
		{"nmae", "name"}, {"verison", "version"}, {"memory_mib", "memoryMiB"}, {"MEMORYMIB", "memoryMiB"},
		{"data-size", "dataSize"}, {"formts", "formats"}, {"cpu", "cpus"}, {"isoLinux", "isolinux"},
		{"hybridmbr", "hybridMBR"}, {"kernel", ""}, {"x", ""}, {strings.Repeat("a", 100), ""},
	} {
		assert.Equal(t, tc.want, suggest(tc.in, keys), tc.in)
	}
}

func TestParseAppModes(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"app/bin/": "", "app/run.sh": "", "app/bin/tool": "", "app/etc/conf": ""})
	f, err := Parse([]byte(minimal+`app: app
appPrefix: /srv/app/
appModes:
  - {match: "*.sh", mode: "0755"}
  - {match: "bin/*", mode: "755"}
  - {match: ".", type: dir, mode: "0750"}
  - {match: "*", type: dir, mode: "0555"}
  - {match: "*", mode: "0444"}
`), "a.yaml", dir)
	require.NoError(t, err)
	require.NotNil(t, f.Spec.AppHook)
	for _, tc := range []struct {
		e    rootfs.Entry
		mode uint32
	}{
		{rootfs.Entry{Path: "/srv/app", Type: rootfs.TypeDir, Mode: 0o755}, 0o750},
		{rootfs.Entry{Path: "/srv/app/run.sh", Mode: 0o644}, 0o755},
		{rootfs.Entry{Path: "/srv/app/bin", Type: rootfs.TypeDir, Mode: 0o755}, 0o555},
		{rootfs.Entry{Path: "/srv/app/bin/tool", Mode: 0o644}, 0o755},
		{rootfs.Entry{Path: "/srv/app/bin/deep/x.sh", Mode: 0o600}, 0o755},
		{rootfs.Entry{Path: "/srv/app/etc/conf", Mode: 0o600}, 0o444},
		{rootfs.Entry{Path: "/srv/app/link", Type: rootfs.TypeSymlink, Mode: 0o777}, 0o777},
	} {
		e := tc.e
		assert.True(t, f.Spec.AppHook(&e))
		assert.Equal(t, tc.mode, e.Mode, "%s: %o", e.Path, e.Mode)
	}

	for _, tc := range []struct{ rules, field, msg string }{
		{`[{match: "*", mode: 0755}]`, "appModes[0].mode", "quote it"},
		{`[{match: "*", mode: "0855"}]`, "appModes[0].mode", "does not have the form"},
		{`[{match: "[", mode: "0755"}]`, "appModes[0].match", "bad pattern"},
		{`[{match: "*", type: link, mode: "0755"}]`, "appModes[0].type", "not one of file, dir"},
		{`[{mode: "0755"}]`, "appModes[0].match", "missing"},
	} {
		ps := parseErr(t, minimal+"app: app\nappModes: "+tc.rules+"\n", dir)
		require.Len(t, ps, 1, "%s: %v", tc.rules, &Error{Problems: ps})
		assert.Equal(t, tc.field, ps[0].Field, tc.rules)
		assert.Contains(t, ps[0].Message, tc.msg, tc.rules)
	}
	ps := parseErr(t, minimal+"appModes: [{match: \"*\", mode: \"0755\"}]\n", dir)
	require.Len(t, ps, 1)
	assert.Equal(t, Problem{File: "a.yaml", Line: 6, Column: 1, Field: "appModes", Message: "set app too: the rules apply to its files"}, ps[0])
}

// modules: [] means none, absent means the defaults.
func TestParseModules(t *testing.T) {
	f, err := Parse([]byte(minimal+"modules: []\n"), "a.yaml", "")
	require.NoError(t, err)
	assert.NotNil(t, f.Spec.Modules)
	assert.Empty(t, f.Spec.Modules)
	f, err = Parse([]byte(minimal+"modules: [virtio_blk, ext4]\n"), "a.yaml", "")
	require.NoError(t, err)
	assert.Equal(t, []string{"virtio_blk", "ext4"}, f.Spec.Modules)
	f, err = Parse([]byte(minimal), "a.yaml", "")
	require.NoError(t, err)
	assert.Nil(t, f.Spec.Modules)
}

func BenchmarkParseExample(b *testing.B) {
	b.Setenv("SOURCE_DATE_EPOCH", "1790000000")
	data, err := os.ReadFile(example)
	require.NoError(b, err)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data, "appliance.yaml", "../examples"); err != nil {
			b.Fatal(err)
		}
	}
}
