package ovf

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/internal/testutil"
)

// TestValidateFlavourDisks breaks each rule of blank and per-configuration
// disks once, and checks the shapes that are fine.
func TestValidateFlavourDisks(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule Rule // "" means valid
		opts *Options
		edit func(*VirtualSystem)
	}{
		{"the combined appliance", "", nil, func(*VirtualSystem) {}},
		{"VMware profile", "", &Options{Profile: VMware}, func(*VirtualSystem) {}},
		{"blank disk of every configuration", "", nil, func(v *VirtualSystem) { v.Disks[1].Configurations = nil }},
		{"blank disk without deployment options", "", nil, func(v *VirtualSystem) {
			v.Configurations = nil
			v.Disks = v.Disks[:2]
			v.Disks[1].Configurations = nil
		}},
		{"file disk of one configuration", "", nil, func(v *VirtualSystem) { v.Disks[0].Configurations = []string{"large"} }},
		{"disk of two configurations", "", nil, func(v *VirtualSystem) { v.Disks[1].Configurations = []string{"small", "medium"} }},
		{"blank disk with a file id", RuleDiskFile, nil, func(v *VirtualSystem) { v.Disks[1].FileID = "file2" }},
		{"blank disk with a file size", RuleDiskFile, nil, func(v *VirtualSystem) { v.Disks[1].FileSize = 4096 }},
		{"blank disk with a negative file size", RuleDiskFile, nil, func(v *VirtualSystem) { v.Disks[1].FileSize = -1 }},
		{"blank disk without capacity", RuleDiskCapacity, nil, func(v *VirtualSystem) { v.Disks[1].Capacity = 0 }},
		{"blank disk of odd capacity", RuleDiskCapacity, nil, func(v *VirtualSystem) { v.Disks[1].Capacity = 20<<30 + 100 }},
		{"blank disk with a populated size", RuleDiskCapacity, nil, func(v *VirtualSystem) { v.Disks[1].PopulatedSize = 1 << 20 }},
		{"empty configuration list", RuleConfiguration, nil, func(v *VirtualSystem) { v.Disks[1].Configurations = []string{} }},
		{"unknown configuration", RuleConfiguration, nil, func(v *VirtualSystem) { v.Disks[1].Configurations = []string{"huge"} }},
		{"one unknown in a list", RuleConfiguration, nil, func(v *VirtualSystem) { v.Disks[1].Configurations = []string{"small", "huge"} }},
		{"empty id in a list", RuleConfiguration, nil, func(v *VirtualSystem) { v.Disks[1].Configurations = []string{"small", ""} }},
		{"repeated configuration", RuleConfiguration, nil, func(v *VirtualSystem) { v.Disks[1].Configurations = []string{"small", "small"} }},
		{"configurations without deployment options", RuleConfiguration, nil, func(v *VirtualSystem) {
			v.Configurations = nil
			v.Disks = v.Disks[:2]
		}},
		{"disks of every flavour count against the controller", RuleControllerSlots, nil, func(v *VirtualSystem) { v.Controller = IDE }},
		{"blank disk in the vbox:Machine block", RuleVirtualBoxMachine, &Options{VirtualBoxMachine: true}, func(v *VirtualSystem) {
			v.Disks = v.Disks[:2]
			v.Disks[1].Configurations = nil
		}},
		{"per-flavour file disk in the vbox:Machine block", RuleVirtualBoxMachine, &Options{VirtualBoxMachine: true}, func(v *VirtualSystem) {
			v.Disks = v.Disks[:1]
			v.Disks[0].Configurations = []string{"small"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vs := flavourDisksCase()
			tc.edit(vs)
			err := Validate(vs, tc.opts)
			if tc.rule == "" {
				require.NoError(t, err)
				return
			}
			requireOnly(t, err, tc.rule)
			_, err = MarshalBytes(vs, tc.opts)
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
}

// diskItemOf returns the Item element that attaches the disk.
func diskItemOf(t *testing.T, doc, diskID string) string {
	t.Helper()
	var found []string
	for _, it := range strings.Split(doc, "<Item")[1:] {
		if strings.Contains(it, "<rasd:HostResource>ovf:/disk/"+diskID+"<") {
			found = append(found, "<Item"+it[:strings.Index(it, "</Item>")])
		}
	}
	require.Len(t, found, 1, diskID)
	return found[0]
}

// TestMarshalFlavourDisks: blank disks have no File and no ovf:fileRef;
// each data disk's item (and only it) carries its configurations in the
// given order; every disk has its own unit number on the one, shared
// controller.
func TestMarshalFlavourDisks(t *testing.T) {
	vs := flavourDisksCase()
	vs.Disks[3].Configurations = []string{"large", "medium"}
	out, err := MarshalBytes(vs, nil)
	require.NoError(t, err)
	doc := string(out)

	assert.Equal(t, 1, strings.Count(doc, "<File "), "only the boot disk has a file")
	assert.Contains(t, doc, `<File ovf:href="fogkit-flavour-disks-boot.vmdk" ovf:id="file1" ovf:size="123456789"/>`)
	assert.Equal(t, 1, strings.Count(doc, "ovf:fileRef="))
	assert.Contains(t, doc, `<Disk ovf:capacity="21474836480" ovf:capacityAllocationUnits="byte" ovf:diskId="data-small" ovf:format="`+DefaultDiskFormat+`"/>`)
	assert.NotContains(t, doc, "vbox:uuid")

	for id, conf := range map[string]string{
		"boot": "", "data-small": "small", "data-medium": "medium", "data-large": "large medium",
	} {
		it := diskItemOf(t, doc, id)
		if conf == "" {
			assert.True(t, strings.HasPrefix(it, "<Item>"), "%s: %s", id, it)
		} else {
			assert.True(t, strings.HasPrefix(it, fmt.Sprintf(`<Item ovf:configuration=%q>`, conf)), "%s: %s", id, it)
		}
	}
	// The controller and the NIC apply to every configuration; the tagged
	// items are the 3 CPU, 3 memory and 3 data disk items.
	assert.Contains(t, doc, "<Item>\n        <rasd:Address>0</rasd:Address>\n        <rasd:Description>SCSI Controller")
	assert.Equal(t, 9, strings.Count(doc, "<Item ovf:configuration="))
	units := regexp.MustCompile(`<rasd:AddressOnParent>(\d+)<`).FindAllStringSubmatch(doc, -1)
	var got []string
	for _, u := range units {
		got = append(got, u[1])
	}
	assert.Equal(t, []string{"0", "1", "2", "3"}, got)
}

// TestFlavourDisksRoundTrip: the parser and the linter accept exactly
// what Marshal writes, and the model survives Parse∘VirtualSystem.
func TestFlavourDisksRoundTrip(t *testing.T) {
	for _, opts := range []*Options{nil, {Profile: VMware}} {
		vs := flavourDisksCase()
		vs.Disks = append(vs.Disks, Disk{ID: "scratch", Capacity: 1 << 30}, Disk{ID: "logs", Capacity: 2 << 30, Configurations: []string{"large", "small"}})
		out, err := MarshalBytes(vs, opts)
		require.NoError(t, err)
		env, err := Parse(bytes.NewReader(out), nil)
		require.NoError(t, err)
		require.NoError(t, env.Validate(opts))
		require.Len(t, env.Disks, 6)
		assert.Equal(t, "file1", env.Disks[0].FileRef)
		for _, d := range env.Disks[1:] {
			assert.Empty(t, d.FileRef, d.ID)
		}
		require.Len(t, env.References, 1)

		got, err := env.VirtualSystem()
		require.NoError(t, err)
		assert.Equal(t, vs.normalized(opts).Disks, got.normalized(opts).Disks)
		again, err := MarshalBytes(got, opts)
		require.NoError(t, err)
		assert.Equal(t, string(out), string(again))
	}
}

// TestForConfigurationDisks: each flavour keeps the boot disk and its own
// data disk, as plain disks, and gives a valid single-flavour descriptor.
func TestForConfigurationDisks(t *testing.T) {
	vs := flavourDisksCase()
	for _, tc := range []struct {
		id   string
		data string
		size int64
	}{{"small", "data-small", 20 << 30}, {"medium", "data-medium", 100 << 30}, {"large", "data-large", 500 << 30}, {"", "data-medium", 100 << 30}} {
		t.Run(tc.id, func(t *testing.T) {
			one, err := vs.ForConfiguration(tc.id)
			require.NoError(t, err)
			require.Len(t, one.Disks, 2)
			assert.Equal(t, "boot", one.Disks[0].ID)
			assert.Equal(t, Disk{ID: tc.data, Capacity: tc.size}, one.Disks[1])
			for _, d := range one.Disks {
				assert.Nil(t, d.Configurations)
			}
			out, err := MarshalBytes(one, nil)
			require.NoError(t, err)
			assert.NotContains(t, string(out), "ovf:configuration")
			assert.NotContains(t, string(out), "DeploymentOptionSection")
			assert.Equal(t, 2, strings.Count(string(out), "<Disk "))
			env, err := Parse(bytes.NewReader(out), nil)
			require.NoError(t, err)
			require.NoError(t, env.Validate(nil))
			one.Disks[1].Configurations = []string{"changed"}
		})
	}
	assert.Equal(t, flavourDisksCase(), vs, "ForConfiguration changed its receiver")

	// A disk of two configurations is kept in both.
	vs.Disks[1].Configurations = []string{"small", "large"}
	for id, n := range map[string]int{"small": 2, "medium": 2, "large": 3} {
		one, err := vs.ForConfiguration(id)
		require.NoError(t, err)
		assert.Len(t, one.Disks, n, id)
		require.NoError(t, Validate(one, nil))
	}
}

// TestFlavourDisksBuildTwice: the combined descriptor is deterministic in
// every profile.
func TestFlavourDisksBuildTwice(t *testing.T) {
	for _, opts := range []*Options{nil, {Profile: VMware}} {
		a, err := MarshalBytes(flavourDisksCase(), opts)
		require.NoError(t, err)
		b, err := MarshalBytes(flavourDisksCase(), opts)
		require.NoError(t, err)
		require.Equal(t, a, b)
	}
}

// TestFlavourDisksSchema: the combined descriptor in both profiles, one
// with a disk of two configurations, and the single-flavour descriptors
// validate against the DMTF OVF schema (the portable golden file is
// checked by TestGoldenSchema too).
func TestFlavourDisksSchema(t *testing.T) {
	xmllint := testutil.RequireTool(t, "xmllint")
	xsd := filepath.Join(testutil.SharedDir(t), "xsd")
	testutil.RequireFile(t, "OVF schema", filepath.Join(xsd, "dsp8023_1.1.1.xsd"))
	dir := t.TempDir()
	var files []string
	write := func(name string, vs *VirtualSystem, opts *Options) {
		b, err := MarshalBytes(vs, opts)
		require.NoError(t, err, name)
		p := filepath.Join(dir, name+".ovf")
		require.NoError(t, os.WriteFile(p, b, 0o644))
		files = append(files, p)
	}
	write("portable", flavourDisksCase(), nil)
	write("vmware", flavourDisksCase(), &Options{Profile: VMware})
	two := flavourDisksCase()
	two.Disks[1].Configurations = []string{"small", "large"}
	write("list", two, nil)
	for _, c := range flavourDisksCase().Configurations {
		one, err := flavourDisksCase().ForConfiguration(c.ID)
		require.NoError(t, err)
		write("one-"+c.ID, one, nil)
	}
	args := append([]string{"--noout", "--nonet", "--schema", filepath.Join(xsd, "dsp8023_1.1.1.xsd")}, files...)
	res := testutil.Run(t, xsd, nil, xmllint, args...)
	require.Equal(t, 0, res.ExitCode, "xmllint:\n%s", res.Stderr)
	assert.Equal(t, len(files), strings.Count(string(res.Stderr), " validates"), "%s", res.Stderr)
}

// TestEnvelopeValidateBlankDisks: the linter accepts a Disk without
// ovf:fileRef when it has a capacity, and still rejects a fileRef to a
// missing file and a disk item of an undeclared configuration.
func TestEnvelopeValidateBlankDisks(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "flavour-disks.ovf"))
	require.NoError(t, err)
	blank := `<Disk ovf:capacity="21474836480" ovf:capacityAllocationUnits="byte" ovf:diskId="data-small" `
	for _, tc := range []struct {
		name     string
		old, new string
		rule     Rule // "" means valid
	}{
		{"as written", "", "", ""},
		{"blank disk without capacity", blank, `<Disk ovf:capacityAllocationUnits="byte" ovf:diskId="data-small" `, RuleDiskCapacity},
		{"blank disk of zero capacity", blank, `<Disk ovf:capacity="0" ovf:capacityAllocationUnits="byte" ovf:diskId="data-small" `, RuleDiskCapacity},
		{"fileRef to a missing file", blank, blank + `ovf:fileRef="file2" `, RuleDiskFile},
		{"disk item of an undeclared configuration", `<Item ovf:configuration="large">
        <rasd:AddressOnParent>`, `<Item ovf:configuration="huge">
        <rasd:AddressOnParent>`, RuleConfiguration},
		{"disk item naming a list", `<Item ovf:configuration="large">
        <rasd:AddressOnParent>`, `<Item ovf:configuration="large small">
        <rasd:AddressOnParent>`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := string(src)
			if tc.old != "" {
				require.Contains(t, doc, tc.old)
				doc = strings.Replace(doc, tc.old, tc.new, 1)
			}
			env, err := Parse(strings.NewReader(doc), nil)
			require.NoError(t, err)
			for _, opts := range []*Options{nil, {Profile: VMware}} {
				err = env.Validate(opts)
				if tc.rule == "" {
					require.NoError(t, err)
					continue
				}
				requireOnly(t, err, tc.rule)
			}
		})
	}
}

// TestConvertDiskConfigurations: configuration-tagged disk items become
// disks of those configurations; a disk attached by several items gets
// the union (every configuration when one item is untagged); tagged disk
// items without a DeploymentOptionSection are dropped, as other tagged
// items are.
func TestConvertDiskConfigurations(t *testing.T) {
	disks := `<DiskSection><Info>x</Info>
    <Disk ovf:diskId="d1" ovf:capacity="1048576"/><Disk ovf:diskId="d2" ovf:capacity="2097152"/></DiskSection>`
	ctrl := `<Item><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>`
	disk := func(conf, id, unit, d string) string {
		attr := ""
		if conf != "" {
			attr = fmt.Sprintf(` ovf:configuration=%q`, conf)
		}
		return fmt.Sprintf(`<Item%s><rasd:AddressOnParent>%s</rasd:AddressOnParent><rasd:HostResource>ovf:/disk/%s</rasd:HostResource><rasd:InstanceID>%s</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>`, attr, unit, d, id)
	}
	for _, tc := range []struct {
		name, options, items string
		want                 [][]string // Configurations of each disk
	}{
		{"one each", twoOptions, disk("a", "4", "0", "d1") + disk("b", "5", "1", "d2"), [][]string{{"a"}, {"b"}}},
		{"a list", twoOptions, disk("b a", "4", "0", "d1"), [][]string{{"b", "a"}}},
		{"one disk, two items", twoOptions, disk("a", "4", "0", "d1") + disk("b", "5", "0", "d1"), [][]string{{"a", "b"}}},
		{"one disk, repeated", twoOptions, disk("a", "4", "0", "d1") + disk("a b", "5", "0", "d1"), [][]string{{"a", "b"}}},
		{"tagged then untagged", twoOptions, disk("a", "4", "0", "d1") + disk("", "5", "0", "d1"), [][]string{nil}},
		{"untagged then tagged", twoOptions, disk("", "4", "0", "d1") + disk("b", "5", "0", "d1"), [][]string{nil}},
		{"no DeploymentOptionSection", "", disk("a", "4", "0", "d1") + disk("", "5", "1", "d2"), [][]string{nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := fmt.Sprintf(flavourEnvelope, disks+tc.options, cpuItem("", "1", "1")+memItem("", "2", "512")+ctrl+tc.items)
			env, err := Parse(strings.NewReader(doc), nil)
			require.NoError(t, err)
			vs, err := env.VirtualSystem()
			require.NoError(t, err)
			require.Len(t, vs.Disks, len(tc.want))
			for i, d := range vs.Disks {
				assert.Equal(t, tc.want[i], d.Configurations, d.ID)
				assert.Empty(t, d.Href, d.ID)
				assert.Empty(t, d.FileID, d.ID)
			}
		})
	}
}

// TestConvertDiskConfigurationsHostile: one disk attached by many items,
// each naming thousands of configurations, merges in linear time and
// keeps each id once.
func TestConvertDiskConfigurationsHostile(t *testing.T) {
	var opts, list, items strings.Builder
	opts.WriteString("<DeploymentOptionSection><Info>x</Info>")
	for i := range 5000 {
		fmt.Fprintf(&opts, `<Configuration ovf:id="c%d"><Label>x</Label><Description>x</Description></Configuration>`, i)
		fmt.Fprintf(&list, "c%d ", i)
	}
	opts.WriteString("</DeploymentOptionSection>")
	for i := range 200 {
		fmt.Fprintf(&items, `<Item ovf:configuration="%s"><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:HostResource>ovf:/disk/d1</rasd:HostResource><rasd:InstanceID>%d</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>`, list.String(), 10+i)
	}
	ctrl := `<Item><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>`
	doc := fmt.Sprintf(flavourEnvelope, `<DiskSection><Info>x</Info><Disk ovf:diskId="d1" ovf:capacity="1048576"/></DiskSection>`+opts.String(), ctrl+items.String())
	env, err := Parse(strings.NewReader(doc), nil)
	require.NoError(t, err)
	vs, err := env.VirtualSystem()
	require.NoError(t, err)
	require.Len(t, vs.Disks, 1)
	assert.Len(t, vs.Disks[0].Configurations, 5000)
}
