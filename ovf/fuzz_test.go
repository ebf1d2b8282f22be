package ovf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Compact fuzz inputs. Go's fuzzer minimizes each new input with a
// search that is quadratic in its length, so a seed of a few KB of XML
// stalls it for minutes. Inputs are therefore written compactly: a byte
// 0x01, 0x02 or 0x03 followed by an index byte i stands for <name>,
// </name> with name = fuzzNames[i], or for token i of fuzzStrings and
// then of the sections and items of the golden descriptors (fuzzBlocks;
// indices wrap). XML forbids these control bytes, so the notation takes
// nothing away, and a golden descriptor compacts to a few dozen bytes.

var fuzzNames = []string{
	"Info", "Name", "References", "DiskSection", "NetworkSection", "Description",
	"AnnotationSection", "Annotation", "VirtualHardwareSection", "System", "Item",
	"vssd:ElementName", "vssd:InstanceID", "vssd:VirtualSystemIdentifier", "vssd:VirtualSystemType",
	"rasd:Address", "rasd:AddressOnParent", "rasd:AllocationUnits", "rasd:AutomaticAllocation",
	"rasd:Caption", "rasd:Connection", "rasd:Description", "rasd:ElementName", "rasd:HostResource",
	"rasd:InstanceID", "rasd:Parent", "rasd:ResourceSubType", "rasd:ResourceType", "rasd:VirtualQuantity",
	"ProductSection", "Product", "Vendor", "Version", "FullVersion", "ProductUrl", "VendorUrl",
	"Category", "Label", "EulaSection", "License", "PlatformSection", "Kind", "Locale",
	"PropertySection", "ve:EthernetAdapterSection", "Hardware", "StorageControllers",
	"DeploymentOptionSection", "Configuration",
}

var fuzzStrings = []string{
	`<?xml version="1.0" encoding="UTF-8"?>`,
	`<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" ` +
		`xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" ` +
		`xmlns:vbox="http://www.virtualbox.org/ovf/machine" xmlns:vmw="http://www.vmware.com/schema/ovf" ` +
		`xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" ovf:version="1.0" xml:lang="en-US">`,
	`</Envelope>`,
	`ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"`,
	`<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1" ` +
		`xmlns:ve="http://www.vmware.com/schema/ovfenv" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"`,
	`</Environment>`,
	`ovf:required="false"`,
	`ovf:capacityAllocationUnits="byte"`,
	`ovf:/disk/`,
	`byte * 2^20`,
	`<VirtualSystem ovf:id="`,
	`</VirtualSystem>`,
	`<OperatingSystemSection ovf:id="`,
	`</OperatingSystemSection>`,
	`<Property oe:key="`,
	`<Property ovf:key="`,
	`<vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="`,
	`<vbox:Machine ovf:required="false" version="1.16-linux" uuid="{00000000-0000-0000-0000-000000000001}" name="vm" OSType="Debian_64">`,
	`</vbox:Machine>`,
	`<File ovf:href="`,
	`<Disk ovf:capacity="`,
	`<Network ovf:name="`,
	`</Network>`,
	`<ve:Adapter ve:mac="`,
	`<Item ovf:configuration="`,
	`<Configuration ovf:id="`,
}

var (
	blocksOnce sync.Once
	blocks     []string
)

// minify drops the white space between tags and the text of elements
// that Parse keeps but nothing checks.
func minify(doc string) string {
	doc = regexp.MustCompile(`>\s+<`).ReplaceAllString(doc, "><")
	return regexp.MustCompile(`<(Info|Description|Annotation|rasd:Description|License)>[^<]*</`).ReplaceAllString(doc, "<$1></")
}

// fuzzBlocks is fuzzStrings followed by every section and item of the
// golden descriptors and environment, minified.
func fuzzBlocks() []string {
	blocksOnce.Do(func() {
		files, _ := filepath.Glob(filepath.Join("testdata", "*.*"))
		re := regexp.MustCompile(`<(Item|System|References|DiskSection|NetworkSection|OperatingSystemSection|ProductSection|EulaSection|AnnotationSection|vbox:Machine|PlatformSection|PropertySection|ve:EthernetAdapterSection|DeploymentOptionSection)[ >].*?</(Item|System|References|DiskSection|NetworkSection|OperatingSystemSection|ProductSection|EulaSection|AnnotationSection|vbox:Machine|PlatformSection|PropertySection|ve:EthernetAdapterSection|DeploymentOptionSection)>|<(VirtualSystem|VirtualHardwareSection|Environment) [^>]*>`)
		seen := map[string]bool{}
		var found []string
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			for _, m := range re.FindAllString(minify(string(b)), -1) {
				if !seen[m] {
					seen[m] = true
					found = append(found, m)
				}
			}
		}
		sort.Strings(found)
		blocks = append(append([]string(nil), fuzzStrings...), found...)
		if len(blocks) > 256 {
			blocks = blocks[:256]
		}
	})
	return blocks
}

// expand turns a compact fuzz input into XML.
func expand(in []byte) []byte {
	fuzzStrings := fuzzBlocks()
	out := make([]byte, 0, 4*len(in))
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c < 1 || c > 3 || i+1 == len(in) {
			out = append(out, c)
			continue
		}
		k := int(in[i+1])
		i++
		switch c {
		case 1:
			out = append(append(append(out, '<'), fuzzNames[k%len(fuzzNames)]...), '>')
		case 2:
			out = append(append(append(out, "</"...), fuzzNames[k%len(fuzzNames)]...), '>')
		default:
			out = append(out, fuzzStrings[k%len(fuzzStrings)]...)
		}
	}
	return out
}

// compact writes XML in the compact notation, after dropping the white
// space between tags and the text of Info, Description and Annotation
// elements, which Parse keeps but nothing checks: a golden descriptor of
// 4-7 KB becomes a seed of a few hundred bytes.
func compact(doc string) []byte {
	doc = minify(doc)
	fuzzStrings := fuzzBlocks()
	type tok struct {
		s    string
		code []byte
	}
	var toks []tok
	for i, n := range fuzzNames {
		toks = append(toks, tok{"<" + n + ">", []byte{1, byte(i)}}, tok{"</" + n + ">", []byte{2, byte(i)}})
	}
	for i, s := range fuzzStrings {
		toks = append(toks, tok{s, []byte{3, byte(i)}})
	}
	sort.Slice(toks, func(i, j int) bool { return len(toks[i].s) > len(toks[j].s) })
	var out []byte
next:
	for len(doc) > 0 {
		for _, t := range toks {
			if strings.HasPrefix(doc, t.s) {
				out = append(out, t.code...)
				doc = doc[len(t.s):]
				continue next
			}
		}
		out = append(out, doc[0])
		doc = doc[1:]
	}
	return out
}

func TestCompactFuzzNotation(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.ovf"))
	require.NotEmpty(t, files)
	for _, p := range files {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		c := compact(string(b))
		require.Less(t, len(c), 128, p)
		want, err := Parse(bytes.NewReader(b), nil)
		require.NoError(t, err)
		got, err := Parse(bytes.NewReader(expand(c)), nil)
		require.NoError(t, err, p)
		wvs, err := want.VirtualSystem()
		require.NoError(t, err)
		gvs, err := got.VirtualSystem()
		require.NoError(t, err)
		wvs.Annotation, wvs.OS.Description, wvs.EULAs, wvs.Networks = "", "", nil, nil
		gvs.Annotation, gvs.OS.Description, gvs.EULAs, gvs.Networks = "", "", nil, nil
		if wvs.Product != nil {
			for i := range wvs.Product.Properties {
				wvs.Product.Properties[i].Description = ""
			}
		}
		for i := range wvs.Configurations {
			wvs.Configurations[i].Description = ""
		}
		require.Equal(t, wvs, gvs, p)
	}
}

func fuzzSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.ovf"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(compact(string(b)))
	}
	f.Add(compact(vboxStyle))
	f.Add([]byte(""))
	f.Add([]byte("<Envelope/>"))
	f.Add([]byte(`<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"><References><File href="a" size="-1"/></References></Envelope>`))
	f.Add([]byte(`<?xml version="1.0" encoding="latin1"?><Envelope/>`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "aaaa">]><Envelope>&a;&a;</Envelope>`))
	f.Add([]byte("\x03\x01<Envelope a='1' a='2'/>"))
}

// FuzzParse: Parse never panics and fails only with typed errors; whatever
// converts and marshals is a fixed point of Marshal∘VirtualSystem∘Parse.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	lim := &ParseOptions{MaxSize: 1 << 20, MaxElements: 1 << 14}
	f.Fuzz(func(t *testing.T, in []byte) {
		data := expand(in)
		env, err := Parse(bytes.NewReader(data), lim)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !(errors.Is(err, ErrMalformed) || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrUnsupported)) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		for _, p := range []Profile{Portable, VMware} {
			if err := env.Validate(&Options{Profile: p}); err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate: %v", err)
			}
		}
		vs, err := env.VirtualSystem()
		if err != nil {
			return
		}
		for _, opts := range []*Options{nil, {Profile: VMware}, {VirtualBoxMachine: true}} {
			out, err := MarshalBytes(vs, opts)
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Marshal: %v", err)
				}
				continue
			}
			env2, err := Parse(bytes.NewReader(out), nil)
			if err != nil {
				t.Fatalf("our output does not parse: %v\n%s", err, out)
			}
			if err := env2.Validate(opts); err != nil {
				t.Fatalf("our output fails lint: %v\n%s", err, out)
			}
			vs2, err := env2.VirtualSystem()
			if err != nil {
				t.Fatalf("our output does not convert: %v", err)
			}
			out2, err := MarshalBytes(vs2, opts)
			if err != nil {
				t.Fatalf("re-marshal: %v", err)
			}
			if !bytes.Equal(out, out2) {
				t.Fatalf("not stable:\n%s\n---\n%s", out, out2)
			}
		}
	})
}

// FuzzParseEnvironment: ParseEnvironment never panics; what it reads
// writes and reads back unchanged.
func FuzzParseEnvironment(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "properties-env.xml")); err == nil {
		f.Add(compact(string(b)))
	}
	f.Add([]byte(`<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1"><PropertySection><Property oe:key="a" oe:value="b"/></PropertySection></Environment>`))
	f.Add([]byte(`<Environment/>`))
	f.Fuzz(func(t *testing.T, in []byte) {
		data := expand(in)
		env, err := ParseEnvironment(bytes.NewReader(data), &ParseOptions{MaxSize: 1 << 20})
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := WriteEnvironment(&buf, env); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("write: %v", err)
			}
			return
		}
		env2, err := ParseEnvironment(bytes.NewReader(buf.Bytes()), nil)
		if err != nil {
			t.Fatalf("our output does not parse: %v\n%s", err, buf.Bytes())
		}
		var buf2 bytes.Buffer
		if err := WriteEnvironment(&buf2, env2); err != nil || !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
			t.Fatalf("not stable (%v):\n%s\n---\n%s", err, buf.Bytes(), buf2.Bytes())
		}
	})
}

// FuzzCapacity: ParseAllocationUnits and CapacityBytes, which read
// descriptor text, never panic, fail only with typed errors and give
// positive multipliers and capacities without overflow.
func FuzzCapacity(f *testing.F) {
	for _, s := range [][2]string{{"8589934592", "byte"}, {"8", "byte * 2^30"}, {"4", "GigaBytes"},
		{"1", "byte*10^18"}, {"${disk.size}", "byte * 2^20"}, {"9223372036854775807", "KB"}, {"-1", ""}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, capacity, units string) {
		m, err := ParseAllocationUnits(units)
		if err != nil {
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("untyped error %v", err)
			}
		} else if m <= 0 {
			t.Fatalf("multiplier %d for %q", m, units)
		}
		n, err := DiskInfo{Capacity: capacity, CapacityUnits: units}.CapacityBytes()
		if err != nil {
			if !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("capacity %d from %q × %q", n, capacity, units)
		}
	})
}
