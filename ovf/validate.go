package ovf

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

var (
	systemTypeRE = regexp.MustCompile(`^vmx-(\d{2})$`)
	propKeyRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-]*$`)
	idRE         = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-]*$`)
)

// cimTypes are the property types OVF defines.
var cimTypes = map[string]bool{
	"string": true, "boolean": true,
	"uint8": true, "sint8": true, "uint16": true, "sint16": true,
	"uint32": true, "sint32": true, "uint64": true, "sint64": true,
	"real32": true, "real64": true,
}

// collector gathers violations up to a cap, so that a hostile descriptor
// (100,000 items, each breaking several rules) cannot make the report
// larger than the input many times over.
type collector struct {
	v       ValidationError
	max     int // 0 means DefaultMaxViolations
	omitted int
}

func newCollector(o *Options) *collector { return &collector{max: o.maxViolations()} }

func (c *collector) add(r Rule, elem, format string, args ...any) {
	max := c.max
	if max <= 0 {
		max = DefaultMaxViolations
	}
	if len(c.v) >= max {
		c.omitted++
		return
	}
	clipArgs(args)
	c.v = append(c.v, &Violation{Rule: r, Element: clipText(elem), Message: clipText(fmt.Sprintf(format, args...))})
}

func (c *collector) err() error {
	if len(c.v) == 0 {
		return nil
	}
	if c.omitted > 0 {
		return append(c.v, &Violation{Rule: RuleTruncated, Element: "Envelope",
			Message: fmt.Sprintf("%d more violations not listed (Options.MaxViolations is %d)", c.omitted, len(c.v))})
	}
	return c.v
}

// Lengths to which values from the input are clipped in violations.
const (
	maxQuoted = 96  // a value quoted in an element path or message
	maxText   = 512 // a whole element path or message
)

// clip shortens s to at most n bytes at a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func clipText(s string) string { return clip(s, maxText) }

// clipID shortens an input value before it goes into an element path.
func clipID(s string) string { return clip(s, maxQuoted) }

// clipArgs clips the input values among a message's arguments.
func clipArgs(args []any) {
	for i, a := range args {
		switch v := a.(type) {
		case string:
			args[i] = clipID(v)
		case []string:
			args[i] = clipList(v)
		}
	}
}

// clipList keeps the first few values of a list, each clipped.
func clipList(l []string) []string {
	out := make([]string, 0, min(len(l), 4)+1)
	for i, s := range l {
		if i == 4 {
			out = append(out, fmt.Sprintf("…%d more", len(l)-i))
			break
		}
		out = append(out, clipID(s))
	}
	return out
}

// text checks free text (multi-line allowed).
func (c *collector) text(elem, s string) {
	if !validXMLText(s) {
		c.add(RuleText, elem, "text is not valid UTF-8 or holds characters XML forbids")
	}
}

// line checks a one-line value.
func (c *collector) line(elem, s string) {
	c.text(elem, s)
	if validXMLText(s) && !singleLine(s) {
		c.add(RuleText, elem, "value %q has line breaks, tabs or surrounding spaces", s)
	}
}

// Validate checks vs against the VMware and VirtualBox import rules for
// the profile in opts (nil means Portable) and the model's cross
// references. It returns nil or a ValidationError holding every violation.
func Validate(vs *VirtualSystem, opts *Options) error {
	c := newCollector(opts)
	if vs == nil {
		c.add(RuleName, "VirtualSystem", "nil virtual system")
		return c.err()
	}
	prof := opts.profile()
	if prof != Portable && prof != VMware {
		c.add(RuleProfile, "Options.Profile", "unknown profile %q (portable or vmware)", prof)
		prof = Portable
	}
	n := vs.normalized(opts)

	// Identity and free text.
	if n.Name == "" {
		c.add(RuleName, "VirtualSystem/Name", "the virtual system needs a name")
	}
	c.line("VirtualSystem/Name", n.Name)
	if n.ID == "" || !singleLine(n.ID) || strings.ContainsAny(n.ID, `/\`) {
		c.add(RuleName, "VirtualSystem/@ovf:id", "id %q must be non-empty, one line, without slashes", n.ID)
	}
	c.line("VirtualSystem/@ovf:id", n.ID)
	c.text("AnnotationSection/Annotation", n.Annotation)
	for i, e := range n.EULAs {
		c.text(fmt.Sprintf("EulaSection[%d]/License", i+1), e)
		if strings.TrimSpace(e) == "" {
			c.add(RuleText, fmt.Sprintf("EulaSection[%d]/License", i+1), "empty license text")
		}
	}

	// Operating system.
	if n.OS.CIMID < 1 || n.OS.CIMID > math.MaxUint16 {
		c.add(RuleOSID, "OperatingSystemSection/@ovf:id", "needs a CIM operating system number (e.g. 101 Linux 64-bit, 96 Debian 64-bit), got %d", n.OS.CIMID)
	}
	if n.OS.VMware == "" || !strings.HasSuffix(n.OS.VMware, "Guest") || !singleLine(n.OS.VMware) {
		c.add(RuleVMwareOSType, "OperatingSystemSection/@vmw:osType", "needs a VMware guest id such as debian11_64Guest, got %q", n.OS.VMware)
	}
	c.line("OperatingSystemSection/vbox:OSType", n.OS.VirtualBox)
	c.text("OperatingSystemSection/Description", n.OS.Description)
	if opts.vbox() && n.OS.VirtualBox == "" {
		c.add(RuleVirtualBoxMachine, "vbox:Machine/@OSType", "the VirtualBox machine block needs OS.VirtualBox (e.g. Debian_64)")
	}

	// Hardware.
	m := systemTypeRE.FindStringSubmatch(n.HardwareVersion)
	hw := 0
	if m == nil {
		c.add(RuleSystemType, "System/vssd:VirtualSystemType", "%q is not vmx-NN (VMware rejects other families)", n.HardwareVersion)
	} else {
		hw, _ = strconv.Atoi(m[1])
		if hw < 7 {
			c.add(RuleSystemType, "System/vssd:VirtualSystemType", "%s is older than vmx-07", n.HardwareVersion)
		}
	}
	maxCPU := 64
	if prof == VMware {
		maxCPU = 768
	}
	if n.CPUs < 1 || n.CPUs > maxCPU {
		c.add(RuleCPU, "Item[ResourceType=3]", "%d virtual CPUs: the %s profile allows 1 to %d", n.CPUs, prof, maxCPU)
	}
	if !validMemory(n.MemoryMiB) {
		c.add(RuleMemory, "Item[ResourceType=4]", "%d MiB of memory: must be a positive multiple of 4", n.MemoryMiB)
	}
	validateConfigurations(c, vs.Configurations, n, maxCPU, prof)
	if n.Firmware == EFI && prof == Portable && !opts.vbox() {
		// VirtualBox reads EFI only from its own vbox:Machine block: without
		// it the portable descriptor imports there as a BIOS machine that
		// cannot boot an EFI-only disk.
		c.add(RuleFirmware, "vbox:Machine", "EFI firmware under the portable profile needs Options.VirtualBoxMachine, or VirtualBox boots the VM with BIOS")
	}
	if n.Firmware != BIOS && n.Firmware != EFI {
		c.add(RuleFirmware, "vmw:Config[@vmw:key=firmware]", "firmware %q is neither bios nor efi", n.Firmware)
	}
	ci, ok := controllers[n.Controller]
	switch {
	case !ok:
		c.add(RuleController, "Item[ResourceType=controller]", "unknown disk controller %q", n.Controller)
	case ci.vmware && prof != VMware:
		c.add(RuleController, "Item[ResourceType=controller]", "controller %s imports only in VMware: use the VMware profile, or lsilogic/sata/ide", n.Controller)
	case n.Controller == NVMe && hw > 0 && hw < 13:
		c.add(RuleSystemType, "System/vssd:VirtualSystemType", "NVMe needs vmx-13 or later, got %s", n.HardwareVersion)
	}
	if ok && len(n.Disks) > ci.units {
		c.add(RuleControllerSlots, "Item[ResourceType=controller]", "%d disks, but a %s controller holds %d", len(n.Disks), n.Controller, ci.units)
	}
	if n.CDROM && n.Controller == IDE && len(n.Disks) > 2 {
		c.add(RuleControllerSlots, "Item[ResourceType=5]", "IDE disks and the CD-ROM do not fit")
	}

	// Disks and files.
	diskIDs, fileIDs, hrefs := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i, d := range n.Disks {
		el := fmt.Sprintf("Disk[%d]", i+1)
		if !idRE.MatchString(d.ID) {
			c.add(RuleDisk, el+"/@ovf:diskId", "disk id %q must be a plain name", d.ID)
		} else if diskIDs[d.ID] {
			c.add(RuleDisk, el+"/@ovf:diskId", "duplicate disk id %q", d.ID)
		}
		diskIDs[d.ID] = true
		if d.blank() {
			validateBlankDisk(c, el, d)
		} else {
			if !idRE.MatchString(d.FileID) {
				c.add(RuleReference, el+"/@ovf:fileRef", "file id %q must be a plain name", d.FileID)
			} else if fileIDs[d.FileID] {
				c.add(RuleReference, el+"/@ovf:fileRef", "duplicate file id %q", d.FileID)
			}
			fileIDs[d.FileID] = true
			switch {
			case !plainFileName(d.Href):
				c.add(RuleReference, el+"/File/@ovf:href", "href %q must be a plain file name (no directories, no ..)", d.Href)
			case hrefs[d.Href]:
				c.add(RuleReference, el+"/File/@ovf:href", "duplicate href %q", d.Href)
			}
			hrefs[d.Href] = true
			if d.FileSize <= 0 {
				c.add(RuleDiskFile, el+"/File/@ovf:size", "file size %d: References/File needs the exact, positive size in bytes", d.FileSize)
			}
		}
		validateDiskConfigurations(c, el, d, vs.Configurations)
		if opts.vbox() && (d.blank() || d.Configurations != nil) {
			// vbox:Machine attaches disk images by their vbox:uuid and has
			// no deployment options: what VirtualBox would make of a blank
			// or per-flavour disk there is unverified, so it is refused
			// rather than guessed. Without the block VirtualBox attaches
			// every disk of the hardware section.
			c.add(RuleVirtualBoxMachine, el, "disk %s is blank or belongs to some configurations only, which the vbox:Machine block cannot express: leave Options.VirtualBoxMachine off", d.ID)
		}
		if d.Capacity <= 0 || d.Capacity%512 != 0 {
			c.add(RuleDiskCapacity, el+"/@ovf:capacity", "capacity %d bytes must be positive and a multiple of 512", d.Capacity)
		}
		if d.PopulatedSize < 0 || (d.Capacity > 0 && d.PopulatedSize > d.Capacity) {
			c.add(RuleDiskCapacity, el+"/@ovf:populatedSize", "populated size %d outside 0..capacity", d.PopulatedSize)
		}
		c.line(el+"/@ovf:format", d.Format)
	}

	// Networks and NICs.
	nets := map[string]bool{}
	for i, net := range n.Networks {
		el := fmt.Sprintf("Network[%d]", i+1)
		if net.Name == "" {
			c.add(RuleNetwork, el+"/@ovf:name", "network without a name")
		} else if nets[net.Name] {
			c.add(RuleNetwork, el+"/@ovf:name", "duplicate network %q", net.Name)
		}
		c.line(el+"/@ovf:name", net.Name)
		c.text(el+"/Description", net.Description)
		nets[net.Name] = true
	}
	for i, nic := range n.NICs {
		el := fmt.Sprintf("Item[NIC %d]", i+1)
		ai, ok := adapters[nic.Adapter]
		switch {
		case !ok:
			c.add(RuleAdapter, el+"/rasd:ResourceSubType", "unknown adapter %q", nic.Adapter)
		case ai.vmware && prof != VMware:
			c.add(RuleAdapter, el+"/rasd:ResourceSubType", "adapter %s imports only in VMware: use the VMware profile or E1000", nic.Adapter)
		}
		if !nets[nic.Network] || nic.Network == "" {
			c.add(RuleNICNetwork, el+"/rasd:Connection", "network %q is not in the NetworkSection", nic.Network)
		}
	}

	// Product, properties, transports.
	if p := n.Product; p != nil {
		for _, f := range []struct{ el, v string }{
			{"Product", p.Product}, {"Vendor", p.Vendor}, {"Version", p.Version},
			{"FullVersion", p.FullVersion}, {"ProductUrl", p.ProductURL}, {"VendorUrl", p.VendorURL},
		} {
			c.line("ProductSection/"+f.el, f.v)
		}
		keys := map[string]bool{}
		for i, pr := range p.Properties {
			el := fmt.Sprintf("Property[%d]", i+1)
			if pr.Key != "" {
				el = fmt.Sprintf("Property[@ovf:key=%q]", clipID(pr.Key))
			}
			if !propKeyRE.MatchString(pr.Key) {
				c.add(RuleProperty, el+"/@ovf:key", "key %q must be letters, digits, _ . - (it becomes a guestinfo name)", pr.Key)
			} else if keys[pr.Key] {
				c.add(RuleProperty, el+"/@ovf:key", "duplicate key %q", pr.Key)
			}
			keys[pr.Key] = true
			if !cimTypes[pr.Type] {
				c.add(RuleProperty, el+"/@ovf:type", "type %q is not a CIM type (string, boolean, uint8…sint64, real32, real64)", pr.Type)
			} else if pr.Default != "" {
				if err := checkValue(pr.Type, pr.Default); err != nil {
					c.add(RuleProperty, el+"/@ovf:value", "default %q: %v", pr.Default, err)
				}
			}
			if pr.Password && pr.Type != "string" {
				c.add(RuleProperty, el+"/@ovf:password", "only string properties can be passwords")
			}
			c.text(el+"/@ovf:value", pr.Default)
			c.line(el+"/@ovf:qualifiers", pr.Qualifiers)
			c.line(el+"/@vmw:qualifiers", pr.VMwareQualifiers)
			c.line(el+"/Label", pr.Label)
			c.text(el+"/Description", pr.Description)
			c.line(el+"/Category", pr.Category)
		}
		seen := map[Transport]bool{}
		for _, t := range p.Transports {
			switch {
			case t != TransportGuestInfo && t != TransportISO:
				c.add(RuleTransport, "VirtualHardwareSection/@ovf:transport", "unknown transport %q (com.vmware.guestInfo or iso)", t)
			case seen[t]:
				c.add(RuleTransport, "VirtualHardwareSection/@ovf:transport", "transport %q listed twice", t)
			}
			seen[t] = true
		}
		if seen[TransportISO] && !n.CDROM {
			c.add(RuleTransport, "VirtualHardwareSection/@ovf:transport", "the iso transport needs a CD-ROM drive (set CDROM)")
		}
		if len(p.Properties) > 0 && len(p.Transports) == 0 {
			c.add(RuleTransport, "VirtualHardwareSection/@ovf:transport", "properties reach the guest only through a transport (com.vmware.guestInfo or iso)")
		}
	}
	return c.err()
}

// validateBlankDisk checks a disk without a file: no file id, no file size,
// nothing populated. Its capacity is checked with every disk's.
func validateBlankDisk(c *collector, el string, d Disk) {
	if d.FileID != "" {
		c.add(RuleDiskFile, el+"/@ovf:fileRef", "blank disk %s (no href) has file id %q: a blank disk has no file", d.ID, d.FileID)
	}
	if d.FileSize != 0 {
		c.add(RuleDiskFile, el+"/File/@ovf:size", "blank disk %s (no href) has file size %d: a blank disk has no file", d.ID, d.FileSize)
	}
	if d.PopulatedSize != 0 {
		c.add(RuleDiskCapacity, el+"/@ovf:populatedSize", "blank disk %s has populated size %d: the importer creates it empty", d.ID, d.PopulatedSize)
	}
}

// validateDiskConfigurations checks a disk's Configurations: nil (all), or
// distinct ids of the virtual system's configurations.
func validateDiskConfigurations(c *collector, el string, d Disk, cs []Configuration) {
	if d.Configurations == nil {
		return
	}
	el += "/Item/@ovf:configuration"
	switch {
	case len(d.Configurations) == 0:
		c.add(RuleConfiguration, el, "disk %s has an empty configuration list: use nil for a disk of every configuration", d.ID)
		return
	case len(cs) == 0:
		c.add(RuleConfiguration, el, "disk %s names configurations %v, but the virtual system has none", d.ID, d.Configurations)
		return
	}
	seen := make(map[string]bool, len(d.Configurations))
	for _, id := range d.Configurations {
		switch {
		case seen[id]:
			c.add(RuleConfiguration, el, "disk %s names configuration %q twice", d.ID, id)
		case !slices.ContainsFunc(cs, func(cf Configuration) bool { return cf.ID == id }):
			c.add(RuleConfiguration, el, "disk %s names configuration %q, which the virtual system does not have", d.ID, id)
		}
		seen[id] = true
	}
}

// validMemory: a positive multiple of 4 MiB, at most 16 TiB.
func validMemory(m int64) bool { return m >= 4 && m%4 == 0 && m <= 16<<20 }

// plainFileName reports whether href is a bare file name safe in an OVA.
func plainFileName(h string) bool {
	return h != "" && h != "." && h != ".." && !strings.ContainsAny(h, "/\\:\x00") &&
		singleLine(h) && validXMLText(h)
}

// checkValue checks that v is a valid value of CIM type t.
func checkValue(t, v string) error {
	bits := map[string]int{"8": 8, "16": 16, "32": 32, "64": 64}
	switch {
	case t == "string":
		return nil
	case t == "boolean":
		if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return fmt.Errorf("not true or false")
		}
	case strings.HasPrefix(t, "uint"):
		if _, err := strconv.ParseUint(v, 10, bits[t[4:]]); err != nil {
			return fmt.Errorf("not a %s", t)
		}
	case strings.HasPrefix(t, "sint"):
		if _, err := strconv.ParseInt(v, 10, bits[t[4:]]); err != nil {
			return fmt.Errorf("not a %s", t)
		}
	case strings.HasPrefix(t, "real"):
		if _, err := strconv.ParseFloat(v, bits[t[4:]]); err != nil {
			return fmt.Errorf("not a %s", t)
		}
	}
	return nil
}
