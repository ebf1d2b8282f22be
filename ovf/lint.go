package ovf

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// virtualBoxKnown are the ResourceTypes VirtualBox's OVF reader imports;
// any other item needs ovf:required="false" or VirtualBox stops with
// "Unknown resource type".
var virtualBoxKnown = map[int]bool{3: true, 4: true, 5: true, 6: true, 10: true, 14: true, 15: true, 16: true, 17: true, 20: true, 23: true, 35: true}

// Validate checks a parsed descriptor against the rules that decide
// whether VMware and VirtualBox import it (FORMATS: OVF 1.x namespace,
// vmx-NN system type, numeric OS id, memory and capacity units, exact file
// sizes, profile hardware, RASD child order, unknown items, EFI settings,
// property transport, deployment options) and its cross references (every
// ovf:fileRef names a listed file, and a disk without one, a blank disk,
// has a capacity; every disk item has a controller and a disk, every NIC a
// network, every ovf:configuration a DeploymentOptionSection entry). It
// returns nil or a ValidationError with every violation.
func (e *Envelope) Validate(opts *Options) error {
	c := newCollector(opts)
	prof := opts.profile()
	if prof != Portable && prof != VMware {
		c.add(RuleProfile, "Options.Profile", "unknown profile %q (portable or vmware)", prof)
	}
	if e.Namespace != NamespaceOVF {
		c.add(RuleNamespace, "Envelope", "namespace %q: write OVF 1.x (%s); VMware rejects OVF 2.0", e.Namespace, NamespaceOVF)
	}
	files := map[string]bool{}
	for i, f := range e.References {
		el := fmt.Sprintf("References/File[@ovf:id=%q]", clipID(f.ID))
		if f.ID == "" {
			el = fmt.Sprintf("References/File[%d]", i+1)
			c.add(RuleReference, el, "file without ovf:id")
		} else if files[f.ID] {
			c.add(RuleReference, el, "duplicate file id")
		}
		files[f.ID] = true
		if !plainFileName(f.Href) {
			c.add(RuleReference, el+"/@ovf:href", "href %q must be a plain file name inside the package", f.Href)
		}
		if f.Size <= 0 {
			c.add(RuleDiskFile, el+"/@ovf:size", "needs ovf:size with the exact, positive size in bytes (got %q)", f.RawSize)
		}
	}
	disks := map[string]bool{}
	for i, d := range e.Disks {
		el := fmt.Sprintf("DiskSection/Disk[@ovf:diskId=%q]", clipID(d.ID))
		if d.ID == "" {
			el = fmt.Sprintf("DiskSection/Disk[%d]", i+1)
			c.add(RuleDisk, el, "disk without ovf:diskId")
		} else if disks[d.ID] {
			c.add(RuleDisk, el, "duplicate disk id")
		}
		disks[d.ID] = true
		// A disk without ovf:fileRef is a blank disk (DSP0243) the
		// importer creates from its capacity, checked below.
		if d.FileRef != "" && !files[d.FileRef] {
			c.add(RuleDiskFile, el+"/@ovf:fileRef", "file %q is not in References", d.FileRef)
		}
		if u := strings.TrimSpace(d.CapacityUnits); u != "" && u != "byte" {
			c.add(RuleDiskCapacity, el+"/@ovf:capacityAllocationUnits", "%q: give the capacity in bytes with units \"byte\" (VirtualBox ignores the units)", d.CapacityUnits)
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(d.Capacity), 10, 64); err != nil || n <= 0 {
			c.add(RuleDiskCapacity, el+"/@ovf:capacity", "capacity %q is not a positive number of bytes", d.Capacity)
		}
	}
	networks := map[string]bool{}
	for _, n := range e.Networks {
		if networks[n.Name] {
			c.add(RuleNetwork, fmt.Sprintf("NetworkSection/Network[@ovf:name=%q]", clipID(n.Name)), "duplicate network")
		}
		networks[n.Name] = true
	}
	lintConfigurations(c, e.Configurations)
	var confs map[string]bool
	if len(e.Configurations) > 0 {
		confs = map[string]bool{}
		for _, ci := range e.Configurations {
			confs[ci.ID] = true
		}
	}
	if len(e.Systems) == 0 {
		c.add(RuleSingle, "VirtualSystem", "no virtual system")
	}
	for _, s := range e.Systems {
		lintSystem(c, s, prof, disks, networks, confs, e.DefaultConfiguration())
	}
	return c.err()
}

func lintSystem(c *collector, s *SystemInfo, prof Profile, disks, networks, confs map[string]bool, def string) {
	// The id is clipped once here: every element path below starts with
	// it, and a hostile descriptor has a megabyte id and 100,000 items.
	vsEl := fmt.Sprintf("VirtualSystem[@ovf:id=%q]", clipID(s.ID))
	if s.ID == "" {
		c.add(RuleName, vsEl, "virtual system without ovf:id")
	}
	switch {
	case s.OS == nil:
		c.add(RuleOSID, vsEl+"/OperatingSystemSection", "missing: VirtualBox needs a numeric CIM ovf:id")
	case s.OS.ID < 0:
		c.add(RuleOSID, vsEl+"/OperatingSystemSection/@ovf:id", "needs a numeric CIM operating system id (VirtualBox errors without it)")
	}
	if s.OS != nil && s.OS.VMwareType == "" {
		c.add(RuleVMwareOSType, vsEl+"/OperatingSystemSection/@vmw:osType", "missing VMware guest id")
	}
	if len(s.Hardware) == 0 {
		c.add(RuleSingle, vsEl+"/VirtualHardwareSection", "no virtual hardware section")
		return
	}
	hasProps := false
	for _, p := range s.Products {
		if len(p.Properties) > 0 {
			hasProps = true
		}
	}
	for hi, h := range s.Hardware {
		hwEl := vsEl + "/VirtualHardwareSection"
		if len(s.Hardware) > 1 {
			hwEl = fmt.Sprintf("%s[%d]", hwEl, hi+1)
		}
		types := strings.Fields(h.SystemType)
		if len(types) == 0 {
			c.add(RuleSystemType, hwEl+"/System/vssd:VirtualSystemType", "missing: VMware needs vmx-NN")
		}
		for _, t := range types {
			if !systemTypeRE.MatchString(t) {
				c.add(RuleSystemType, hwEl+"/System/vssd:VirtualSystemType", "%q: VMware accepts only vmx-NN families", t)
			}
		}
		for _, t := range strings.Fields(h.Transport) {
			if Transport(t) != TransportGuestInfo && Transport(t) != TransportISO {
				c.add(RuleTransport, hwEl+"/@ovf:transport", "unknown transport %q", t)
			}
		}
		if hi == 0 && hasProps && strings.TrimSpace(h.Transport) == "" {
			c.add(RuleTransport, hwEl+"/@ovf:transport", "ProductSection properties reach the guest only with ovf:transport=\"com.vmware.guestInfo\" (or iso)")
		}
		firmware := ""
		for _, cf := range h.Configs {
			if cf.Key != "firmware" {
				continue
			}
			el := hwEl + "/vmw:Config[@vmw:key=\"firmware\"]"
			firmware = strings.ToLower(cf.Value)
			if firmware != "efi" && firmware != "bios" {
				c.add(RuleFirmware, el, "value %q is neither efi nor bios", cf.Value)
			}
			if cf.Required {
				c.add(RuleFirmware, el, "needs ovf:required=\"false\" so that other importers may skip it")
			}
		}
		if s.VBox != nil && s.VBox.Firmware != "" {
			vb := strings.ToLower(s.VBox.Firmware)
			if strings.HasPrefix(vb, "efi") {
				vb = "efi"
			}
			if vm := firmware; vm == "" && vb == "efi" || vm != "" && vm != vb {
				c.add(RuleFirmware, vsEl+"/vbox:Machine/Hardware/Firmware", "VirtualBox firmware %q disagrees with VMware's %q", s.VBox.Firmware, max(firmware, "bios"))
			}
		}
		lintItems(c, hwEl, h.Items, prof, disks, networks, confs, def)
	}
}

// lintItems checks the items of one hardware section. confs holds the
// DeploymentOptionSection's ids (nil when there is none), def the default
// one's.
func lintItems(c *collector, hwEl string, items []Item, prof Profile, disks, networks, confs map[string]bool, def string) {
	controllerIDs := map[string]bool{}
	for _, it := range items {
		switch it.ResourceType {
		case 5, 6, 20:
			controllerIDs[it.InstanceID] = true
		}
	}
	ids := instanceIDs{}
	sizing := sizingCount{}
	for _, it := range items {
		el := fmt.Sprintf("%s/%s[rasd:InstanceID=%q]", hwEl, it.Kind, clipID(it.InstanceID))
		if it.Kind != "Item" {
			c.add(RuleNamespace, el, "OVF 2.0 %s: VMware rejects it, write an OVF 1.x Item", it.Kind)
		}
		tokens := configurationTokens(it.Configuration)
		if it.InstanceID == "" {
			c.add(RuleDiskItem, el, "item without rasd:InstanceID")
		} else if !ids.add(it.InstanceID, tokens) {
			c.add(RuleDiskItem, el, "duplicate rasd:InstanceID")
		}
		lintItemConfiguration(c, el, it, tokens, confs)
		sizing.add(it.ResourceType, tokens)
		if !slices.IsSorted(it.Order) {
			c.add(RuleItemOrder, el, "RASD children %v are not in CIM schema (alphabetical) order", it.Order)
		}
		if !virtualBoxKnown[it.ResourceType] && it.Required {
			c.add(RuleUnknownItem, el, "ResourceType %d is unknown to VirtualBox: mark it ovf:required=\"false\"", it.ResourceType)
		}
		sub := strings.TrimSpace(it.ResourceSubType)
		switch it.ResourceType {
		case 3:
			if n, err := strconv.Atoi(it.VirtualQuantity); err != nil || n < 1 {
				c.add(RuleCPU, el+"/rasd:VirtualQuantity", "CPU count %q", it.VirtualQuantity)
			}
		case 4:
			if strings.ReplaceAll(it.AllocationUnits, " ", "") != "byte*2^20" {
				c.add(RuleMemory, el+"/rasd:AllocationUnits", "%q: write memory as \"byte * 2^20\"", it.AllocationUnits)
			}
			if n, err := strconv.ParseInt(it.VirtualQuantity, 10, 64); err != nil || n < 1 {
				c.add(RuleMemory, el+"/rasd:VirtualQuantity", "memory size %q", it.VirtualQuantity)
			}
		case 5:
			if sub != "" {
				c.add(RuleController, el+"/rasd:ResourceSubType", "IDE subtype %q: vSphere rejects IDE subtypes such as PIIX4, leave it out", sub)
			}
		case 6, 20:
			ctl, isCtl, err := controllerOf(it, false)
			switch {
			case !isCtl:
			case err != nil:
				c.add(RuleController, el+"/rasd:ResourceSubType", "controller subtype %q is not importable in both hypervisors", sub)
			case controllers[ctl].vmware && prof != VMware:
				c.add(RuleController, el+"/rasd:ResourceSubType", "%q imports only in VMware: use lsilogic or vmware.sata.ahci, or the VMware profile", sub)
			}
		case 10:
			a := adapterOf(sub)
			ai, ok := adapters[a]
			switch {
			case !ok:
				c.add(RuleAdapter, el+"/rasd:ResourceSubType", "adapter %q: use E1000 (or VmxNet3/E1000e in the VMware profile)", sub)
			case ai.vmware && prof != VMware:
				c.add(RuleAdapter, el+"/rasd:ResourceSubType", "adapter %q imports only in VMware: use E1000 or the VMware profile", sub)
			}
			if len(it.Connection) == 0 || !networks[it.Connection[0]] {
				c.add(RuleNICNetwork, el+"/rasd:Connection", "network %v is not in the NetworkSection", it.Connection)
			}
		case 17:
			if len(it.HostResource) != 1 {
				c.add(RuleDiskItem, el+"/rasd:HostResource", "a disk item needs exactly one HostResource ovf:/disk/<diskId>")
			} else if id, ok := diskRef(it.HostResource[0]); !ok || !disks[id] {
				c.add(RuleDiskItem, el+"/rasd:HostResource", "%q does not name a DiskSection disk", it.HostResource[0])
			}
			if !controllerIDs[it.Parent] {
				c.add(RuleDiskItem, el+"/rasd:Parent", "parent %q is not a disk controller's InstanceID", it.Parent)
			}
			if it.AddressOnParent == "" {
				c.add(RuleDiskItem, el+"/rasd:AddressOnParent", "missing unit number")
			}
		}
	}
	sizing.lint(c, hwEl, confs)
	if confs != nil && prof == Portable {
		sizing.lintLast(c, hwEl, def)
	}
}

// lintItemConfiguration checks that an item's ovf:configuration names
// declared configurations only.
func lintItemConfiguration(c *collector, el string, it Item, tokens []string, confs map[string]bool) {
	if it.Configuration == "" {
		return
	}
	if len(tokens) == 0 {
		c.add(RuleConfiguration, el+"/@ovf:configuration", "empty ovf:configuration")
		return
	}
	if confs == nil {
		c.add(RuleConfiguration, el+"/@ovf:configuration", "%q, but the envelope has no DeploymentOptionSection", it.Configuration)
		return
	}
	for _, t := range tokens {
		if !confs[t] {
			c.add(RuleConfiguration, el+"/@ovf:configuration", "configuration %q is not in the DeploymentOptionSection", t)
			return
		}
	}
}

// instanceIDs tracks which configurations each InstanceID is used in: two
// items may share an InstanceID when they belong to disjoint
// configurations (VMware's own multi-configuration descriptors do that),
// never when either applies to all.
type instanceIDs map[string]*idUse

type idUse struct {
	all   bool
	confs map[string]bool
}

// add records an item; false means its InstanceID collides.
func (m instanceIDs) add(id string, tokens []string) bool {
	u := m[id]
	if u == nil {
		u = &idUse{confs: map[string]bool{}}
		m[id] = u
	} else if u.all || len(tokens) == 0 {
		return false
	}
	if len(tokens) == 0 {
		u.all = true
		return true
	}
	ok := true
	for _, t := range tokens {
		if u.confs[t] {
			ok = false
		}
		u.confs[t] = true
	}
	return ok
}

// sizingCount counts CPU and memory items, untagged and per
// configuration: a configuration that sees two of either is ambiguous.
type sizingCount struct {
	all    [2]int
	tagged [2]map[string]int
	last   [2][]string // configurations of the last item, nil when untagged
}

func (s *sizingCount) add(resourceType int, tokens []string) {
	k := resourceType - 3
	if k != 0 && k != 1 {
		return
	}
	s.last[k] = tokens
	if len(tokens) == 0 {
		s.all[k]++
		return
	}
	if s.tagged[k] == nil {
		s.tagged[k] = map[string]int{}
	}
	for _, t := range tokens {
		s.tagged[k][t]++
	}
}

// lintLast checks that the last CPU and memory items apply to the default
// configuration: VirtualBox ignores deployment options and keeps the last
// of each, so the portable profile wants the default's written last.
func (s *sizingCount) lintLast(c *collector, hwEl, def string) {
	names := [2]string{"CPU", "memory"}
	for k := range 2 {
		if t := s.last[k]; len(t) > 0 && !slices.Contains(t, def) {
			c.add(RuleConfiguration, fmt.Sprintf("%s/Item[ResourceType=%d]", hwEl, k+3),
				"the last %s item is for %v, not the default configuration %q: VirtualBox ignores deployment options and keeps the last one", names[k], t, def)
		}
	}
}

func (s *sizingCount) lint(c *collector, hwEl string, confs map[string]bool) {
	rules := [2]Rule{RuleCPU, RuleMemory}
	names := [2]string{"CPU", "memory"}
	for k := range 2 {
		if s.all[k] > 1 {
			c.add(rules[k], fmt.Sprintf("%s/Item[ResourceType=%d]", hwEl, k+3), "%d %s items apply to every configuration", s.all[k], names[k])
		}
		ids := make([]string, 0, len(s.tagged[k]))
		for id := range s.tagged[k] {
			ids = append(ids, id)
		}
		sortStrings(ids) // a stable report
		for _, id := range ids {
			if n := s.all[k] + s.tagged[k][id]; n > 1 && confs[id] {
				c.add(RuleConfiguration, fmt.Sprintf("%s/Item[ResourceType=%d][@ovf:configuration=%q]", hwEl, k+3, clipID(id)),
					"configuration %q gets %d %s items", id, n, names[k])
			}
		}
	}
}
