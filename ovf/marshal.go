package ovf

import (
	"crypto/sha256"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

func utf8Valid(s string) bool { return utf8.ValidString(s) }

// controllerInfo describes how a Controller is written.
type controllerInfo struct {
	rt      int
	subtype string
	label   string
	units   int // disks it can hold
	vbox    string
	vmware  bool // VMware profile only
}

var controllers = map[Controller]controllerInfo{
	LSILogic:    {6, "lsilogic", "SCSI Controller", 15, "LsiLogic", false},
	SATA:        {20, "vmware.sata.ahci", "SATA Controller", 30, "AHCI", false},
	IDE:         {5, "", "IDE Controller", 2, "PIIX4", false},
	PVSCSI:      {6, "VirtualSCSI", "SCSI Controller", 15, "LsiLogic", true},
	LSILogicSAS: {6, "lsilogicsas", "SCSI Controller", 15, "LsiLogicSas", true},
	NVMe:        {20, "vmware.nvme.controller", "NVMe Controller", 15, "NVMe", true},
	BusLogic:    {6, "buslogic", "SCSI Controller", 15, "BusLogic", true},
}

type adapterInfo struct {
	vbox   string
	vmware bool
}

var adapters = map[Adapter]adapterInfo{
	E1000:   {"82540EM", false},
	E1000e:  {"82545EM", true},
	VMXNET3: {"virtio", true},
}

// unitNumbers returns the AddressOnParent of n disks on a controller:
// SCSI skips unit 7, which the controller itself uses.
func unitNumbers(c Controller, n int) []int {
	out := make([]int, 0, n)
	for u := 0; len(out) < n; u++ {
		if controllers[c].rt == 6 && u == 7 {
			continue
		}
		out = append(out, u)
	}
	return out
}

// stableUUID derives a UUID (RFC 4122 layout, version 5 bits) from the
// parts, so repeated builds give the same identifiers.
func stableUUID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	s := h.Sum(nil)[:16]
	s[6] = s[6]&0x0f | 0x50
	s[8] = s[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

// vboxMAC derives a stable MAC address in VirtualBox's 08:00:27 range
// (VirtualBox may replace it on import, per the user's MAC policy).
func vboxMAC(vs *VirtualSystem, slot int) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("fogkit-ovf-vbox-mac\x00%s\x00%d", vs.ID, slot)))
	return fmt.Sprintf("080027%02X%02X%02X", h[0], h[1], h[2])
}

func (d Disk) vboxUUID(vs *VirtualSystem) string {
	return stableUUID("fogkit-ovf-vbox-disk", vs.ID, d.ID, d.Href, fmt.Sprint(d.Capacity))
}

// Marshal validates vs against opts (nil means Portable) and writes its OVF
// descriptor to w. The output is deterministic: UTF-8, LF line ends, fixed
// element and attribute order, RASD children in CIM schema order, OVF 1.x
// namespaces only. An invalid vs yields a ValidationError and no output.
func Marshal(w io.Writer, vs *VirtualSystem, opts *Options) error {
	b, err := MarshalBytes(vs, opts)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// MarshalBytes is Marshal into a byte slice.
func MarshalBytes(vs *VirtualSystem, opts *Options) ([]byte, error) {
	if vs == nil {
		return nil, ValidationError{{Rule: RuleName, Element: "VirtualSystem", Message: "nil virtual system"}}
	}
	if err := Validate(vs, opts); err != nil {
		return nil, err
	}
	n := vs.normalized(opts)
	w := &xw{}
	w.b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	useVBox := opts.vbox() || n.OS.VirtualBox != ""
	ns := []string{
		"xmlns", NamespaceOVF,
		"xmlns:ovf", NamespaceOVF,
		"xmlns:rasd", NamespaceRASD,
	}
	if useVBox {
		ns = append(ns, "xmlns:vbox", NamespaceVBox)
	}
	ns = append(ns,
		"xmlns:vmw", NamespaceVMW,
		"xmlns:vssd", NamespaceVSSD,
		"ovf:version", "1.0",
		"xml:lang", "en-US",
	)
	w.open("Envelope", ns...)

	w.open("References")
	for _, d := range n.Disks {
		if d.blank() {
			continue // the importer creates it: nothing in the package
		}
		w.empty("File", "ovf:href", d.Href, "ovf:id", d.FileID, "ovf:size", fmt.Sprint(d.FileSize))
	}
	w.close("References")

	if len(n.Disks) > 0 {
		w.open("DiskSection")
		w.leaf("Info", "Virtual disk information")
		for _, d := range n.Disks {
			kv := []string{
				"ovf:capacity", fmt.Sprint(d.Capacity),
				"ovf:capacityAllocationUnits", "byte",
				"ovf:diskId", d.ID,
			}
			if !d.blank() {
				kv = append(kv, "ovf:fileRef", d.FileID)
			}
			kv = append(kv, "ovf:format", d.Format)
			if d.PopulatedSize > 0 {
				kv = append(kv, "ovf:populatedSize", fmt.Sprint(d.PopulatedSize))
			}
			if opts.vbox() {
				kv = append(kv, "vbox:uuid", d.vboxUUID(n))
			}
			w.empty("Disk", kv...)
		}
		w.close("DiskSection")
	}

	if len(n.Networks) > 0 {
		w.open("NetworkSection")
		w.leaf("Info", "The list of logical networks")
		for _, net := range n.Networks {
			w.open("Network", "ovf:name", net.Name)
			desc := net.Description
			if desc == "" {
				desc = "The " + net.Name + " network"
			}
			w.leaf("Description", desc)
			w.close("Network")
		}
		w.close("NetworkSection")
	}
	writeDeploymentOptions(w, n)

	w.open("VirtualSystem", "ovf:id", n.ID)
	w.leaf("Info", "A virtual machine")
	w.leaf("Name", n.Name)
	if n.Annotation != "" {
		w.open("AnnotationSection")
		w.leaf("Info", "A human-readable annotation")
		w.leaf("Annotation", n.Annotation)
		w.close("AnnotationSection")
	}
	if p := n.Product; p != nil {
		writeProduct(w, p)
	}
	for _, e := range n.EULAs {
		w.open("EulaSection")
		w.leaf("Info", "An end-user license agreement")
		w.leaf("License", e)
		w.close("EulaSection")
	}
	osKV := []string{"ovf:id", fmt.Sprint(n.OS.CIMID), "vmw:osType", n.OS.VMware}
	w.open("OperatingSystemSection", osKV...)
	w.leaf("Info", "The kind of installed guest operating system")
	if n.OS.Description != "" {
		w.leaf("Description", n.OS.Description)
	}
	if n.OS.VirtualBox != "" {
		w.leaf("vbox:OSType", n.OS.VirtualBox, "ovf:required", "false")
	}
	w.close("OperatingSystemSection")

	writeHardware(w, n)
	if opts.vbox() {
		writeVBoxMachine(w, n)
	}
	w.close("VirtualSystem")
	w.close("Envelope")
	return w.b.Bytes(), nil
}

func writeProduct(w *xw, p *Product) {
	w.open("ProductSection")
	w.leaf("Info", "Information about the installed software")
	w.leafIf("Product", p.Product)
	w.leafIf("Vendor", p.Vendor)
	w.leafIf("Version", p.Version)
	w.leafIf("FullVersion", p.FullVersion)
	w.leafIf("ProductUrl", p.ProductURL)
	w.leafIf("VendorUrl", p.VendorURL)
	category := ""
	for _, pr := range p.Properties {
		if pr.Category != category {
			w.leaf("Category", pr.Category)
			category = pr.Category
		}
		kv := []string{"ovf:key", pr.Key, "ovf:type", pr.Type}
		if pr.Qualifiers != "" {
			kv = append(kv, "ovf:qualifiers", pr.Qualifiers)
		}
		if pr.VMwareQualifiers != "" {
			kv = append(kv, "vmw:qualifiers", pr.VMwareQualifiers)
		}
		if pr.UserConfigurable {
			kv = append(kv, "ovf:userConfigurable", "true")
		}
		if pr.Default != "" {
			kv = append(kv, "ovf:value", pr.Default)
		}
		if pr.Password {
			kv = append(kv, "ovf:password", "true")
		}
		if pr.Label == "" && pr.Description == "" {
			w.empty("Property", kv...)
			continue
		}
		w.open("Property", kv...)
		if pr.Label != "" {
			w.leaf("Label", pr.Label)
		}
		if pr.Description != "" {
			w.leaf("Description", pr.Description)
		}
		w.close("Property")
	}
	w.close("ProductSection")
}

// rasd is one Item's children; write emits them in CIM schema
// (alphabetical) order.
type rasd struct {
	required            bool
	configuration       string // ovf:configuration, "" for every configuration
	address             string
	addressOnParent     string
	allocationUnits     string
	automaticAllocation string
	connection          string
	description         string
	elementName         string
	hostResource        string
	instanceID          int
	parent              string
	resourceSubType     string
	resourceType        int
	virtualQuantity     string
}

func (r rasd) write(w *xw) {
	var kv []string
	if r.configuration != "" {
		kv = append(kv, "ovf:configuration", r.configuration)
	}
	if !r.required {
		kv = append(kv, "ovf:required", "false")
	}
	w.open("Item", kv...)
	leaf := func(name, v string) {
		if v != "" {
			w.leaf("rasd:"+name, v)
		}
	}
	leaf("Address", r.address)
	leaf("AddressOnParent", r.addressOnParent)
	leaf("AllocationUnits", r.allocationUnits)
	leaf("AutomaticAllocation", r.automaticAllocation)
	leaf("Connection", r.connection)
	leaf("Description", r.description)
	leaf("ElementName", r.elementName)
	leaf("HostResource", r.hostResource)
	leaf("InstanceID", itoa(r.instanceID))
	leaf("Parent", r.parent)
	leaf("ResourceSubType", r.resourceSubType)
	leaf("ResourceType", itoa(r.resourceType))
	leaf("VirtualQuantity", r.virtualQuantity)
	w.close("Item")
}

// layout assigns InstanceIDs: CPU 1, memory 2, disk controller 3, the
// CD-ROM's IDE controller next, then disks, CD-ROM and NICs, then a CPU
// and a memory item for each configuration but the default one (whose
// items are 1 and 2).
type layout struct {
	controller, cdController int
	cdAddress                string
	disks                    []int
	cdrom                    int
	nics                     []int
	configs                  []int // first of two InstanceIDs per configuration, 0 for the default
}

func layoutOf(n *VirtualSystem) layout {
	l := layout{controller: 3}
	next := 4
	if n.CDROM {
		l.cdController = next
		next++
		l.cdAddress = "0"
		if n.Controller == IDE {
			l.cdAddress = "1"
		}
	}
	for range n.Disks {
		l.disks = append(l.disks, next)
		next++
	}
	if n.CDROM {
		l.cdrom = next
		next++
	}
	for range n.NICs {
		l.nics = append(l.nics, next)
		next++
	}
	for _, c := range n.Configurations {
		if c.Default {
			l.configs = append(l.configs, 0)
			continue
		}
		l.configs = append(l.configs, next)
		next += 2
	}
	return l
}

func writeHardware(w *xw, n *VirtualSystem) {
	var kv []string
	if n.Product != nil && len(n.Product.Transports) > 0 {
		ts := make([]string, len(n.Product.Transports))
		for i, t := range n.Product.Transports {
			ts[i] = string(t)
		}
		kv = append(kv, "ovf:transport", strings.Join(ts, " "))
	}
	w.open("VirtualHardwareSection", kv...)
	w.leaf("Info", "Virtual hardware requirements")
	w.open("System")
	w.leaf("vssd:ElementName", "Virtual Hardware Family")
	w.leaf("vssd:InstanceID", "0")
	w.leaf("vssd:VirtualSystemIdentifier", n.ID)
	w.leaf("vssd:VirtualSystemType", n.HardwareVersion)
	w.close("System")

	l := layoutOf(n)
	// With configurations, every one gets its own tagged CPU and memory
	// items, the default's last: VirtualBox ignores ovf:configuration and
	// keeps the last CPU and memory item it reads, so it imports the
	// default flavour.
	def := ""
	for i, c := range n.Configurations {
		if c.Default {
			def = c.ID
			continue
		}
		writeSizing(w, c.ID, c.CPUs, c.MemoryMiB, l.configs[i])
	}
	writeSizing(w, def, n.CPUs, n.MemoryMiB, 1)
	ci := controllers[n.Controller]
	rasd{required: true, address: "0", description: ci.label, elementName: ci.label + " 0",
		instanceID: l.controller, resourceSubType: ci.subtype, resourceType: ci.rt}.write(w)
	if n.CDROM {
		rasd{required: true, address: l.cdAddress, description: "IDE Controller",
			elementName: "IDE Controller " + l.cdAddress, instanceID: l.cdController, resourceType: 5}.write(w)
	}
	// Every disk gets a unit number of its own, even disks of flavours
	// that are never deployed together and could share one in vSphere:
	// VirtualBox ignores ovf:configuration and attaches every disk item,
	// and refuses two disks on one port. Validate counts all disks
	// against the controller's units for the same reason.
	units := unitNumbers(n.Controller, len(n.Disks))
	for i, d := range n.Disks {
		rasd{required: true, configuration: strings.Join(d.Configurations, " "), addressOnParent: itoa(units[i]),
			elementName: fmt.Sprintf("Hard Disk %d", i+1), hostResource: "ovf:/disk/" + d.ID,
			instanceID: l.disks[i], parent: itoa(l.controller), resourceType: 17}.write(w)
	}
	if n.CDROM {
		rasd{required: false, addressOnParent: "0", automaticAllocation: "false", elementName: "CD/DVD Drive 1",
			instanceID: l.cdrom, parent: itoa(l.cdController), resourceType: 15}.write(w)
	}
	for i, nic := range n.NICs {
		rasd{required: true, automaticAllocation: "true", connection: nic.Network,
			description: fmt.Sprintf("%s ethernet adapter on %q", nic.Adapter, nic.Network),
			elementName: fmt.Sprintf("Network adapter %d", i+1), instanceID: l.nics[i],
			resourceSubType: string(nic.Adapter), resourceType: 10}.write(w)
	}
	if n.Firmware == EFI {
		w.empty("vmw:Config", "ovf:required", "false", "vmw:key", "firmware", "vmw:value", "efi")
	}
	w.close("VirtualHardwareSection")
}

// writeSizing writes the CPU and memory items (InstanceIDs id and id+1)
// for the configuration conf ("" for all).
func writeSizing(w *xw, conf string, cpus int, memMiB int64, id int) {
	rasd{required: true, configuration: conf, allocationUnits: "hertz * 10^6", description: "Number of Virtual CPUs",
		elementName: fmt.Sprintf("%d virtual CPU(s)", cpus), instanceID: id, resourceType: 3,
		virtualQuantity: itoa(cpus)}.write(w)
	rasd{required: true, configuration: conf, allocationUnits: "byte * 2^20", description: "Memory Size",
		elementName: fmt.Sprintf("%dMB of memory", memMiB), instanceID: id + 1, resourceType: 4,
		virtualQuantity: fmt.Sprint(memMiB)}.write(w)
}

// writeVBoxMachine writes VirtualBox's own machine block: the only place
// VirtualBox reads the firmware type from. It repeats CPUs, memory, NICs
// and the storage attachments so that VirtualBox, which prefers this block
// over the OVF hardware section, imports the same machine.
func writeVBoxMachine(w *xw, n *VirtualSystem) {
	w.open("vbox:Machine", "ovf:required", "false", "version", "1.16-linux",
		"uuid", "{"+stableUUID("fogkit-ovf-vbox-machine", n.ID, n.Name)+"}",
		"name", n.Name, "OSType", n.OS.VirtualBox)
	w.leaf("Info", "VirtualBox machine configuration in VirtualBox format")
	w.open("Hardware")
	// 64-bit guests need long mode; SMP needs the I/O APIC; Linux keeps
	// the RTC in UTC. VirtualBox's own defaults for these are off.
	w.open("CPU", "count", itoa(n.CPUs))
	w.empty("PAE", "enabled", "true")
	w.empty("LongMode", "enabled", "true")
	w.close("CPU")
	w.empty("Memory", "RAMSize", fmt.Sprint(n.MemoryMiB))
	fw := "BIOS"
	if n.Firmware == EFI {
		fw = "EFI"
	}
	w.empty("Firmware", "type", fw)
	w.open("Boot")
	for i, dev := range []string{"HardDisk", "DVD", "None", "None"} {
		w.empty("Order", "position", itoa(i+1), "device", dev)
	}
	w.close("Boot")
	w.open("BIOS")
	w.empty("IOAPIC", "enabled", "true")
	w.close("BIOS")
	w.empty("RTC", "localOrUTC", "UTC")
	if len(n.NICs) > 0 {
		w.open("Network")
		for i, nic := range n.NICs {
			w.open("Adapter", "slot", itoa(i), "enabled", "true", "MACAddress", vboxMAC(n, i), "cable", "true", "type", adapters[nic.Adapter].vbox)
			w.empty("NAT")
			w.close("Adapter")
		}
		w.close("Network")
	}
	w.open("StorageControllers")
	ci := controllers[n.Controller]
	ports := ci.units
	if n.Controller == SATA || n.Controller == NVMe {
		ports = max(1, len(n.Disks))
	}
	if ci.rt == 6 {
		ports = 16
	}
	name := map[int]string{5: "IDE", 6: "SCSI", 20: "SATA"}[ci.rt]
	if n.Controller == NVMe {
		name = "NVMe"
	}
	w.open("StorageController", "name", name, "type", ci.vbox, "PortCount", itoa(ports), "useHostIOCache", "false", "Bootable", "true")
	units := unitNumbers(n.Controller, len(n.Disks))
	for i, d := range n.Disks {
		port, device := units[i], 0
		if n.Controller == IDE {
			port, device = 0, units[i]
		}
		w.open("AttachedDevice", "type", "HardDisk", "hotpluggable", "false", "port", itoa(port), "device", itoa(device))
		w.empty("Image", "uuid", "{"+d.vboxUUID(n)+"}")
		w.close("AttachedDevice")
	}
	cdOnMain := n.CDROM && n.Controller == IDE
	if cdOnMain {
		w.empty("AttachedDevice", "passthrough", "false", "type", "DVD", "hotpluggable", "false", "port", "1", "device", "0")
	}
	w.close("StorageController")
	if n.CDROM && !cdOnMain {
		w.open("StorageController", "name", "IDE", "type", "PIIX4", "PortCount", "2", "useHostIOCache", "true", "Bootable", "true")
		w.empty("AttachedDevice", "passthrough", "false", "type", "DVD", "hotpluggable", "false", "port", "0", "device", "0")
		w.close("StorageController")
	}
	w.close("StorageControllers")
	w.close("Hardware")
	w.close("vbox:Machine")
}
