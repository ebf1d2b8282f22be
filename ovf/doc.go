// Package ovf writes, reads and checks OVF 1.x descriptors for one virtual
// appliance, so that the same .ovf imports in both VMware (vSphere, ESXi,
// Workstation, Fusion) and VirtualBox without hand edits.
//
// # Writing
//
// VirtualSystem is the typed model: name, annotation, EULAs, a Product
// section with properties and their transport (com.vmware.guestInfo or
// iso), OS (CIM id, VMware guest id, VirtualBox OS type), CPUs, memory,
// firmware (BIOS or EFI), one disk controller, disks (id, file, file size,
// capacity, populated size; or blank, without a file), NICs and networks. Marshal (or MarshalBytes)
// validates it and writes deterministic XML for a Profile chosen in
// Options:
//
//   - Portable (default): LSI Logic SCSI, SATA AHCI or IDE, E1000, vmx-13;
//     imports in VMware and VirtualBox.
//   - VMware: also paravirtual SCSI, LSI Logic SAS, NVMe, E1000e, VMXNET3.
//
// EFI firmware is written as VMware's vmw:Config firmware entry and, with
// Options.VirtualBoxMachine, as VirtualBox's vbox:Machine block (which needs
// the ovf-plus-ext schema wrapper to validate).
//
// Output is UTF-8 with LF line ends, OVF 1.x namespaces only, a fixed
// element and attribute order, RASD children in CIM schema order and
// escaped free text: the same model gives the same bytes.
//
// # Flavours
//
// VirtualSystem.Configurations makes one descriptor carry several
// deployment options (small, medium, large…): Marshal writes a
// DeploymentOptionSection at the envelope level and, for each
// configuration, a CPU and a memory item tagged ovf:configuration; the
// other items apply to all. vSphere and govmomi offer the choice; the
// default configuration (the one marked Default, else the first) has its
// items written last and fills the vbox:Machine block, so VirtualBox,
// which ignores deployment options and keeps the last CPU and memory item,
// imports the default flavour. VirtualSystem.ForConfiguration gives the
// single-flavour model instead, for one OVA per flavour.
//
// Disks may vary by configuration too. A Disk with an empty Href is a
// blank disk (DSP0243: a Disk without ovf:fileRef): no file in the
// package, the importer creates it empty with the disk's Capacity. A
// Disk's Configurations tag its disk item with ovf:configuration, so it is
// attached only in those flavours; the controller stays shared. A
// combined OVA whose data disk grows with the flavour therefore carries
// its boot disk (a file, every flavour) and one blank data disk per
// flavour, each of that flavour's size. Every disk has a unit number of its own and all of them must fit
// the controller: VirtualBox ignores deployment options and attaches every
// disk item (and refuses two disks on one port), so there it gets every
// flavour's data disk. The vbox:Machine block cannot hold blank or
// per-configuration disks: Validate refuses them with
// Options.VirtualBoxMachine. ForConfiguration keeps only the chosen
// flavour's disks.
//
// # Checking
//
// Validate checks a model, Envelope.Validate a parsed descriptor, against
// the import rules of both hypervisors and their cross references. Both
// return every violation at once as a ValidationError (matching
// ErrInvalid); each *Violation names its Rule and the element. The list
// stops at Options.MaxViolations (default 100) with a RuleTruncated entry
// that counts the rest, and values copied from the input into a violation
// are clipped (96 bytes each, 512 bytes for a whole element path or
// message), so a hostile descriptor cannot make the report outgrow it.
//
// # Reading
//
// Parse(r, *ParseOptions) (*Envelope, error) reads any OVF descriptor
// (fogkit's, VMware's, VirtualBox's) into an Envelope, a faithful
// lower-level view: References (File: ID, Href, Size in bytes; -1 when
// ovf:size is absent or invalid, RawSize keeping the text), the DiskSection
// (DiskInfo: ID, FileRef ("" for a blank disk), Capacity, CapacityBytes), networks,
// the DeploymentOptionSection (Configurations, DefaultConfiguration) and
// each virtual system's sections and RASD items. Envelope.VirtualSystem
// converts a single-VM envelope into the model. Parse returns *ParseError
// values matching ErrMalformed, ErrTooLarge or ErrUnsupported.
//
// # Limits on untrusted input
//
// Parse and ParseEnvironment bound their memory and time by ParseOptions,
// with these defaults: MaxSize 32 MiB of XML; MaxElements 100,000;
// MaxDepth 64 (never more than 4096); MaxAttributes 256 on one element and
// MaxTotalAttributes 200,000 in the document, counted in the raw text
// before decoding, since the XML decoder builds an element's whole
// attribute list at once. Past a limit the error matches ErrTooLarge.
// Text and attribute values are bounded by MaxSize: only XML's predefined
// entities and character references are expanded, never entities from a
// DTD. Duplicate attributes and encodings other than UTF-8 (or ASCII) are
// ErrMalformed.
//
// # OVF environment
//
// NewEnvironment, WriteEnvironment and ParseEnvironment handle ovf-env.xml,
// the document that carries the deployer's property values to the guest
// through VMware's guestinfo variable (GuestInfoKey) or an ISO
// (EnvironmentFileName), so the appliance's first-boot code can read its
// hostname and network settings with the same package.
package ovf
