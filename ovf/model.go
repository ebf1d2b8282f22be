package ovf

// Profile chooses which virtual hardware a descriptor may use.
type Profile string

const (
	// Portable hardware imports in VMware and VirtualBox alike: LSI Logic
	// SCSI, SATA AHCI or IDE controllers, E1000 NICs, vmx-13. It is the
	// default.
	Portable Profile = "portable"
	// VMware additionally allows the paravirtual SCSI controller, LSI Logic
	// SAS, NVMe, E1000e and VMXNET3, which VirtualBox does not import.
	VMware Profile = "vmware"
)

// Firmware is the boot firmware the virtual machine gets.
type Firmware string

const (
	BIOS Firmware = "bios" // the default
	EFI  Firmware = "efi"
)

// Controller is the model of the disk controller.
type Controller string

const (
	LSILogic    Controller = "lsilogic"    // SCSI, ResourceType 6 (Portable default)
	SATA        Controller = "sata"        // SATA AHCI, ResourceType 20 vmware.sata.ahci
	IDE         Controller = "ide"         // IDE, ResourceType 5, no subtype
	PVSCSI      Controller = "pvscsi"      // VMware paravirtual SCSI (VMware default)
	LSILogicSAS Controller = "lsilogicsas" // VMware only
	NVMe        Controller = "nvme"        // VMware only, vmx-13 or later
	BusLogic    Controller = "buslogic"    // VMware only, legacy
)

// Adapter is the model of a network adapter.
type Adapter string

const (
	E1000   Adapter = "E1000"   // Portable default
	E1000e  Adapter = "E1000e"  // VMware only
	VMXNET3 Adapter = "VmxNet3" // VMware only (VMware default)
)

// Transport names a way of handing the OVF environment to the guest.
type Transport string

const (
	// TransportGuestInfo: VMware Tools exposes ovf-env.xml as the guestinfo
	// variable "guestinfo.ovfEnv".
	TransportGuestInfo Transport = "com.vmware.guestInfo"
	// TransportISO: VMware attaches an ISO holding ovf-env.xml to the CD-ROM
	// drive (the virtual system needs one: set CDROM).
	TransportISO Transport = "iso"
)

// Default values Marshal fills in for zero fields.
const (
	DefaultHardwareVersion = "vmx-13"
	DefaultDiskFormat      = "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"
)

// Options choose the profile and extras of Marshal and Validate. Nil means
// the Portable profile without a VirtualBox machine block.
type Options struct {
	Profile Profile `json:"profile,omitempty"`
	// VirtualBoxMachine adds VirtualBox's own vbox:Machine section, the
	// only place VirtualBox reads EFI firmware from. The descriptor then
	// validates against the DMTF schema only with the vbox:Machine
	// extension (ovf-plus-ext.xsd).
	VirtualBoxMachine bool `json:"virtualboxMachine,omitempty"`
	// MaxViolations caps the violations Validate and Envelope.Validate
	// list (0 means DefaultMaxViolations); past it the list ends with one
	// RuleTruncated violation that counts the rest.
	MaxViolations int `json:"maxViolations,omitempty"`
}

// DefaultMaxViolations is the violation cap when Options.MaxViolations is 0.
const DefaultMaxViolations = 100

func (o *Options) maxViolations() int {
	if o == nil || o.MaxViolations <= 0 {
		return DefaultMaxViolations
	}
	return o.MaxViolations
}

func (o *Options) profile() Profile {
	if o == nil || o.Profile == "" {
		return Portable
	}
	return o.Profile
}

func (o *Options) vbox() bool { return o != nil && o.VirtualBoxMachine }

// VirtualSystem is the typed model of one virtual appliance.
type VirtualSystem struct {
	// ID is the VirtualSystem ovf:id (VMware uses it as the default VM
	// name); empty means Name.
	ID         string   `json:"id,omitempty"`
	Name       string   `json:"name"`
	Annotation string   `json:"annotation,omitempty"`
	EULAs      []string `json:"eulas,omitempty"`
	Product    *Product `json:"product,omitempty"`
	OS         OS       `json:"os"`
	CPUs       int      `json:"cpus"`
	MemoryMiB  int64    `json:"memoryMiB"`
	Firmware   Firmware `json:"firmware,omitempty"` // "" means BIOS
	// Controller is the disk controller every disk attaches to, in order
	// (SCSI unit 7 is skipped); "" means the profile's default.
	Controller Controller `json:"controller,omitempty"`
	Disks      []Disk     `json:"disks,omitempty"`
	NICs       []NIC      `json:"nics,omitempty"`
	Networks   []Network  `json:"networks,omitempty"`
	// HardwareVersion is vssd:VirtualSystemType; "" means vmx-13.
	HardwareVersion string `json:"hardwareVersion,omitempty"`
	// CDROM adds an IDE CD-ROM drive (required by the iso transport).
	CDROM bool `json:"cdrom,omitempty"`
	// Configurations are deployment options (flavours) that vary CPUs and
	// memory; the descriptor then carries a DeploymentOptionSection. Nil
	// means one fixed configuration.
	Configurations []Configuration `json:"configurations,omitempty"`
}

// OS identifies the guest operating system for both hypervisors.
type OS struct {
	// CIMID is the numeric CIM operating system id, e.g. 101 (Linux 64-bit)
	// or 96 (Debian 64-bit). VirtualBox refuses descriptors without it.
	CIMID int `json:"cimId"`
	// VMware is the vmw:osType guest id, e.g. "debian11_64Guest".
	VMware string `json:"vmware"`
	// VirtualBox is VirtualBox's OS type id, e.g. "Debian_64".
	VirtualBox  string `json:"virtualbox,omitempty"`
	Description string `json:"description,omitempty"`
}

// Operating system presets: the ids VMware (vmx-13 and later) and
// VirtualBox both know for a 64-bit Linux appliance.
var (
	// OSDebian64 is Debian GNU/Linux, 64-bit (CIM 96).
	OSDebian64 = OS{CIMID: 96, VMware: "debian11_64Guest", VirtualBox: "Debian_64", Description: "Debian GNU/Linux (64-bit)"}
	// OSLinux64 is any other 64-bit Linux (CIM 101), for appliances on a
	// kernel of their own.
	OSLinux64 = OS{CIMID: 101, VMware: "other3xLinux64Guest", VirtualBox: "Linux_64", Description: "Linux (64-bit)"}
)

// Product is the ProductSection: what the appliance is and its properties.
type Product struct {
	Product     string `json:"product,omitempty"`
	Vendor      string `json:"vendor,omitempty"`
	Version     string `json:"version,omitempty"`
	FullVersion string `json:"fullVersion,omitempty"`
	ProductURL  string `json:"productUrl,omitempty"`
	VendorURL   string `json:"vendorUrl,omitempty"`
	// Properties are offered to the deployer and delivered to the guest
	// through the Transports.
	Properties []Property  `json:"properties,omitempty"`
	Transports []Transport `json:"transports,omitempty"`
}

// Property is a ProductSection property, e.g. the appliance hostname.
type Property struct {
	Key string `json:"key"`
	// Type is a CIM type: string, boolean, uint8…uint64, sint8…sint64,
	// real32 or real64.
	Type string `json:"type"`
	// Qualifiers are OVF qualifiers such as `MinLen(1) MaxLen(63)` or
	// `ValueMap{"dhcp","static"}`.
	Qualifiers string `json:"qualifiers,omitempty"`
	// VMwareQualifiers is vmw:qualifiers, e.g. "Ip" for an IP address.
	VMwareQualifiers string `json:"vmwareQualifiers,omitempty"`
	Default          string `json:"default,omitempty"`
	Label            string `json:"label,omitempty"`
	Description      string `json:"description,omitempty"`
	// Category groups properties in the deployment wizard.
	Category         string `json:"category,omitempty"`
	UserConfigurable bool   `json:"userConfigurable,omitempty"`
	Password         bool   `json:"password,omitempty"`
}

// Disk is one virtual disk and the file that holds it, or a blank disk.
type Disk struct {
	ID string `json:"id,omitempty"` // ovf:diskId; "" means vmdisk<N>
	// FileID is the References/File ovf:id; "" means file<N>. A blank
	// disk has no file and must leave it empty.
	FileID string `json:"fileId,omitempty"`
	// Href is the file name inside the OVA. "" means a blank disk
	// (DSP0243: a Disk without ovf:fileRef): the descriptor has no File for
	// it and the importer creates an empty disk of Capacity bytes, which
	// the guest formats itself. VirtualBox creates it in whole MiB, so a
	// blank disk's capacity is best a multiple of 1 MiB.
	Href string `json:"href"`
	// FileSize is the exact size in bytes of the file in the OVA; 0 for a
	// blank disk.
	FileSize int64 `json:"fileSize"`
	// Capacity is the virtual disk size in bytes (a multiple of 512).
	Capacity int64 `json:"capacity"`
	// PopulatedSize is the number of bytes actually used; 0 omits it (a
	// blank disk has none).
	PopulatedSize int64  `json:"populatedSize,omitempty"`
	Format        string `json:"format,omitempty"` // "" means streamOptimized VMDK
	// Configurations are the ids of the deployment options
	// (VirtualSystem.Configurations) whose hardware includes the disk; nil
	// means all. Its disk item is written with ovf:configuration, so one
	// descriptor can give each flavour a blank data disk of its own size.
	// An empty, non-nil list is invalid (use nil). DSP0243 reads a list
	// of several ids, written space-separated, but govmomi (v0.54) compares
	// the attribute as a whole and attaches such a disk in none of them:
	// one disk per configuration reads the same everywhere.
	Configurations []string `json:"configurations,omitempty"`
}

// blank reports whether d is a blank disk (no file).
func (d Disk) blank() bool { return d.Href == "" }

// NIC is one network adapter.
type NIC struct {
	Network string  `json:"network"`           // a Networks name
	Adapter Adapter `json:"adapter,omitempty"` // "" means the profile's default
}

// normalized returns a copy with every default filled in.
func (vs *VirtualSystem) normalized(o *Options) *VirtualSystem {
	n := *vs
	if n.ID == "" {
		n.ID = n.Name
	}
	if n.Firmware == "" {
		n.Firmware = BIOS
	}
	if n.HardwareVersion == "" {
		n.HardwareVersion = DefaultHardwareVersion
	}
	if n.Controller == "" {
		n.Controller = LSILogic
		if o.profile() == VMware {
			n.Controller = PVSCSI
		}
	}
	n.Disks = append([]Disk(nil), vs.Disks...)
	for i := range n.Disks {
		d := &n.Disks[i]
		if d.ID == "" {
			d.ID = "vmdisk" + itoa(i+1)
		}
		if d.FileID == "" && !d.blank() {
			d.FileID = "file" + itoa(i+1)
		}
		if d.Format == "" {
			d.Format = DefaultDiskFormat
		}
	}
	normalizeConfigurations(&n, vs.Configurations)
	n.NICs = append([]NIC(nil), vs.NICs...)
	for i := range n.NICs {
		if n.NICs[i].Adapter == "" {
			n.NICs[i].Adapter = E1000
			if o.profile() == VMware {
				n.NICs[i].Adapter = VMXNET3
			}
		}
	}
	return &n
}
