package ovf

import (
	"fmt"
	"slices"
	"strings"
)

// Configuration is one deployment option (a flavour such as small, medium
// or large) of a VirtualSystem. Marshal writes every configuration into
// the envelope's DeploymentOptionSection and one CPU and one memory item
// per configuration, tagged ovf:configuration; the deployer picks one.
//
// The CPU count and the memory size vary by configuration, and so may the
// disks: a Disk whose Configurations name some flavours is attached only
// in those (its disk item carries ovf:configuration). A disk with a file
// has the fixed size of its image, so a data disk whose size varies by
// flavour is a blank disk (Href "") per flavour, each with its own
// Capacity, which the importer creates empty. VirtualBox ignores
// deployment options: it imports the default flavour's CPUs and memory
// but attaches every disk. ForConfiguration gives the single-flavour model
// instead, for one OVA per flavour.
type Configuration struct {
	// ID is the ovf:id the deployer chooses and Items name: letters,
	// digits, _ . - (a space would split it, since ovf:configuration
	// holds a space-separated list).
	ID string `json:"id"`
	// Label is the name shown in the deployment wizard; "" means ID.
	Label string `json:"label,omitempty"`
	// Description is shown next to the label; "" means a summary of the
	// CPUs and memory.
	Description string `json:"description,omitempty"`
	// Default marks the configuration a deployer gets without choosing;
	// when none is marked the first one is the default. At most one may
	// be marked.
	Default bool `json:"default,omitempty"`
	// CPUs and MemoryMiB override the VirtualSystem's; 0 keeps its value.
	CPUs      int   `json:"cpus,omitempty"`
	MemoryMiB int64 `json:"memoryMiB,omitempty"`
}

// defaultConfiguration is the index of the default configuration per
// DSP0243: the first one marked default, else the first one.
func defaultConfiguration(cs []Configuration) int {
	for i, c := range cs {
		if c.Default {
			return i
		}
	}
	return 0
}

// normalizeConfigurations fills every configuration's zero fields from the
// virtual system, marks exactly one default, and gives n the default
// configuration's CPUs and memory: what an importer that ignores the
// DeploymentOptionSection (VirtualBox) gets.
func normalizeConfigurations(n *VirtualSystem, src []Configuration) {
	if len(src) == 0 {
		n.Configurations = nil
		return
	}
	n.Configurations = append([]Configuration(nil), src...)
	def := defaultConfiguration(src)
	for i := range n.Configurations {
		c := &n.Configurations[i]
		c.Default = i == def
		if c.CPUs == 0 {
			c.CPUs = n.CPUs
		}
		if c.MemoryMiB == 0 {
			c.MemoryMiB = n.MemoryMiB
		}
		if c.Label == "" {
			c.Label = c.ID
		}
		if c.Description == "" {
			c.Description = fmt.Sprintf("%d virtual CPU(s), %d MiB of memory", c.CPUs, c.MemoryMiB)
		}
	}
	n.CPUs = n.Configurations[def].CPUs
	n.MemoryMiB = n.Configurations[def].MemoryMiB
}

// ForConfiguration returns a copy of vs for the one configuration id ("" means
// the default one), with that configuration's CPUs and memory, only the
// disks that configuration includes (their Configurations cleared) and no
// Configurations: the model of a single-flavour descriptor. vs is not
// changed. An unknown id yields a ValidationError (RuleConfiguration).
func (vs *VirtualSystem) ForConfiguration(id string) (*VirtualSystem, error) {
	if vs == nil {
		return nil, ValidationError{{Rule: RuleName, Element: "VirtualSystem", Message: "nil virtual system"}}
	}
	out := vs.clone()
	out.Configurations = nil
	if len(vs.Configurations) == 0 {
		if id != "" {
			return nil, ValidationError{{Rule: RuleConfiguration, Element: "DeploymentOptionSection",
				Message: fmt.Sprintf("configuration %q requested, but the virtual system has none", clipID(id))}}
		}
		return out, nil
	}
	i := defaultConfiguration(vs.Configurations)
	if id != "" {
		i = -1
		for j, c := range vs.Configurations {
			if c.ID == id {
				i = j
				break
			}
		}
		if i < 0 {
			return nil, ValidationError{{Rule: RuleConfiguration, Element: "DeploymentOptionSection",
				Message: fmt.Sprintf("no configuration %q", clipID(id))}}
		}
	}
	c := vs.Configurations[i]
	// The flavour's disks: those of every configuration and those that
	// name this one, now plain disks of a descriptor without options.
	out.Disks = out.Disks[:0]
	for _, d := range vs.Disks {
		if d.Configurations == nil || slices.Contains(d.Configurations, c.ID) {
			d.Configurations = nil
			out.Disks = append(out.Disks, d)
		}
	}
	if len(out.Disks) == 0 {
		out.Disks = nil
	}
	if c.CPUs != 0 {
		out.CPUs = c.CPUs
	}
	if c.MemoryMiB != 0 {
		out.MemoryMiB = c.MemoryMiB
	}
	return out, nil
}

// clone copies vs deeply enough that changing the copy's slices and
// product leaves vs alone.
func (vs *VirtualSystem) clone() *VirtualSystem {
	n := *vs
	n.EULAs = append([]string(nil), vs.EULAs...)
	n.Disks = append([]Disk(nil), vs.Disks...)
	for i := range n.Disks {
		n.Disks[i].Configurations = slices.Clone(vs.Disks[i].Configurations)
	}
	n.NICs = append([]NIC(nil), vs.NICs...)
	n.Networks = append([]Network(nil), vs.Networks...)
	n.Configurations = append([]Configuration(nil), vs.Configurations...)
	if vs.Product != nil {
		p := *vs.Product
		p.Properties = append([]Property(nil), p.Properties...)
		p.Transports = append([]Transport(nil), p.Transports...)
		n.Product = &p
	}
	return &n
}

// validateConfigurations checks the model's configurations: ids unique and
// plain, at most one marked default, one-line labels, and each flavour's
// CPUs and memory within the profile's limits (the default one is checked
// as the virtual system's own).
func validateConfigurations(c *collector, raw []Configuration, n *VirtualSystem, maxCPU int, prof Profile) {
	if len(raw) == 0 {
		return
	}
	ids := map[string]bool{}
	defaults := 0
	for i, rc := range raw {
		nc := n.Configurations[i]
		el := fmt.Sprintf("Configuration[%d]", i+1)
		if rc.ID != "" {
			el = fmt.Sprintf("Configuration[@ovf:id=%q]", clipID(rc.ID))
		}
		switch {
		case !idRE.MatchString(rc.ID):
			c.add(RuleConfiguration, el+"/@ovf:id", "id %q must be letters, digits, _ . - starting with a letter or _", rc.ID)
		case ids[rc.ID]:
			c.add(RuleConfiguration, el+"/@ovf:id", "duplicate configuration id %q", rc.ID)
		}
		ids[rc.ID] = true
		if rc.Default {
			defaults++
			if defaults == 2 {
				c.add(RuleConfiguration, el+"/@ovf:default", "more than one configuration is marked default")
			}
		}
		c.line(el+"/Label", nc.Label)
		c.text(el+"/Description", nc.Description)
		if nc.Default {
			continue // its CPUs and memory are the virtual system's, checked there
		}
		if nc.CPUs < 1 || nc.CPUs > maxCPU {
			c.add(RuleCPU, el+"/Item[ResourceType=3]", "%d virtual CPUs: the %s profile allows 1 to %d", nc.CPUs, prof, maxCPU)
		}
		if !validMemory(nc.MemoryMiB) {
			c.add(RuleMemory, el+"/Item[ResourceType=4]", "%d MiB of memory: must be a positive multiple of 4", nc.MemoryMiB)
		}
	}
}

// lintConfigurations checks a parsed DeploymentOptionSection: ids present,
// unique and free of spaces, at most one default.
func lintConfigurations(c *collector, cs []ConfigurationInfo) {
	ids := map[string]bool{}
	defaults := 0
	for i, ci := range cs {
		el := fmt.Sprintf("DeploymentOptionSection/Configuration[@ovf:id=%q]", clipID(ci.ID))
		switch {
		case ci.ID == "":
			el = fmt.Sprintf("DeploymentOptionSection/Configuration[%d]", i+1)
			c.add(RuleConfiguration, el, "configuration without ovf:id")
		case strings.ContainsAny(ci.ID, " \t\r\n"):
			c.add(RuleConfiguration, el, "id has white space: ovf:configuration lists ids separated by spaces")
		case ids[ci.ID]:
			c.add(RuleConfiguration, el, "duplicate configuration id")
		}
		ids[ci.ID] = true
		if ci.Default {
			defaults++
			if defaults == 2 {
				c.add(RuleConfiguration, el+"/@ovf:default", "more than one configuration is marked default")
			}
		}
	}
}

// configurationTokens splits an ovf:configuration value, a space-separated
// list of configuration ids, dropping repeats.
func configurationTokens(s string) []string {
	f := strings.Fields(s)
	if len(f) < 2 {
		return f
	}
	seen := make(map[string]bool, len(f)) // a hostile list has 500,000 ids
	out := f[:0]
	for _, t := range f {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// writeDeploymentOptions writes the DeploymentOptionSection of a
// normalized virtual system.
func writeDeploymentOptions(w *xw, n *VirtualSystem) {
	if len(n.Configurations) == 0 {
		return
	}
	w.open("DeploymentOptionSection")
	w.leaf("Info", "The deployment configurations of the appliance")
	for _, c := range n.Configurations {
		kv := []string{"ovf:id", c.ID}
		if c.Default {
			kv = append(kv, "ovf:default", "true")
		}
		w.open("Configuration", kv...)
		w.leaf("Label", c.Label)
		w.leaf("Description", c.Description)
		w.close("Configuration")
	}
	w.close("DeploymentOptionSection")
}
