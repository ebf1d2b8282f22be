package ovf

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireOnly asserts err is a ValidationError whose violations all break
// rule (and at least one does).
func requireOnly(t *testing.T, err error, rule Rule) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, ErrInvalid)
	var ve ValidationError
	require.True(t, errors.As(err, &ve), "%T", err)
	require.NotEmpty(t, ve)
	for _, v := range ve {
		assert.Equal(t, rule, v.Rule, "unexpected violation: %v", v)
		assert.NotEmpty(t, v.Element)
		assert.NotEmpty(t, v.Message)
	}
	var one *Violation
	require.True(t, errors.As(err, &one))
	assert.ErrorIs(t, one, ErrInvalid)
}

func TestValidateGoldenCasesPass(t *testing.T) {
	for _, tc := range goldenCases() {
		require.NoError(t, Validate(tc.vs(), tc.opts), tc.name)
	}
}

// TestValidateModelRules breaks each rule of the model exactly once.
func TestValidateModelRules(t *testing.T) {
	vboxOpts := &Options{VirtualBoxMachine: true}
	for _, tc := range []struct {
		name string
		rule Rule
		opts *Options
		base func() *VirtualSystem
		edit func(*VirtualSystem)
	}{
		{"no name", RuleName, nil, portableCase, func(v *VirtualSystem) { v.Name = "" }},
		{"slash in id", RuleName, nil, portableCase, func(v *VirtualSystem) { v.ID = "a/b" }},
		{"control char", RuleText, nil, portableCase, func(v *VirtualSystem) { v.Annotation = "bell\x07" }},
		{"bad utf8", RuleText, nil, portableCase, func(v *VirtualSystem) { v.EULAs = []string{"\xff"} }},
		{"name with newline", RuleText, nil, portableCase, func(v *VirtualSystem) { v.Name = "a\nb"; v.ID = "ab" }},
		{"no CIM OS id", RuleOSID, nil, portableCase, func(v *VirtualSystem) { v.OS.CIMID = 0 }},
		{"no vmw:osType", RuleVMwareOSType, nil, portableCase, func(v *VirtualSystem) { v.OS.VMware = "" }},
		{"virtualbox system type", RuleSystemType, nil, portableCase, func(v *VirtualSystem) { v.HardwareVersion = "virtualbox-2.2" }},
		{"nvme on vmx-11", RuleSystemType, &Options{Profile: VMware}, nvmeCase, func(v *VirtualSystem) { v.HardwareVersion = "vmx-11" }},
		{"no CPU", RuleCPU, nil, portableCase, func(v *VirtualSystem) { v.CPUs = 0 }},
		{"too many CPUs for VirtualBox", RuleCPU, nil, portableCase, func(v *VirtualSystem) { v.CPUs = 65 }},
		{"odd memory", RuleMemory, nil, portableCase, func(v *VirtualSystem) { v.MemoryMiB = 1023 }},
		{"bad firmware", RuleFirmware, nil, portableCase, func(v *VirtualSystem) { v.Firmware = "uefi" }},
		{"portable EFI without the VirtualBox block", RuleFirmware, nil, portableCase, func(v *VirtualSystem) { v.Firmware = EFI }},
		{"pvscsi in portable", RuleController, nil, portableCase, func(v *VirtualSystem) { v.Controller = PVSCSI }},
		{"nvme in portable", RuleController, nil, portableCase, func(v *VirtualSystem) { v.Controller = NVMe }},
		{"unknown controller", RuleController, nil, portableCase, func(v *VirtualSystem) { v.Controller = "buslogic" }},
		{"three IDE disks", RuleControllerSlots, nil, multiDiskCase, func(v *VirtualSystem) { v.Controller = IDE }},
		{"vmxnet3 in portable", RuleAdapter, nil, portableCase, func(v *VirtualSystem) { v.NICs[0].Adapter = VMXNET3 }},
		{"unknown adapter", RuleAdapter, &Options{Profile: VMware}, vmwareCase, func(v *VirtualSystem) { v.NICs[0].Adapter = "PCNet32" }},
		{"duplicate disk id", RuleDisk, nil, multiDiskCase, func(v *VirtualSystem) { v.Disks[2].ID = "data" }},
		{"blank disk with a file size", RuleDiskFile, nil, portableCase, func(v *VirtualSystem) { v.Disks[0].Href = ""; v.Disks[0].PopulatedSize = 0 }},
		{"file without size", RuleDiskFile, nil, portableCase, func(v *VirtualSystem) { v.Disks[0].FileSize = 0 }},
		{"capacity not sectors", RuleDiskCapacity, nil, portableCase, func(v *VirtualSystem) { v.Disks[0].Capacity = 1000 }},
		{"zero capacity", RuleDiskCapacity, nil, portableCase, func(v *VirtualSystem) { v.Disks[0].Capacity = 0; v.Disks[0].PopulatedSize = 0 }},
		{"populated beyond capacity", RuleDiskCapacity, nil, portableCase, func(v *VirtualSystem) { v.Disks[0].PopulatedSize = 9 << 30 }},
		{"href with directory", RuleReference, nil, portableCase, func(v *VirtualSystem) { v.Disks[0].Href = "../disk.vmdk" }},
		{"duplicate href", RuleReference, nil, multiDiskCase, func(v *VirtualSystem) { v.Disks[2].Href = v.Disks[0].Href }},
		{"duplicate file id", RuleReference, nil, multiDiskCase, func(v *VirtualSystem) { v.Disks[2].FileID = "datafile" }},
		{"NIC without network", RuleNICNetwork, nil, portableCase, func(v *VirtualSystem) { v.NICs[0].Network = "Elsewhere" }},
		{"duplicate network", RuleNetwork, nil, multiDiskCase, func(v *VirtualSystem) { v.Networks = append(v.Networks, Network{Name: "Backend"}) }},
		{"unnamed network", RuleNetwork, nil, portableCase, func(v *VirtualSystem) { v.Networks = append(v.Networks, Network{}) }},
		{"bad property key", RuleProperty, nil, propertiesCase, func(v *VirtualSystem) { v.Product.Properties[0].Key = "host name" }},
		{"duplicate property", RuleProperty, nil, propertiesCase, func(v *VirtualSystem) { v.Product.Properties[1].Key = "hostname" }},
		{"unknown property type", RuleProperty, nil, propertiesCase, func(v *VirtualSystem) { v.Product.Properties[0].Type = "int" }},
		{"default out of range", RuleProperty, nil, propertiesCase, func(v *VirtualSystem) { v.Product.Properties[5].Default = "70000" }},
		{"bad boolean", RuleProperty, nil, propertiesCase, func(v *VirtualSystem) { v.Product.Properties[4].Default = "yes" }},
		{"password not string", RuleProperty, nil, propertiesCase, func(v *VirtualSystem) { v.Product.Properties[4].Password = true }},
		{"iso without CD-ROM", RuleTransport, nil, propertiesCase, func(v *VirtualSystem) { v.CDROM = false }},
		{"properties without transport", RuleTransport, nil, propertiesCase, func(v *VirtualSystem) { v.Product.Transports = nil }},
		{"unknown transport", RuleTransport, nil, propertiesCase, func(v *VirtualSystem) { v.Product.Transports = []Transport{"floppy"} }},
		{"unknown profile", RuleProfile, &Options{Profile: "hyperv"}, portableCase, nil},
		{"vbox block without OS type", RuleVirtualBoxMachine, vboxOpts, efiCase, func(v *VirtualSystem) { v.OS.VirtualBox = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vs := tc.base()
			if tc.edit != nil {
				require.NoError(t, Validate(vs, tc.opts), "base case must be valid")
				tc.edit(vs)
			}
			err := Validate(vs, tc.opts)
			requireOnly(t, err, tc.rule)
			var buf bytes.Buffer
			require.ErrorIs(t, Marshal(&buf, vs, tc.opts), ErrInvalid, "Marshal validates first")
			assert.Zero(t, buf.Len(), "no output for an invalid model")
		})
	}
}

func TestValidateReportsAll(t *testing.T) {
	vs := portableCase()
	vs.CPUs = 0
	vs.MemoryMiB = 0
	vs.OS.CIMID = 0
	vs.NICs[0].Network = "nowhere"
	err := Validate(vs, nil)
	var ve ValidationError
	require.ErrorAs(t, err, &ve)
	for _, r := range []Rule{RuleCPU, RuleMemory, RuleOSID, RuleNICNetwork} {
		assert.True(t, ve.Has(r), "missing %s in %v", r, err)
	}
	assert.Len(t, ve, 4)
	assert.Contains(t, err.Error(), "4 violations")
	require.ErrorIs(t, Validate(nil, nil), ErrInvalid)
	_, err = MarshalBytes(nil, nil)
	require.ErrorIs(t, err, ErrInvalid)
}

// TestValidateEnvelopeRules breaks each FORMATS.md rule in a descriptor
// that otherwise passes, and expects exactly that rule to be reported.
func TestValidateEnvelopeRules(t *testing.T) {
	golden := func(name string) (string, *Options) {
		for _, tc := range goldenCases() {
			if tc.name == name {
				b, err := MarshalBytes(tc.vs(), tc.opts)
				require.NoError(t, err)
				return string(b), tc.opts
			}
		}
		t.Fatalf("no golden case %s", name)
		return "", nil
	}
	const vmci = `      <Item>
        <rasd:ElementName>VMCI device</rasd:ElementName>
        <rasd:InstanceID>99</rasd:InstanceID>
        <rasd:ResourceSubType>vmware.vmci</rasd:ResourceSubType>
        <rasd:ResourceType>1</rasd:ResourceType>
      </Item>
    </VirtualHardwareSection>`
	const diskItem = `<Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:ElementName>Hard Disk 1</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>4</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>`
	for _, tc := range []struct {
		name, base string
		rule       Rule
		old, new   string
		all        bool
	}{
		{"OVF 2.0 namespace", "portable", RuleNamespace, NamespaceOVF, NamespaceOVF2, true},
		{"OVF 2.0 StorageItem", "portable", RuleNamespace, diskItem, strings.ReplaceAll(diskItem, "Item>", "StorageItem>"), false},
		{"virtualbox system type", "portable", RuleSystemType, "vmx-13", "virtualbox-2.2", false},
		{"no OS id", "portable", RuleOSID, `<OperatingSystemSection ovf:id="96"`, `<OperatingSystemSection`, false},
		{"no vmw:osType", "portable", RuleVMwareOSType, ` vmw:osType="debian11_64Guest"`, ``, false},
		{"memory in MegaBytes", "portable", RuleMemory, "byte * 2^20", "MegaBytes", false},
		{"capacity in GiB units", "portable", RuleDiskCapacity, `ovf:capacity="8589934592" ovf:capacityAllocationUnits="byte"`, `ovf:capacity="8" ovf:capacityAllocationUnits="byte * 2^30"`, false},
		{"File without size", "portable", RuleDiskFile, ` ovf:size="123456789"`, ``, false},
		{"fileRef to a missing file", "portable", RuleDiskFile, `ovf:fileRef="file1"`, `ovf:fileRef="file9"`, false},
		{"href outside package", "portable", RuleReference, `ovf:href="fogkit-appliance-disk1.vmdk"`, `ovf:href="../etc/passwd"`, false},
		{"pvscsi in portable", "portable", RuleController, "<rasd:ResourceSubType>lsilogic<", "<rasd:ResourceSubType>VirtualSCSI<", false},
		{"buslogic", "portable", RuleController, "<rasd:ResourceSubType>lsilogic<", "<rasd:ResourceSubType>buslogic<", false},
		{"IDE PIIX4", "properties", RuleController, "<rasd:InstanceID>4</rasd:InstanceID>\n        <rasd:ResourceType>5<", "<rasd:InstanceID>4</rasd:InstanceID>\n        <rasd:ResourceSubType>PIIX4</rasd:ResourceSubType>\n        <rasd:ResourceType>5<", false},
		{"vmxnet3 in portable", "portable", RuleAdapter, "<rasd:ResourceSubType>E1000<", "<rasd:ResourceSubType>VmxNet3<", false},
		{"RASD order", "portable", RuleItemOrder, "<rasd:ElementName>Hard Disk 1</rasd:ElementName>\n        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>", "<rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>\n        <rasd:ElementName>Hard Disk 1</rasd:ElementName>", false},
		{"required VMCI", "portable", RuleUnknownItem, "    </VirtualHardwareSection>", vmci, false},
		{"required firmware config", "efi", RuleFirmware, `<vmw:Config ovf:required="false" vmw:key="firmware"`, `<vmw:Config vmw:key="firmware"`, false},
		{"EFI only for VirtualBox", "efi", RuleFirmware, `<vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>`, ``, false},
		{"properties without transport", "properties", RuleTransport, ` ovf:transport="com.vmware.guestInfo iso"`, ``, false},
		{"disk item without disk", "portable", RuleDiskItem, "<rasd:HostResource>ovf:/disk/vmdisk1<", "<rasd:HostResource>ovf:/disk/vmdisk9<", false},
		{"disk item without controller", "portable", RuleDiskItem, "<rasd:Parent>3<", "<rasd:Parent>30<", false},
		{"NIC without network", "portable", RuleNICNetwork, "<rasd:Connection>VM Network<", "<rasd:Connection>Lab<", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, opts := golden(tc.base)
			env, err := Parse(strings.NewReader(src), nil)
			require.NoError(t, err)
			require.NoError(t, env.Validate(opts), "base descriptor must pass")
			require.Contains(t, src, tc.old)
			n := 1
			if tc.all {
				n = -1
			}
			broken := strings.Replace(src, tc.old, tc.new, n)
			env, err = Parse(strings.NewReader(broken), nil)
			require.NoError(t, err)
			requireOnly(t, env.Validate(opts), tc.rule)
		})
	}
	// The same VMCI item is fine once it is optional.
	src, _ := golden("portable")
	src = strings.Replace(src, "    </VirtualHardwareSection>", strings.Replace(vmci, "<Item>", `<Item ovf:required="false">`, 1), 1)
	env, err := Parse(strings.NewReader(src), nil)
	require.NoError(t, err)
	require.NoError(t, env.Validate(nil))
	// VMware-only hardware passes in the VMware profile.
	src, _ = golden("vmware")
	env, err = Parse(strings.NewReader(src), nil)
	require.NoError(t, err)
	err = env.Validate(nil)
	var ve ValidationError
	require.ErrorAs(t, err, &ve)
	assert.True(t, ve.Has(RuleController) && ve.Has(RuleAdapter) && len(ve) == 2, "%v", err)
	require.NoError(t, env.Validate(&Options{Profile: VMware}))
}

// EFI under the portable profile validates with the VirtualBox block, and
// under the VMware profile without it; the OS presets validate anywhere.
func TestValidateEFIAndPresets(t *testing.T) {
	for _, os := range []OS{OSDebian64, OSLinux64} {
		v := portableCase()
		v.OS, v.Firmware = os, EFI
		require.NoError(t, Validate(v, &Options{VirtualBoxMachine: true}), os.Description)
		require.NoError(t, Validate(v, &Options{Profile: VMware}), os.Description)
		v.Firmware = BIOS
		require.NoError(t, Validate(v, nil), os.Description)
	}
}
