package ovf

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/internal/testutil"
)

// TestConfigurationsRoundTrip: the deployment options survive
// Marshal∘Parse∘VirtualSystem, the envelope sees them, and the model's CPUs
// and memory are the default configuration's.
func TestConfigurationsRoundTrip(t *testing.T) {
	vs := flavoursCase()
	out, err := MarshalBytes(vs, nil)
	require.NoError(t, err)
	env, err := Parse(bytes.NewReader(out), nil)
	require.NoError(t, err)
	require.NoError(t, env.Validate(nil))
	assert.Equal(t, []ConfigurationInfo{
		{ID: "small", Label: "Small", Description: "1 vCPU, 1 GiB of memory: evaluation"},
		{ID: "medium", Default: true, Label: "Medium", Description: "2 virtual CPU(s), 2048 MiB of memory"},
		{ID: "large", Label: "Large", Description: "8 vCPUs, 16 GiB of memory: production & more"},
	}, env.Configurations)
	assert.Equal(t, "medium", env.DefaultConfiguration())

	got, err := env.VirtualSystem()
	require.NoError(t, err)
	assert.Equal(t, 2, got.CPUs)
	assert.Equal(t, int64(2048), got.MemoryMiB)
	assert.Equal(t, vs.normalized(nil).Configurations, got.Configurations)
	again, err := MarshalBytes(got, nil)
	require.NoError(t, err)
	assert.Equal(t, string(out), string(again))
}

// TestConfigurationsDefault: without a marked default the first
// configuration is the default; its items are written last (VirtualBox,
// which ignores ovf:configuration, keeps the last CPU and memory item),
// and the vbox:Machine block carries its sizing too.
func TestConfigurationsDefault(t *testing.T) {
	vs := flavoursCase()
	for i := range vs.Configurations {
		vs.Configurations[i].Default = false
	}
	out, err := MarshalBytes(vs, &Options{VirtualBoxMachine: true})
	require.NoError(t, err)
	assert.Contains(t, string(out), `<Configuration ovf:id="small" ovf:default="true">`)
	assert.Equal(t, 1, strings.Count(string(out), `ovf:default="true"`))
	assert.Contains(t, string(out), `<CPU count="1">`)
	assert.Contains(t, string(out), `<Memory RAMSize="1024"/>`)

	env, err := Parse(bytes.NewReader(out), nil)
	require.NoError(t, err)
	require.NoError(t, env.Validate(&Options{VirtualBoxMachine: true}))
	assert.Equal(t, "small", env.DefaultConfiguration())
	// Read the way VirtualBox does: every item, the last CPU and memory
	// item win.
	var cpus, mem string
	for _, it := range env.Systems[0].Hardware[0].Items {
		switch it.ResourceType {
		case 3:
			cpus = it.VirtualQuantity
		case 4:
			mem = it.VirtualQuantity
		}
	}
	assert.Equal(t, "1", cpus)
	assert.Equal(t, "1024", mem)
	got, err := env.VirtualSystem()
	require.NoError(t, err)
	assert.Equal(t, 1, got.CPUs)
	assert.True(t, got.Configurations[0].Default)
}

func TestConfigurationsBuildTwice(t *testing.T) {
	a, err := MarshalBytes(flavoursCase(), &Options{Profile: VMware})
	require.NoError(t, err)
	b, err := MarshalBytes(flavoursCase(), &Options{Profile: VMware})
	require.NoError(t, err)
	require.Equal(t, a, b)
}

// TestForConfiguration: one single-flavour model per configuration, for
// one OVA per flavour.
func TestForConfiguration(t *testing.T) {
	vs := flavoursCase()
	for _, tc := range []struct {
		id   string
		cpus int
		mem  int64
	}{{"small", 1, 1024}, {"medium", 2, 2048}, {"large", 8, 16384}, {"", 2, 2048}} {
		t.Run(tc.id, func(t *testing.T) {
			one, err := vs.ForConfiguration(tc.id)
			require.NoError(t, err)
			assert.Nil(t, one.Configurations)
			assert.Equal(t, tc.cpus, one.CPUs)
			assert.Equal(t, tc.mem, one.MemoryMiB)
			out, err := MarshalBytes(one, nil)
			require.NoError(t, err)
			assert.NotContains(t, string(out), "DeploymentOptionSection")
			assert.NotContains(t, string(out), "ovf:configuration")
			assert.Contains(t, string(out), fmt.Sprintf("<rasd:VirtualQuantity>%d</rasd:VirtualQuantity>", tc.cpus))
			one.Disks[0].Href = "changed.vmdk"
		})
	}
	assert.Equal(t, flavoursCase(), vs, "ForConfiguration changed its receiver")

	_, err := vs.ForConfiguration("huge")
	requireOnly(t, err, RuleConfiguration)
	_, err = portableCase().ForConfiguration("small")
	requireOnly(t, err, RuleConfiguration)
	one, err := portableCase().ForConfiguration("")
	require.NoError(t, err)
	assert.Equal(t, portableCase(), one)
	_, err = (*VirtualSystem)(nil).ForConfiguration("")
	require.ErrorIs(t, err, ErrInvalid)
}

// TestValidateConfigurations breaks each configuration rule once.
func TestValidateConfigurations(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule Rule
		edit func([]Configuration)
	}{
		{"duplicate id", RuleConfiguration, func(c []Configuration) { c[2].ID = "small" }},
		{"empty id", RuleConfiguration, func(c []Configuration) { c[0].ID = "" }},
		{"id with a space", RuleConfiguration, func(c []Configuration) { c[0].ID = "very small" }},
		{"id starting with a digit", RuleConfiguration, func(c []Configuration) { c[0].ID = "1cpu" }},
		{"id with markup", RuleConfiguration, func(c []Configuration) { c[0].ID = `a"b` }},
		{"two defaults", RuleConfiguration, func(c []Configuration) { c[0].Default = true }},
		{"label with a line break", RuleText, func(c []Configuration) { c[0].Label = "Small\nflavour" }},
		{"description with a control character", RuleText, func(c []Configuration) { c[0].Description = "bell\x07" }},
		{"too many CPUs", RuleCPU, func(c []Configuration) { c[2].CPUs = 65 }},
		{"negative CPUs", RuleCPU, func(c []Configuration) { c[0].CPUs = -1 }},
		{"odd memory", RuleMemory, func(c []Configuration) { c[0].MemoryMiB = 1023 }},
		{"default with odd memory", RuleMemory, func(c []Configuration) { c[1].MemoryMiB = 6 + 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vs := flavoursCase()
			tc.edit(vs.Configurations)
			err := Validate(vs, nil)
			requireOnly(t, err, tc.rule)
			_, err = MarshalBytes(vs, nil)
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
	// A configuration may leave out what the virtual system gives, but
	// then the virtual system must give it.
	vs := flavoursCase()
	vs.CPUs = 0
	requireOnly(t, Validate(vs, nil), RuleCPU)
	for i := range vs.Configurations {
		vs.Configurations[i].CPUs = 4
	}
	require.NoError(t, Validate(vs, nil))
}

const flavourEnvelope = `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References/>
  %s
  <VirtualSystem ovf:id="vm">
    <Info>x</Info>
    <OperatingSystemSection ovf:id="101" vmw:osType="other3xLinux64Guest"><Info>x</Info></OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>x</Info>
      <System><vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>
      %s
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>`

const twoOptions = `<DeploymentOptionSection><Info>x</Info>
    <Configuration ovf:id="a"><Label>A</Label><Description>A</Description></Configuration>
    <Configuration ovf:id="b" ovf:default="true"><Label>B</Label><Description>B</Description></Configuration>
  </DeploymentOptionSection>`

func cpuItem(conf, id, n string) string {
	attr := ""
	if conf != "" {
		attr = fmt.Sprintf(` ovf:configuration=%q`, conf)
	}
	return fmt.Sprintf(`<Item%s><rasd:InstanceID>%s</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>%s</rasd:VirtualQuantity></Item>`, attr, id, n)
}

func memItem(conf, id, n string) string {
	return strings.Replace(strings.Replace(cpuItem(conf, id, n), "<rasd:ResourceType>3<", "<rasd:ResourceType>4<", 1),
		"<rasd:InstanceID>", "<rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:InstanceID>", 1)
}

// TestEnvelopeValidateConfigurations checks parsed descriptors, including
// VMware's style of one InstanceID per configuration.
func TestEnvelopeValidateConfigurations(t *testing.T) {
	for _, tc := range []struct {
		name, options, items string
		rule                 Rule // "" means valid
	}{
		{"distinct ids", twoOptions, cpuItem("a", "1", "1") + cpuItem("b", "5", "2") + memItem("", "2", "512"), ""},
		{"shared id, disjoint configurations", twoOptions, cpuItem("a", "1", "1") + cpuItem("b", "1", "2"), ""},
		{"a list of configurations", twoOptions, cpuItem("a b", "1", "1") + memItem("a", "2", "512") + memItem("b", "3", "1024"), ""},
		{"shared id, same configuration", twoOptions, cpuItem("a", "1", "1") + memItem("a", "1", "512"), RuleDiskItem},
		{"shared id, untagged and tagged", twoOptions, cpuItem("", "1", "1") + memItem("b", "1", "512"), RuleDiskItem},
		{"undeclared configuration", twoOptions, cpuItem("c", "1", "1"), RuleConfiguration},
		{"one undeclared in a list", twoOptions, cpuItem("a c", "1", "1"), RuleConfiguration},
		{"blank configuration", twoOptions, cpuItem("  ", "1", "1"), RuleConfiguration},
		{"no DeploymentOptionSection", "", cpuItem("a", "1", "1"), RuleConfiguration},
		{"two CPU items for one configuration", twoOptions, cpuItem("a", "1", "1") + cpuItem("a b", "5", "2"), RuleConfiguration},
		{"untagged and tagged CPU", twoOptions, cpuItem("", "1", "1") + cpuItem("b", "5", "2"), RuleConfiguration},
		{"two untagged CPUs", twoOptions, cpuItem("", "1", "1") + cpuItem("", "5", "2"), RuleCPU},
		{"duplicate option ids", strings.Replace(twoOptions, `"b"`, `"a"`, 1), cpuItem("a", "1", "1"), RuleConfiguration},
		{"two defaults", strings.Replace(twoOptions, `ovf:id="a"`, `ovf:id="a" ovf:default="true"`, 1), cpuItem("a", "1", "1"), RuleConfiguration},
		{"option without id", strings.Replace(twoOptions, `ovf:id="a"`, ``, 1), cpuItem("b", "1", "1"), RuleConfiguration},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, err := Parse(strings.NewReader(fmt.Sprintf(flavourEnvelope, tc.options, tc.items)), nil)
			require.NoError(t, err)
			err = env.Validate(&Options{Profile: VMware})
			if tc.rule == "" {
				require.NoError(t, err)
				return
			}
			requireOnly(t, err, tc.rule)
		})
	}
}

// TestEnvelopeValidateDefaultLast: the portable profile wants the default
// configuration's CPU and memory items last, for VirtualBox.
func TestEnvelopeValidateDefaultLast(t *testing.T) {
	for _, tc := range []struct {
		name, items string
		rule        Rule
	}{
		{"default last", cpuItem("a", "5", "1") + memItem("a", "6", "512") + cpuItem("b", "1", "2") + memItem("b", "2", "1024"), ""},
		{"untagged last", cpuItem("a", "5", "1") + cpuItem("b", "1", "2") + memItem("", "2", "1024"), ""},
		{"list with the default last", cpuItem("a", "1", "1") + cpuItem("b", "5", "2") + memItem("a b", "2", "1024"), ""},
		{"CPU of another last", cpuItem("b", "1", "2") + cpuItem("a", "5", "1") + memItem("", "2", "1024"), RuleConfiguration},
		{"memory of another last", cpuItem("", "1", "2") + memItem("b", "2", "1024") + memItem("a", "6", "512"), RuleConfiguration},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, err := Parse(strings.NewReader(fmt.Sprintf(flavourEnvelope, twoOptions, tc.items)), nil)
			require.NoError(t, err)
			require.NoError(t, env.Validate(&Options{Profile: VMware}))
			err = env.Validate(nil)
			if tc.rule == "" {
				require.NoError(t, err)
				return
			}
			requireOnly(t, err, tc.rule)
		})
	}
}

// TestConfigurationsConvert: sizing per configuration from a descriptor
// that tags some items and leaves others for all configurations.
func TestConfigurationsConvert(t *testing.T) {
	items := cpuItem("a", "1", "1") + cpuItem("b", "5", "4") + memItem("", "2", "2048")
	env, err := Parse(strings.NewReader(fmt.Sprintf(flavourEnvelope, twoOptions, items)), nil)
	require.NoError(t, err)
	vs, err := env.VirtualSystem()
	require.NoError(t, err)
	assert.Equal(t, []Configuration{
		{ID: "a", Label: "A", Description: "A", CPUs: 1, MemoryMiB: 2048},
		{ID: "b", Label: "B", Description: "B", Default: true, CPUs: 4, MemoryMiB: 2048},
	}, vs.Configurations)
	assert.Equal(t, 4, vs.CPUs)
	assert.Equal(t, int64(2048), vs.MemoryMiB)

	// Tagged items without a DeploymentOptionSection are dropped, as before.
	env, err = Parse(strings.NewReader(fmt.Sprintf(flavourEnvelope, "", cpuItem("a", "1", "3")+cpuItem("", "2", "2"))), nil)
	require.NoError(t, err)
	vs, err = env.VirtualSystem()
	require.NoError(t, err)
	assert.Nil(t, vs.Configurations)
	assert.Equal(t, 2, vs.CPUs)

	env, err = Parse(strings.NewReader(fmt.Sprintf(flavourEnvelope, twoOptions, cpuItem("a", "1", "x"))), nil)
	require.NoError(t, err)
	_, err = env.VirtualSystem()
	require.ErrorIs(t, err, ErrMalformed)
}

// TestConfigurationsHostile: tens of thousands of options and a
// configuration list of hundreds of thousands of ids stay cheap and give a
// bounded report.
func TestConfigurationsHostile(t *testing.T) {
	var opts, items strings.Builder
	opts.WriteString("<DeploymentOptionSection><Info>x</Info>")
	for i := range 20000 {
		fmt.Fprintf(&opts, `<Configuration ovf:id="c%d" ovf:default="true"><Label>x</Label><Description>x</Description></Configuration>`, i%10000)
	}
	opts.WriteString("</DeploymentOptionSection>")
	list := strings.Repeat("c1 nope ", 50000)
	for i := range 20 {
		items.WriteString(cpuItem(list, "1", fmt.Sprint(i)))
	}
	doc := fmt.Sprintf(flavourEnvelope, opts.String(), items.String())
	env, err := Parse(strings.NewReader(doc), nil)
	require.NoError(t, err)
	require.Len(t, env.Configurations, 20000)
	err = env.Validate(&Options{MaxViolations: 20})
	var ve ValidationError
	require.True(t, errors.As(err, &ve))
	require.Len(t, ve, 21)
	assert.Equal(t, RuleTruncated, ve[20].Rule)
	for _, v := range ve {
		assert.Less(t, len(v.Error()), 1200)
	}
	_, err = env.VirtualSystem()
	require.NoError(t, err)
}

// TestConfigurationsSchema: the flavour descriptors of every profile (and
// with the vbox:Machine block) validate against the DMTF schema, as do the
// single-flavour descriptors ForConfiguration gives.
func TestConfigurationsSchema(t *testing.T) {
	xmllint := testutil.RequireTool(t, "xmllint")
	xsd := filepath.Join(testutil.SharedDir(t), "xsd")
	testutil.RequireFile(t, "OVF schema", filepath.Join(xsd, "dsp8023_1.1.1.xsd"))
	dir := t.TempDir()
	write := func(name string, vs *VirtualSystem, opts *Options) string {
		b, err := MarshalBytes(vs, opts)
		require.NoError(t, err, name)
		p := filepath.Join(dir, name+".ovf")
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return p
	}
	plain := []string{
		write("vmware", flavoursCase(), &Options{Profile: VMware}),
		write("first-default", func() *VirtualSystem {
			vs := flavoursCase()
			vs.Configurations[1].Default = false
			vs.Configurations = append(vs.Configurations, Configuration{ID: "x.y_z-1"})
			return vs
		}(), nil),
	}
	for _, c := range flavoursCase().Configurations {
		one, err := flavoursCase().ForConfiguration(c.ID)
		require.NoError(t, err)
		plain = append(plain, write("one-"+c.ID, one, nil))
	}
	vbox := write("vbox", flavoursCase(), &Options{VirtualBoxMachine: true})
	for schema, files := range map[string][]string{"dsp8023_1.1.1.xsd": plain, "ovf-plus-ext.xsd": {vbox}} {
		args := append([]string{"--noout", "--nonet", "--schema", filepath.Join(xsd, schema)}, files...)
		res := testutil.Run(t, xsd, nil, xmllint, args...)
		require.Equal(t, 0, res.ExitCode, "xmllint %s:\n%s", schema, res.Stderr)
		assert.Equal(t, len(files), strings.Count(string(res.Stderr), " validates"), "%s", res.Stderr)
	}
}
