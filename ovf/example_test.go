package ovf_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/fogkit/fogkit/ovf"
)

// Describe an appliance once and write a descriptor that imports in both
// VMware and VirtualBox.
func ExampleMarshal() {
	vs := &ovf.VirtualSystem{
		Name:      "acme-appliance",
		OS:        ovf.OSDebian64,
		CPUs:      2,
		MemoryMiB: 2048,
		Firmware:  ovf.EFI,
		Disks: []ovf.Disk{{
			Href:     "acme-appliance-disk1.vmdk",
			FileSize: 123456789, // exact bytes of the VMDK in the OVA
			Capacity: 8 << 30,   // virtual size
		}},
		NICs:     []ovf.NIC{{Network: "VM Network"}},
		Networks: []ovf.Network{{Name: "VM Network"}},
	}
	var buf bytes.Buffer
	// EFI needs VirtualBox's own machine block: VirtualBox reads the
	// firmware nowhere else.
	if err := ovf.Marshal(&buf, vs, &ovf.Options{Profile: ovf.Portable, VirtualBoxMachine: true}); err != nil {
		fmt.Println(err)
		return
	}
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.Contains(line, "<File ") || strings.Contains(line, "ResourceSubType") || strings.Contains(line, "vmw:Config") {
			fmt.Println(strings.TrimSpace(line))
		}
	}
	// Output:
	// <File ovf:href="acme-appliance-disk1.vmdk" ovf:id="file1" ovf:size="123456789"/>
	// <rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>
	// <rasd:ResourceSubType>E1000</rasd:ResourceSubType>
	// <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>
}

// Validate reports every broken import rule at once.
func ExampleValidate() {
	vs := &ovf.VirtualSystem{
		Name:       "acme",
		OS:         ovf.OS{VMware: "debian11_64Guest"},
		CPUs:       2,
		MemoryMiB:  2048,
		Controller: ovf.PVSCSI,
		NICs:       []ovf.NIC{{Network: "LAN"}},
	}
	err := ovf.Validate(vs, nil)
	fmt.Println(errors.Is(err, ovf.ErrInvalid))
	var ve ovf.ValidationError
	if errors.As(err, &ve) {
		for _, v := range ve {
			fmt.Println(v.Rule, "|", v.Element)
		}
	}
	// Output:
	// true
	// os-id | OperatingSystemSection/@ovf:id
	// controller | Item[ResourceType=controller]
	// nic-network | Item[NIC 1]/rasd:Connection
}

// Parse reads any descriptor; an OVA verifier needs only References.
func ExampleParse() {
	const descriptor = `<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References><File ovf:href="disk1.vmdk" ovf:id="file1" ovf:size="4096"/></References>
  <DiskSection><Info>disks</Info><Disk ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:capacity="1073741824"/></DiskSection>
</Envelope>`
	env, err := ovf.Parse(strings.NewReader(descriptor), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range env.References {
		fmt.Println(f.ID, f.Href, f.Size)
	}
	capacity, _ := env.Disks[0].CapacityBytes()
	fmt.Println(env.Disks[0].FileRef, capacity)
	// Output:
	// file1 disk1.vmdk 4096
	// file1 1073741824
}

// The guest's first-boot code reads the values the deployer typed in.
func ExampleParseEnvironment() {
	vs := &ovf.VirtualSystem{Name: "acme", Product: &ovf.Product{
		Transports: []ovf.Transport{ovf.TransportGuestInfo},
		Properties: []ovf.Property{
			{Key: "hostname", Type: "string", Default: "acme", UserConfigurable: true},
			{Key: "dhcp", Type: "boolean", Default: "true", UserConfigurable: true},
		},
	}}
	// What vSphere would hand to the guest...
	env, err := ovf.NewEnvironment(vs, map[string]string{"hostname": "acme-01"})
	if err != nil {
		fmt.Println(err)
		return
	}
	var doc bytes.Buffer
	if err := ovf.WriteEnvironment(&doc, env); err != nil {
		fmt.Println(err)
		return
	}
	// ...and what the guest reads back (from guestinfo.ovfEnv or ovf-env.xml).
	got, err := ovf.ParseEnvironment(&doc, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	host, _ := got.Value("hostname")
	dhcp, _ := got.Value("dhcp")
	fmt.Println(host, dhcp)
	// Output:
	// acme-01 true
}

// Flavours: one descriptor carrying every flavour as a deployment option,
// or one single-flavour descriptor each.
func ExampleVirtualSystem_ForConfiguration() {
	vs := &ovf.VirtualSystem{
		Name:      "acme-appliance",
		OS:        ovf.OSDebian64,
		CPUs:      2,
		MemoryMiB: 4096,
		Disks:     []ovf.Disk{{Href: "acme-appliance-disk1.vmdk", FileSize: 123456789, Capacity: 8 << 30}},
		Configurations: []ovf.Configuration{
			{ID: "small", Label: "Small", CPUs: 1, MemoryMiB: 2048},
			{ID: "medium", Label: "Medium", Default: true}, // the virtual system's 2 CPUs, 4 GiB
			{ID: "large", Label: "Large", CPUs: 8, MemoryMiB: 16384},
		},
	}
	// (b) One descriptor with all flavours: the deployer picks one.
	all, err := ovf.MarshalBytes(vs, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	env, err := ovf.Parse(bytes.NewReader(all), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range env.Configurations {
		fmt.Printf("option %s default=%v: %s\n", c.ID, c.Default, c.Description)
	}
	// (a) One descriptor per flavour.
	for _, c := range vs.Configurations {
		one, err := vs.ForConfiguration(c.ID)
		if err != nil {
			fmt.Println(err)
			return
		}
		one.Name = vs.Name + "-" + c.ID
		if _, err := ovf.MarshalBytes(one, nil); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: %d CPUs, %d MiB\n", one.Name, one.CPUs, one.MemoryMiB)
	}
	// Output:
	// option small default=false: 1 virtual CPU(s), 2048 MiB of memory
	// option medium default=true: 2 virtual CPU(s), 4096 MiB of memory
	// option large default=false: 8 virtual CPU(s), 16384 MiB of memory
	// acme-appliance-small: 1 CPUs, 2048 MiB
	// acme-appliance-medium: 2 CPUs, 4096 MiB
	// acme-appliance-large: 8 CPUs, 16384 MiB
}

// Flavours with data disks of different sizes in one descriptor: a boot
// disk with a file for all, and a blank data disk per flavour that the
// importer creates empty.
func ExampleDisk_blank() {
	vs := &ovf.VirtualSystem{
		Name:      "acme-appliance",
		OS:        ovf.OSDebian64,
		CPUs:      2,
		MemoryMiB: 4096,
		Disks: []ovf.Disk{
			{ID: "boot", Href: "acme-appliance-boot.vmdk", FileSize: 123456789, Capacity: 8 << 30},
			{ID: "data-small", Capacity: 20 << 30, Configurations: []string{"small"}},
			{ID: "data-large", Capacity: 500 << 30, Configurations: []string{"large"}},
		},
		Configurations: []ovf.Configuration{
			{ID: "small", Label: "Small", Default: true},
			{ID: "large", Label: "Large", CPUs: 8, MemoryMiB: 16384},
		},
	}
	b, err := ovf.MarshalBytes(vs, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	env, err := ovf.Parse(bytes.NewReader(b), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("files:", len(env.References))
	for _, it := range env.Systems[0].Hardware[0].Items {
		if it.ResourceType == 17 {
			fmt.Printf("%s configuration=%q\n", it.HostResource[0], it.Configuration)
		}
	}
	for _, c := range vs.Configurations {
		one, _ := vs.ForConfiguration(c.ID)
		fmt.Printf("%s: %s %d GiB\n", c.ID, one.Disks[1].ID, one.Disks[1].Capacity>>30)
	}
	// Output:
	// files: 1
	// ovf:/disk/boot configuration=""
	// ovf:/disk/data-small configuration="small"
	// ovf:/disk/data-large configuration="large"
	// small: data-small 20 GiB
	// large: data-large 500 GiB
}
