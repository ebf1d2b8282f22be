package ovf

import (
	"fmt"
	"strconv"
	"strings"
)

func convErr(elem string, kind error, format string, args ...any) error {
	clipArgs(args)
	return &ParseError{Element: elem, Msg: fmt.Sprintf(format, args...), Err: kind}
}

// controllerOf maps a controller item to the model; ok is false for items
// that are not disk controllers. VMware allows a list of alternative
// subtypes ("buslogic,lsilogic"); lenient picks the first one the model
// knows, strict accepts a single subtype only.
func controllerOf(it Item, lenient bool) (c Controller, ok bool, err error) {
	subs := strings.Fields(strings.ReplaceAll(strings.ToLower(it.ResourceSubType), ",", " "))
	if !lenient && len(subs) > 1 {
		return "", true, convErr("Item", ErrUnsupported, "controller subtype list %q", it.ResourceSubType)
	}
	switch it.ResourceType {
	case 5:
		return IDE, true, nil
	case 6:
		for _, sub := range subs {
			switch sub {
			case "lsilogic":
				return LSILogic, true, nil
			case "virtualscsi", "pvscsi":
				return PVSCSI, true, nil
			case "lsilogicsas":
				return LSILogicSAS, true, nil
			case "buslogic":
				return BusLogic, true, nil
			}
		}
		return "", true, convErr("Item", ErrUnsupported, "SCSI controller subtype %q", it.ResourceSubType)
	case 20:
		for _, sub := range subs {
			switch sub {
			case "vmware.sata.ahci", "ahci":
				return SATA, true, nil
			case "vmware.nvme.controller":
				return NVMe, true, nil
			}
		}
		// Other storage (e.g. NVDIMM) is not a disk controller.
		return "", false, nil
	}
	return "", false, nil
}

func adapterOf(sub string) Adapter {
	switch strings.ToLower(strings.TrimSpace(sub)) {
	case "e1000":
		return E1000
	case "e1000e":
		return E1000e
	case "vmxnet3":
		return VMXNET3
	}
	return Adapter(sub)
}

// diskRef extracts <id> from "ovf:/disk/<id>" (or "/disk/<id>").
func diskRef(h string) (string, bool) {
	h = strings.TrimSpace(h)
	for _, p := range []string{"ovf:/disk/", "/disk/"} {
		if strings.HasPrefix(h, p) {
			return h[len(p):], true
		}
	}
	return "", false
}

// VirtualSystem converts a single-VM envelope into the typed model. Items
// the model has no place for (USB, sound, video, serial ports) are dropped;
// the DeploymentOptionSection becomes Configurations, each with the CPUs
// and memory its tagged items give, tagged disk items become disks with
// those Configurations (other tagged items are dropped), and CPUs and
// MemoryMiB are the default configuration's;
// descriptors it cannot represent (several virtual systems, disks on
// several controllers, capacities given as expressions) yield a
// *ParseError matching ErrUnsupported.
func (e *Envelope) VirtualSystem() (*VirtualSystem, error) {
	if len(e.Systems) != 1 {
		return nil, convErr("VirtualSystem", ErrUnsupported, "%d virtual systems, the model holds one", len(e.Systems))
	}
	s := e.Systems[0]
	vs := &VirtualSystem{ID: s.ID, Name: s.Name, Annotation: s.Annotation, EULAs: append([]string(nil), s.EULAs...)}
	if vs.Name == "" {
		vs.Name = s.ID
	}
	if vs.ID == vs.Name {
		vs.ID = ""
	}
	if s.OS != nil {
		vs.OS = OS{CIMID: max(s.OS.ID, 0), VMware: s.OS.VMwareType, VirtualBox: s.OS.VBoxType, Description: s.OS.Description}
	}
	if s.VBox != nil {
		if vs.OS.VirtualBox == "" {
			vs.OS.VirtualBox = s.VBox.OSType
		}
		if strings.HasPrefix(strings.ToUpper(s.VBox.Firmware), "EFI") {
			vs.Firmware = EFI
		}
	}
	var transports []Transport
	if len(s.Hardware) > 0 {
		h := s.Hardware[0]
		vs.HardwareVersion = h.SystemType
		for _, t := range strings.Fields(h.Transport) {
			transports = append(transports, Transport(t))
		}
		for _, c := range append(append([]Config(nil), h.Configs...), h.Extra...) {
			if c.Key == "firmware" && strings.EqualFold(c.Value, "efi") {
				vs.Firmware = EFI
			}
		}
		if err := convertItems(e, h, vs, propertyDefaults(s)); err != nil {
			return nil, err
		}
	}
	vs.Networks = append([]Network(nil), e.Networks...)
	if len(s.Products) > 0 || len(transports) > 0 {
		p := &Product{Transports: transports}
		if len(s.Products) > 0 {
			pi := s.Products[0]
			p.Product, p.Vendor, p.Version, p.FullVersion = pi.Product, pi.Vendor, pi.Version, pi.FullVersion
			p.ProductURL, p.VendorURL = pi.ProductURL, pi.VendorURL
			for _, pr := range pi.Properties {
				p.Properties = append(p.Properties, Property{
					Key: pr.Key, Type: pr.Type, Qualifiers: pr.Qualifiers, VMwareQualifiers: pr.VMwareQualifiers,
					Default: pr.Value, Label: pr.Label, Description: pr.Description, Category: pr.Category,
					UserConfigurable: pr.UserConfigurable, Password: pr.Password,
				})
			}
		}
		vs.Product = p
	}
	return vs, nil
}

// propertyDefaults maps property keys to their defaults, for capacities
// written as "${key}".
func propertyDefaults(s *SystemInfo) map[string]string {
	m := map[string]string{}
	for _, p := range s.Products {
		for _, pr := range p.Properties {
			m[pr.Key] = pr.Value
		}
	}
	return m
}

func convertItems(e *Envelope, h HardwareInfo, vs *VirtualSystem, props map[string]string) error {
	ctrl := map[string]Controller{}
	var firstCtrl Controller
	diskCtrl := ""
	sizing := configSizing{}
	diskAt := map[string]int{} // disk id -> index in vs.Disks
	var diskConfs []confSet    // by index in vs.Disks
	for _, it := range h.Items {
		var confs []string
		if it.Configuration != "" {
			// Of the items a deployment option chooses, the model holds
			// the CPU count, the memory size and the disks; it drops the
			// others.
			if len(e.Configurations) == 0 {
				continue
			}
			switch it.ResourceType {
			case 3, 4:
				if err := sizing.add(it); err != nil {
					return err
				}
				continue
			case 17:
				confs = configurationTokens(it.Configuration)
			default:
				continue
			}
		}
		switch it.ResourceType {
		case 3:
			n, ok, err := cpusOf(it)
			if err != nil {
				return err
			}
			if ok {
				vs.CPUs = n
			}
		case 4:
			n, ok, err := memoryOf(it)
			if err != nil {
				return err
			}
			if ok {
				vs.MemoryMiB = n
			}
		case 5, 6, 20:
			c, ok, err := controllerOf(it, true)
			if err != nil {
				return err
			}
			if ok {
				ctrl[it.InstanceID] = c
				if firstCtrl == "" {
					firstCtrl = c
				}
			}
		case 15, 16:
			vs.CDROM = true
		case 17:
			if diskCtrl == "" {
				diskCtrl = it.Parent
			} else if diskCtrl != it.Parent {
				return convErr("Item", ErrUnsupported, "disks on more than one controller")
			}
			if len(it.HostResource) != 1 {
				return convErr("Item", ErrUnsupported, "disk item %s without exactly one HostResource", it.InstanceID)
			}
			id, ok := diskRef(it.HostResource[0])
			if !ok {
				return convErr("Item", ErrUnsupported, "disk item %s HostResource %q", it.InstanceID, it.HostResource[0])
			}
			if i, ok := diskAt[id]; ok {
				// One disk attached by several items (VMware gives each
				// configuration its own): the model attaches it once, in
				// the union of their configurations.
				diskConfs[i].merge(&vs.Disks[i], confs)
				continue
			}
			d, err := e.diskModel(id, props)
			if err != nil {
				return err
			}
			d.Configurations = confs
			diskAt[id] = len(vs.Disks)
			diskConfs = append(diskConfs, newConfSet(confs))
			vs.Disks = append(vs.Disks, d)
		case 10:
			nic := NIC{Adapter: adapterOf(it.ResourceSubType)}
			if len(it.Connection) > 0 {
				nic.Network = it.Connection[0]
			}
			vs.NICs = append(vs.NICs, nic)
		}
	}
	sizing.apply(e, vs)
	vs.Controller = firstCtrl
	if diskCtrl != "" {
		c, ok := ctrl[diskCtrl]
		if !ok {
			return convErr("Item", ErrMalformed, "disk parent %q is not a disk controller", diskCtrl)
		}
		vs.Controller = c
	}
	return nil
}

// confSet is the set of a converted disk's configurations, so that a
// descriptor attaching one disk by many items, each with a long list,
// merges in time linear in its size.
type confSet map[string]bool

func newConfSet(confs []string) confSet {
	if confs == nil {
		return nil // every configuration
	}
	s := make(confSet, len(confs))
	for _, t := range confs {
		s[t] = true
	}
	return s
}

// merge adds confs to d's configurations: nil (every configuration) when
// either is nil.
func (s confSet) merge(d *Disk, confs []string) {
	if d.Configurations == nil {
		return
	}
	if confs == nil {
		d.Configurations = nil
		return
	}
	for _, t := range confs {
		if !s[t] {
			s[t] = true
			d.Configurations = append(d.Configurations, t)
		}
	}
}

// cpusOf reads a CPU item's count; ok is false for a reservation-only item
// (the model then keeps 0).
func cpusOf(it Item) (n int, ok bool, err error) {
	if it.VirtualQuantity == "" {
		return 0, false, nil
	}
	n, err = strconv.Atoi(it.VirtualQuantity)
	if err != nil {
		return 0, false, convErr("Item", ErrMalformed, "CPU count %q", it.VirtualQuantity)
	}
	return n, true, nil
}

// memoryOf reads a memory item's size in MiB.
func memoryOf(it Item) (mib int64, ok bool, err error) {
	if it.VirtualQuantity == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(it.VirtualQuantity, 10, 64)
	if err != nil {
		return 0, false, convErr("Item", ErrMalformed, "memory size %q", it.VirtualQuantity)
	}
	u, err := ParseAllocationUnits(it.AllocationUnits)
	if err != nil {
		return 0, false, err
	}
	if u < 1<<20 {
		return n * u >> 20, true, nil
	}
	return n * (u >> 20), true, nil
}

// configSizing collects the CPU counts and memory sizes of items tagged
// with ovf:configuration, by configuration id.
type configSizing struct {
	cpus map[string]int
	mem  map[string]int64
}

func (cs *configSizing) add(it Item) error {
	if cs.cpus == nil {
		cs.cpus, cs.mem = map[string]int{}, map[string]int64{}
	}
	switch it.ResourceType {
	case 3:
		n, ok, err := cpusOf(it)
		if err != nil || !ok {
			return err
		}
		for _, id := range configurationTokens(it.Configuration) {
			cs.cpus[id] = n
		}
	case 4:
		n, ok, err := memoryOf(it)
		if err != nil || !ok {
			return err
		}
		for _, id := range configurationTokens(it.Configuration) {
			cs.mem[id] = n
		}
	}
	return nil
}

// apply turns the envelope's DeploymentOptionSection into
// vs.Configurations, each with the CPUs and memory its items give it (the
// untagged items' where it has none), and gives vs the default
// configuration's.
func (cs *configSizing) apply(e *Envelope, vs *VirtualSystem) {
	if len(e.Configurations) == 0 {
		return
	}
	vs.Configurations = make([]Configuration, len(e.Configurations))
	for i, ci := range e.Configurations {
		c := Configuration{ID: ci.ID, Label: ci.Label, Description: ci.Description, Default: ci.Default,
			CPUs: vs.CPUs, MemoryMiB: vs.MemoryMiB}
		if n, ok := cs.cpus[ci.ID]; ok {
			c.CPUs = n
		}
		if n, ok := cs.mem[ci.ID]; ok {
			c.MemoryMiB = n
		}
		vs.Configurations[i] = c
	}
	def := vs.Configurations[defaultConfiguration(vs.Configurations)]
	vs.CPUs, vs.MemoryMiB = def.CPUs, def.MemoryMiB
}

func (e *Envelope) diskModel(id string, props map[string]string) (Disk, error) {
	for _, di := range e.Disks {
		if di.ID != id {
			continue
		}
		// A capacity given as "${key}" takes the property's default, as
		// an importer does when the deployer keeps it.
		if c := strings.TrimSpace(di.Capacity); strings.HasPrefix(c, "${") && strings.HasSuffix(c, "}") {
			if v, ok := props[strings.TrimSpace(c[2:len(c)-1])]; ok && v != "" {
				di.Capacity = v
			}
		}
		capacity, err := di.CapacityBytes()
		if err != nil {
			return Disk{}, err
		}
		d := Disk{ID: di.ID, FileID: di.FileRef, Capacity: capacity, PopulatedSize: max(di.PopulatedSize, 0), Format: di.Format}
		if di.FileRef != "" {
			f, ok := e.File(di.FileRef)
			if !ok {
				return Disk{}, convErr("Disk", ErrMalformed, "disk %s references unknown file %q", id, di.FileRef)
			}
			d.Href, d.FileSize = f.Href, max(f.Size, 0)
		}
		return d, nil
	}
	return Disk{}, convErr("Item", ErrMalformed, "disk %q is not in the DiskSection", id)
}
