package ovf

// Test models shared by the golden, interop and validation tests.

func portableCase() *VirtualSystem {
	return &VirtualSystem{
		Name:       "fogkit-appliance",
		Annotation: "fogkit reference appliance",
		OS:         OS{CIMID: 96, VMware: "debian11_64Guest", VirtualBox: "Debian_64", Description: "Debian GNU/Linux 12 (64-bit)"},
		CPUs:       2,
		MemoryMiB:  2048,
		Disks: []Disk{{
			Href: "fogkit-appliance-disk1.vmdk", FileSize: 123456789, Capacity: 8 << 30, PopulatedSize: 1 << 30,
		}},
		NICs:     []NIC{{Network: "VM Network"}},
		Networks: []Network{{Name: "VM Network"}},
	}
}

func vmwareCase() *VirtualSystem {
	vs := portableCase()
	vs.Name = "fogkit-vmware"
	vs.CPUs = 4
	vs.MemoryMiB = 8192
	vs.Disks[0].Href = "fogkit-vmware-disk1.vmdk"
	return vs
}

func nvmeCase() *VirtualSystem {
	vs := vmwareCase()
	vs.Name = "fogkit-nvme"
	vs.Controller = NVMe
	vs.HardwareVersion = "vmx-14"
	vs.NICs[0].Adapter = E1000e
	vs.Disks[0].Href = "fogkit-nvme-disk1.vmdk"
	return vs
}

func efiCase() *VirtualSystem {
	vs := portableCase()
	vs.Name = "fogkit-efi"
	vs.Firmware = EFI
	vs.Controller = SATA
	vs.Disks[0].Href = "fogkit-efi-disk1.vmdk"
	return vs
}

func multiDiskCase() *VirtualSystem {
	vs := portableCase()
	vs.Name = "fogkit-multidisk"
	vs.Controller = SATA
	vs.CPUs = 1
	vs.MemoryMiB = 1024
	vs.Disks = []Disk{
		{Href: "fogkit-multidisk-system.vmdk", FileSize: 300 << 20, Capacity: 4 << 30},
		{ID: "data", FileID: "datafile", Href: "fogkit-multidisk-data.vmdk", FileSize: 65536, Capacity: 100 << 30, PopulatedSize: 0},
		{Href: "fogkit-multidisk-logs.vmdk", FileSize: 65536, Capacity: 20 << 30},
	}
	vs.Networks = []Network{{Name: "Frontend", Description: "Customer-facing network"}, {Name: "Backend"}}
	vs.NICs = []NIC{{Network: "Frontend"}, {Network: "Backend"}}
	return vs
}

func propertiesCase() *VirtualSystem {
	vs := portableCase()
	vs.Name = "fogkit-properties"
	vs.ID = "fogkit_props"
	vs.Annotation = "Line one & <two>\nline \"three\"\ttabbed"
	vs.EULAs = []string{"Vendor EULA: by deploying you agree.\nSection 2 < 3 & more.", "Third-party notices"}
	vs.CDROM = true
	vs.Disks[0].Href = "fogkit-properties-disk1.vmdk"
	vs.Product = &Product{
		Product:     "Fogkit Appliance",
		Vendor:      "Fogkit & Co",
		Version:     "1.2",
		FullVersion: "1.2.3-build.45",
		ProductURL:  "https://fogkit.example/product",
		VendorURL:   "https://fogkit.example/",
		Transports:  []Transport{TransportGuestInfo, TransportISO},
		Properties: []Property{
			{Key: "hostname", Type: "string", Qualifiers: "MinLen(1) MaxLen(63)", Default: "fogkit", Label: "Hostname", Description: "Host name of the appliance", Category: "Network", UserConfigurable: true},
			{Key: "ip0", Type: "string", VMwareQualifiers: "Ip", Label: "IP address", Description: "Leave empty for DHCP", Category: "Network", UserConfigurable: true},
			{Key: "mode", Type: "string", Qualifiers: `ValueMap{"dhcp","static"}`, Default: "dhcp", Label: "Addressing", Category: "Network", UserConfigurable: true},
			{Key: "admin.password", Type: "string", Password: true, Label: "Admin password", Category: "Access", UserConfigurable: true},
			{Key: "ssh.enabled", Type: "boolean", Default: "false", Label: "Enable SSH", Category: "Access", UserConfigurable: true},
			{Key: "http.port", Type: "uint16", Default: "8443", Label: "HTTPS port", Category: "Access", UserConfigurable: true},
			{Key: "build.id", Type: "string", Default: "45"},
		},
	}
	return vs
}

type goldenCase struct {
	name string
	vs   func() *VirtualSystem
	opts *Options
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{"portable", portableCase, nil},
		{"vmware", vmwareCase, &Options{Profile: VMware}},
		{"vmware-nvme", nvmeCase, &Options{Profile: VMware}},
		{"efi", efiCase, &Options{VirtualBoxMachine: true}},
		{"multidisk", multiDiskCase, nil},
		{"properties", propertiesCase, nil},
		{"flavours", flavoursCase, nil},
		{"flavour-disks", flavourDisksCase, nil},
	}
}

// flavoursCase has three deployment options; medium, the default, keeps
// the virtual system's CPUs and memory.
func flavoursCase() *VirtualSystem {
	vs := portableCase()
	vs.Name = "fogkit-flavours"
	vs.Disks[0].Href = "fogkit-flavours-disk1.vmdk"
	vs.Configurations = []Configuration{
		{ID: "small", Label: "Small", Description: "1 vCPU, 1 GiB of memory: evaluation", CPUs: 1, MemoryMiB: 1024},
		{ID: "medium", Label: "Medium", Default: true},
		{ID: "large", Label: "Large", Description: "8 vCPUs, 16 GiB of memory: production & more", CPUs: 8, MemoryMiB: 16384},
	}
	return vs
}

// flavourDisksCase is the shape of the appliance's combined OVA: a boot
// disk with a file for every flavour, and one blank data disk per flavour,
// each of its own size and attached only in its configuration.
func flavourDisksCase() *VirtualSystem {
	vs := flavoursCase()
	vs.Name = "fogkit-flavour-disks"
	vs.Disks = []Disk{
		{ID: "boot", Href: "fogkit-flavour-disks-boot.vmdk", FileSize: 123456789, Capacity: 8 << 30, PopulatedSize: 1 << 30},
		{ID: "data-small", Capacity: 20 << 30, Configurations: []string{"small"}},
		{ID: "data-medium", Capacity: 100 << 30, Configurations: []string{"medium"}},
		{ID: "data-large", Capacity: 500 << 30, Configurations: []string{"large"}},
	}
	return vs
}
