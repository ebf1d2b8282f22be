package ovf

import (
	"fmt"
	"io"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// XML namespaces written and understood by this package.
const (
	NamespaceOVF    = "http://schemas.dmtf.org/ovf/envelope/1"
	NamespaceOVF2   = "http://schemas.dmtf.org/ovf/envelope/2" // read only
	NamespaceRASD   = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
	NamespaceVSSD   = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
	NamespaceCIM    = "http://schemas.dmtf.org/wbem/wscim/1/common"
	NamespaceVMW    = "http://www.vmware.com/schema/ovf"
	NamespaceVBox   = "http://www.virtualbox.org/ovf/machine"
	NamespaceXSI    = "http://www.w3.org/2001/XMLSchema-instance"
	NamespaceEnv    = "http://schemas.dmtf.org/ovf/environment/1"
	NamespaceVMWEnv = "http://www.vmware.com/schema/ovfenv"
	namespaceOVF09  = "http://www.vmware.com/schema/ovf/1/envelope" // pre-standard VMware drafts, read only
)

// Default ParseOptions limits.
const (
	DefaultMaxSize     = 32 << 20
	DefaultMaxElements = 100_000 // vCenter's own descriptor has about 3,000
	DefaultMaxDepth    = 64
	// DefaultMaxAttributes caps one element's attributes: an Envelope
	// declares about a dozen namespaces, a vbox:Machine element a few more.
	DefaultMaxAttributes = 256
	// DefaultMaxTotalAttributes caps the attributes of the document, two
	// per element at the element cap.
	DefaultMaxTotalAttributes = 200_000
)

// ParseOptions bound the work Parse and ParseEnvironment do. Nil or zero
// fields mean the defaults above. Text and attribute values are bounded by
// MaxSize: the parser expands no entities beyond XML's predefined ones and
// character references, which only shrink.
type ParseOptions struct {
	MaxSize            int64 `json:"maxSize,omitempty"`            // bytes of XML
	MaxElements        int   `json:"maxElements,omitempty"`        // elements in the document
	MaxDepth           int   `json:"maxDepth,omitempty"`           // element nesting (at most 4096)
	MaxAttributes      int   `json:"maxAttributes,omitempty"`      // attributes of one element
	MaxTotalAttributes int   `json:"maxTotalAttributes,omitempty"` // attributes in the document
}

func (o *ParseOptions) limits() treeLimits {
	l := treeLimits{DefaultMaxSize, DefaultMaxElements, DefaultMaxDepth, DefaultMaxAttributes, DefaultMaxTotalAttributes}
	if o != nil {
		if o.MaxAttributes > 0 {
			l.maxAttrs = o.MaxAttributes
		}
		if o.MaxTotalAttributes > 0 {
			l.maxTotalAttrs = o.MaxTotalAttributes
		}
		if o.MaxSize > 0 {
			l.maxBytes = o.MaxSize
		}
		if o.MaxElements > 0 {
			l.maxElements = o.MaxElements
		}
		if o.MaxDepth > 0 {
			l.maxDepth = min(o.MaxDepth, 4096) // recursion elsewhere stays shallow
		}
	}
	return l
}

// Envelope is the faithful, lower-level reading of an OVF descriptor: what
// the file says, with strings kept as written where OVF allows expressions.
// VirtualSystem converts it into the typed model.
type Envelope struct {
	Namespace  string        // envelope namespace URI as found
	Version    string        // ovf:version attribute, "" when absent
	Lang       string        // xml:lang
	References []File        // References/File, in document order
	Disks      []DiskInfo    // DiskSection/Disk
	Networks   []Network     // NetworkSection/Network
	Systems    []*SystemInfo // every VirtualSystem, collections flattened, document order
	Collection string        // ovf:id of a top-level VirtualSystemCollection, "" if none
	// Configurations are the envelope's DeploymentOptionSection entries,
	// in document order; Items name them in Item.Configuration.
	Configurations []ConfigurationInfo
}

// ConfigurationInfo is one DeploymentOptionSection/Configuration as
// written.
type ConfigurationInfo struct {
	ID          string // ovf:id
	Default     bool   // ovf:default
	Label       string
	Description string
}

// DefaultConfiguration returns the id of the configuration a deployer gets
// without choosing (DSP0243: the one marked default, else the first), or
// "" when the envelope has no DeploymentOptionSection.
func (e *Envelope) DefaultConfiguration() string {
	for _, c := range e.Configurations {
		if c.Default {
			return c.ID
		}
	}
	if len(e.Configurations) > 0 {
		return e.Configurations[0].ID
	}
	return ""
}

// File is one References/File entry.
type File struct {
	ID          string
	Href        string
	Size        int64  // ovf:size in bytes; -1 when absent or not a valid non-negative int64
	RawSize     string // ovf:size as written ("" when absent): Size -1 with RawSize set means a bad size
	Compression string
	ChunkSize   int64 // 0 when absent
}

// DiskInfo is one DiskSection/Disk entry as written.
type DiskInfo struct {
	ID            string // ovf:diskId
	FileRef       string // ovf:fileRef, "" for a blank disk
	Capacity      string // ovf:capacity as written (may be "${prop}")
	CapacityUnits string // ovf:capacityAllocationUnits, "" means byte
	Format        string
	PopulatedSize int64 // -1 when absent
	ParentRef     string
	VBoxUUID      string // vbox:uuid, written by VirtualBox exports
}

// CapacityBytes evaluates Capacity × CapacityUnits. It fails with
// ErrUnsupported for property expressions and ErrMalformed for garbage.
func (d DiskInfo) CapacityBytes() (int64, error) {
	c := strings.TrimSpace(d.Capacity)
	if strings.HasPrefix(c, "${") {
		return 0, &ParseError{Element: "Disk", Msg: "capacity is the expression " + c, Err: ErrUnsupported}
	}
	n, err := strconv.ParseInt(c, 10, 64)
	if err != nil || n < 0 {
		return 0, &ParseError{Element: "Disk", Msg: fmt.Sprintf("capacity %q is not a number", clipID(d.Capacity)), Err: ErrMalformed}
	}
	m, err := ParseAllocationUnits(d.CapacityUnits)
	if err != nil {
		return 0, err
	}
	if m != 0 && n > math.MaxInt64/m {
		return 0, &ParseError{Element: "Disk", Msg: "capacity overflows", Err: ErrMalformed}
	}
	return n * m, nil
}

var unitsRE = regexp.MustCompile(`^\s*(?:byte|bytes|b)?\s*(?:\*\s*(\d+)\s*\^\s*(\d+)\s*)?$`)

// ParseAllocationUnits turns a DMTF programmatic unit ("byte",
// "byte * 2^20", "MegaBytes", "KB", "GigaBytes") into a byte multiplier.
// The empty string means byte.
func ParseAllocationUnits(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch t {
	case "", "byte", "bytes", "b":
		return 1, nil
	case "kilobytes", "kb", "kib":
		return 1 << 10, nil
	case "megabytes", "mb", "mib":
		return 1 << 20, nil
	case "gigabytes", "gb", "gib":
		return 1 << 30, nil
	case "terabytes", "tb", "tib":
		return 1 << 40, nil
	}
	m := unitsRE.FindStringSubmatch(t)
	if m == nil || m[1] == "" {
		return 0, &ParseError{Msg: fmt.Sprintf("unknown allocation units %q", clipID(s)), Err: ErrUnsupported}
	}
	base, err1 := strconv.ParseInt(m[1], 10, 64)
	exp, err2 := strconv.ParseInt(m[2], 10, 64)
	if err1 != nil || err2 != nil || base < 1 || exp > 64 {
		return 0, &ParseError{Msg: fmt.Sprintf("bad allocation units %q", clipID(s)), Err: ErrUnsupported}
	}
	v := new(big.Int).Exp(big.NewInt(base), big.NewInt(exp), nil)
	if !v.IsInt64() || v.Int64() <= 0 {
		return 0, &ParseError{Msg: fmt.Sprintf("allocation units %q overflow", clipID(s)), Err: ErrUnsupported}
	}
	return v.Int64(), nil
}

// Network is one NetworkSection/Network entry (also used by the model).
type Network struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// SystemInfo is one VirtualSystem as written.
type SystemInfo struct {
	ID         string
	Name       string
	Info       string
	Annotation string
	EULAs      []string
	Products   []ProductInfo
	OS         *OSInfo
	Hardware   []HardwareInfo
	VBox       *VBoxInfo // vbox:Machine, when present
}

// OSInfo is an OperatingSystemSection.
type OSInfo struct {
	ID          int // CIM OS id as written (real exports carry -100); -1 when absent
	Version     string
	Description string
	VMwareType  string // vmw:osType
	VBoxType    string // vbox:OSType child, written by VirtualBox exports
}

// ProductInfo is a ProductSection.
type ProductInfo struct {
	Class, Instance                    string
	Product, Vendor, Version           string
	FullVersion, ProductURL, VendorURL string
	AppURL                             string
	Properties                         []PropertyInfo
}

// PropertyInfo is a ProductSection/Property as written.
type PropertyInfo struct {
	Key              string
	Type             string
	Qualifiers       string
	VMwareQualifiers string // vmw:qualifiers
	Value            string // ovf:value, the default
	UserConfigurable bool
	Password         bool
	Label            string
	Description      string
	Category         string // the Category that precedes it, if any
}

// HardwareInfo is a VirtualHardwareSection.
type HardwareInfo struct {
	ID         string
	Transport  string // ovf:transport, space-separated as written
	SystemType string // vssd:VirtualSystemType
	SystemName string // vssd:ElementName
	SystemID   string // vssd:VirtualSystemIdentifier
	Items      []Item
	Configs    []Config // vmw:Config directly in the section
	Extra      []Config // vmw:ExtraConfig
}

// Config is a vmw:Config or vmw:ExtraConfig key/value pair.
type Config struct {
	Key      string
	Value    string
	Required bool
}

// Item is one RASD entry of a VirtualHardwareSection (Item, and the OVF 2
// StorageItem and EthernetPortItem, which Kind records).
type Item struct {
	Kind                 string // "Item", "StorageItem" or "EthernetPortItem"
	Required             bool   // ovf:required (default true)
	Configuration        string // ovf:configuration
	Address              string
	AddressOnParent      string
	AllocationUnits      string
	AutomaticAllocation  string
	Caption              string
	Connection           []string
	Description          string
	ElementName          string
	HostResource         []string
	InstanceID           string
	Parent               string
	ResourceSubType      string
	ResourceType         int
	VirtualQuantity      string
	VirtualQuantityUnits string
	Configs              []Config // vmw:Config inside the item
	// Order lists the local names of the RASD child elements in document
	// order (the CIM schema wants them alphabetical).
	Order []string
}

// VBoxInfo is what this package reads from a vbox:Machine block.
type VBoxInfo struct {
	Name     string
	UUID     string
	OSType   string
	Firmware string // Hardware/Firmware/@type, "" when absent
}

// Parse reads an OVF descriptor. It accepts OVF 1.x (and, leniently, the
// OVF 2 and pre-1.0 VMware namespaces) as exported by fogkit, VMware and
// VirtualBox, and bounds its work by opts (nil means defaults). Errors are
// *ParseError matching ErrMalformed, ErrTooLarge or ErrUnsupported.
func Parse(r io.Reader, opts *ParseOptions) (*Envelope, error) {
	root, err := readTree(r, opts.limits())
	if err != nil {
		return nil, err
	}
	if !root.is("Envelope") {
		return nil, &ParseError{Line: root.line, Element: root.name.Local, Msg: "root element is not Envelope", Err: ErrMalformed}
	}
	switch root.name.Space {
	case NamespaceOVF, NamespaceOVF2, namespaceOVF09, "":
	default:
		if !strings.Contains(root.name.Space, "ovf") {
			return nil, &ParseError{Line: root.line, Element: "Envelope", Msg: "unknown namespace " + root.name.Space, Err: ErrMalformed}
		}
	}
	ns := root.name.Space
	renameTyped(root, 0)
	e := &Envelope{Namespace: ns, Version: root.attrOf(ns, "version"), Lang: root.attrOf("http://www.w3.org/XML/1998/namespace", "lang")}
	p := parser{ns: ns}
	if refs := root.child("References"); refs != nil {
		for _, f := range refs.all("File") {
			file, err := p.file(f)
			if err != nil {
				return nil, err
			}
			e.References = append(e.References, file)
		}
	}
	for _, c := range root.children {
		switch c.name.Local {
		case "DiskSection", "VirtualDiskSection":
			for _, d := range c.all("Disk") {
				di, err := p.disk(d)
				if err != nil {
					return nil, err
				}
				e.Disks = append(e.Disks, di)
			}
		case "NetworkSection":
			for _, n := range c.all("Network") {
				e.Networks = append(e.Networks, Network{Name: n.attrOf(ns, "name"), Description: n.childRaw("Description")})
			}
		case "DeploymentOptionSection":
			for _, n := range c.all("Configuration") {
				e.Configurations = append(e.Configurations, ConfigurationInfo{
					ID:          n.attrOf(ns, "id"),
					Default:     p.boolAttr(n, "default", false),
					Label:       n.childText("Label"),
					Description: n.childRaw("Description"),
				})
			}
		case "VirtualSystem":
			s, err := p.system(c)
			if err != nil {
				return nil, err
			}
			e.Systems = append(e.Systems, s)
		case "VirtualSystemCollection":
			if e.Collection == "" {
				e.Collection = c.attrOf(ns, "id")
			}
			if err := p.collection(c, e, 0); err != nil {
				return nil, err
			}
		}
	}
	return e, nil
}

type parser struct{ ns string }

func (p parser) errf(n *node, kind error, format string, args ...any) error {
	clipArgs(args)
	return &ParseError{Line: n.line, Element: n.name.Local, Msg: fmt.Sprintf(format, args...), Err: kind}
}

func (p parser) int64Attr(n *node, local string, def int64) (int64, error) {
	v, ok := n.get(p.ns, local)
	if !ok {
		return def, nil
	}
	i, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || i < 0 {
		return 0, p.errf(n, ErrMalformed, "attribute %s=%q is not a non-negative integer", local, v)
	}
	return i, nil
}

func (p parser) boolAttr(n *node, local string, def bool) bool {
	v, ok := n.get(p.ns, local)
	if !ok {
		return def
	}
	switch strings.TrimSpace(v) {
	case "true", "1":
		return true
	case "false", "0":
		return false
	}
	return def
}

func (p parser) file(n *node) (File, error) {
	f := File{ID: n.attrOf(p.ns, "id"), Href: n.attrOf(p.ns, "href"), Compression: n.attrOf(p.ns, "compression"), Size: -1}
	// Sizes are read leniently (real descriptors carry "-2" and values
	// beyond int64): the raw text is kept so a verifier can reject them.
	f.RawSize = n.attrOf(p.ns, "size")
	if v, err := strconv.ParseInt(strings.TrimSpace(f.RawSize), 10, 64); err == nil && v >= 0 {
		f.Size = v
	}
	if v, err := strconv.ParseInt(strings.TrimSpace(n.attrOf(p.ns, "chunkSize")), 10, 64); err == nil && v > 0 {
		f.ChunkSize = v
	}
	return f, nil
}

func (p parser) disk(n *node) (DiskInfo, error) {
	d := DiskInfo{
		ID:            n.attrOf(p.ns, "diskId"),
		FileRef:       n.attrOf(p.ns, "fileRef"),
		Capacity:      n.attrOf(p.ns, "capacity"),
		CapacityUnits: n.attrOf(p.ns, "capacityAllocationUnits"),
		Format:        n.attrOf(p.ns, "format"),
		ParentRef:     n.attrOf(p.ns, "parentRef"),
		VBoxUUID:      n.attrOf(NamespaceVBox, "uuid"),
	}
	var err error
	if d.PopulatedSize, err = p.int64Attr(n, "populatedSize", -1); err != nil {
		return d, err
	}
	return d, nil
}

func (p parser) collection(n *node, e *Envelope, depth int) error {
	for _, c := range n.children {
		switch c.name.Local {
		case "VirtualSystem":
			s, err := p.system(c)
			if err != nil {
				return err
			}
			e.Systems = append(e.Systems, s)
		case "VirtualSystemCollection":
			if err := p.collection(c, e, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p parser) system(n *node) (*SystemInfo, error) {
	s := &SystemInfo{ID: n.attrOf(p.ns, "id"), Name: n.childText("Name"), Info: n.childText("Info")}
	for _, c := range n.children {
		switch c.name.Local {
		case "AnnotationSection":
			s.Annotation = c.childRaw("Annotation")
		case "EulaSection":
			s.EULAs = append(s.EULAs, c.childRaw("License"))
		case "ProductSection":
			s.Products = append(s.Products, p.product(c))
		case "OperatingSystemSection":
			os := &OSInfo{ID: -1, Version: c.attrOf(p.ns, "version"), Description: c.childRaw("Description"), VMwareType: c.attrOf(NamespaceVMW, "osType")}
			for _, t := range c.all("OSType") {
				if t.name.Space == NamespaceVBox {
					os.VBoxType = t.Text()
				}
			}
			if v, ok := c.get(p.ns, "id"); ok {
				id, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil || id < math.MinInt32 || id > math.MaxInt32 {
					return nil, p.errf(c, ErrMalformed, "ovf:id %q is not a CIM OS number", v)
				}
				os.ID = id
			}
			s.OS = os
		case "VirtualHardwareSection":
			h, err := p.hardware(c)
			if err != nil {
				return nil, err
			}
			s.Hardware = append(s.Hardware, h)
		case "Machine":
			if c.name.Space == NamespaceVBox {
				s.VBox = vboxInfo(c)
			}
		}
	}
	return s, nil
}

func (p parser) product(n *node) ProductInfo {
	pi := ProductInfo{
		Class:       n.attrOf(p.ns, "class"),
		Instance:    n.attrOf(p.ns, "instance"),
		Product:     n.childText("Product"),
		Vendor:      n.childText("Vendor"),
		Version:     n.childText("Version"),
		FullVersion: n.childText("FullVersion"),
		ProductURL:  n.childText("ProductUrl"),
		VendorURL:   n.childText("VendorUrl"),
		AppURL:      n.childText("AppUrl"),
	}
	category := ""
	for _, c := range n.children {
		switch c.name.Local {
		case "Category":
			category = c.Text()
		case "Property":
			pi.Properties = append(pi.Properties, PropertyInfo{
				Key:              c.attrOf(p.ns, "key"),
				Type:             c.attrOf(p.ns, "type"),
				Qualifiers:       c.attrOf(p.ns, "qualifiers"),
				VMwareQualifiers: c.attrOf(NamespaceVMW, "qualifiers"),
				Value:            c.attrOf(p.ns, "value"),
				UserConfigurable: p.boolAttr(c, "userConfigurable", false),
				Password:         p.boolAttr(c, "password", false),
				Label:            c.childText("Label"),
				Description:      c.childRaw("Description"),
				Category:         category,
			})
		}
	}
	return pi
}

func (p parser) hardware(n *node) (HardwareInfo, error) {
	h := HardwareInfo{ID: n.attrOf(p.ns, "id"), Transport: n.attrOf(p.ns, "transport")}
	if sys := n.child("System"); sys != nil {
		h.SystemType = sys.childText("VirtualSystemType")
		h.SystemName = sys.childText("ElementName")
		h.SystemID = sys.childText("VirtualSystemIdentifier")
	}
	for _, c := range n.children {
		switch c.name.Local {
		case "Item", "StorageItem", "EthernetPortItem":
			it, err := p.item(c)
			if err != nil {
				return h, err
			}
			h.Items = append(h.Items, it)
		case "Config":
			h.Configs = append(h.Configs, p.config(c))
		case "ExtraConfig":
			h.Extra = append(h.Extra, p.config(c))
		}
	}
	return h, nil
}

func (p parser) config(n *node) Config {
	return Config{Key: n.attrOf(NamespaceVMW, "key"), Value: n.attrOf(NamespaceVMW, "value"), Required: p.boolAttr(n, "required", true)}
}

func (p parser) item(n *node) (Item, error) {
	it := Item{Kind: n.name.Local, Required: p.boolAttr(n, "required", true), Configuration: n.attrOf(p.ns, "configuration")}
	for _, c := range n.children {
		t := c.Text()
		if c.name.Space != NamespaceVMW {
			it.Order = append(it.Order, c.name.Local)
		}
		switch c.name.Local {
		case "Address":
			it.Address = t
		case "AddressOnParent":
			it.AddressOnParent = t
		case "AllocationUnits":
			it.AllocationUnits = t
		case "AutomaticAllocation":
			it.AutomaticAllocation = t
		case "Caption":
			it.Caption = t
		case "Connection":
			it.Connection = append(it.Connection, t)
		case "Description":
			it.Description = t
		case "ElementName":
			it.ElementName = t
		case "HostResource":
			it.HostResource = append(it.HostResource, t)
		case "InstanceID", "InstanceId": // InstanceId: pre-1.0 VMware spelling
			it.InstanceID = t
		case "Parent":
			it.Parent = t
		case "ResourceSubType":
			it.ResourceSubType = t
		case "ResourceType":
			if t == "" {
				continue
			}
			rt, err := strconv.Atoi(t)
			if err != nil || rt < 0 || rt > math.MaxUint16 {
				return it, p.errf(c, ErrMalformed, "ResourceType %q is not a number", t)
			}
			it.ResourceType = rt
		case "VirtualQuantity":
			it.VirtualQuantity = t
		case "VirtualQuantityUnits":
			it.VirtualQuantityUnits = t
		case "Config":
			it.Configs = append(it.Configs, p.config(c))
		}
	}
	return it, nil
}

func vboxInfo(n *node) *VBoxInfo {
	v := &VBoxInfo{Name: n.attrOf("", "name"), UUID: n.attrOf("", "uuid"), OSType: n.attrOf("", "OSType")}
	if hw := n.child("Hardware"); hw != nil {
		if fw := hw.child("Firmware"); fw != nil {
			v.Firmware = fw.attrOf("", "type")
		}
	}
	return v
}

// File returns the References entry with the given id.
func (e *Envelope) File(id string) (File, bool) {
	for _, f := range e.References {
		if f.ID == id {
			return f, true
		}
	}
	return File{}, false
}

// renameTyped gives pre-1.0 descriptors' generic elements their 1.x names:
// <Section xsi:type="ovf:DiskSection_Type"> becomes DiskSection and
// <Content xsi:type="ovf:VirtualSystem_Type"> VirtualSystem. The depth is
// bounded by the tree limits already.
func renameTyped(n *node, depth int) {
	if n.name.Local == "Section" || n.name.Local == "Content" {
		if t, ok := n.get(NamespaceXSI, "type"); ok {
			if i := strings.LastIndexByte(t, ':'); i >= 0 {
				t = t[i+1:]
			}
			if t = strings.TrimSuffix(t, "_Type"); t != "" {
				n.name.Local = t
			}
		}
	}
	for _, c := range n.children {
		renameTyped(c, depth+1)
	}
}
