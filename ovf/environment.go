package ovf

import (
	"fmt"
	"io"
	"strconv"
)

// Where the guest finds the OVF environment document.
const (
	// GuestInfoKey is the VMware guestinfo variable that holds ovf-env.xml
	// with the com.vmware.guestInfo transport; in the guest:
	// `vmtoolsd --cmd "info-get guestinfo.ovfEnv"`.
	GuestInfoKey = "guestinfo.ovfEnv"
	// EnvironmentFileName is the file name on the ISO (CD-ROM) of the iso
	// transport.
	EnvironmentFileName = "ovf-env.xml"
)

// Environment is the OVF environment document (ovf-env.xml) that carries
// the deployer's property values to the guest.
type Environment struct {
	ID        string    `json:"id,omitempty"`        // oe:id: the virtual system's ovf:id
	VCenterID string    `json:"vcenterId,omitempty"` // ve:vCenterId, set by vCenter
	ESXID     string    `json:"esxId,omitempty"`     // ve:esxId, set by ESXi
	Platform  *Platform `json:"platform,omitempty"`
	// Properties in document order; keys are unique.
	Properties []EnvProperty `json:"properties,omitempty"`
	// Adapters is VMware's ve:EthernetAdapterSection: MAC per network.
	Adapters []EnvAdapter `json:"adapters,omitempty"`
}

// Platform is the PlatformSection: what deployed the virtual system.
type Platform struct {
	Kind     string `json:"kind,omitempty"`
	Version  string `json:"version,omitempty"`
	Vendor   string `json:"vendor,omitempty"`
	Locale   string `json:"locale,omitempty"`
	Timezone string `json:"timezone,omitempty"` // minutes from UTC, as text
}

// EnvProperty is one property value.
type EnvProperty struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// EnvAdapter is one ve:Adapter entry.
type EnvAdapter struct {
	MAC        string `json:"mac"`
	Network    string `json:"network,omitempty"`
	UnitNumber int    `json:"unitNumber,omitempty"`
}

// Value returns the value of the property key.
func (e *Environment) Value(key string) (string, bool) {
	for _, p := range e.Properties {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// NewEnvironment builds the environment a hypervisor would hand to vs: every
// property of vs.Product with its default, overridden by values. A value
// for an undeclared key, or one that does not fit the property's type,
// yields a ValidationError (RuleProperty). Properties keep the order of the
// product section, so the output is deterministic.
func NewEnvironment(vs *VirtualSystem, values map[string]string) (*Environment, error) {
	c := newCollector(nil)
	env := &Environment{}
	if vs != nil {
		env.ID = vs.ID
		if env.ID == "" {
			env.ID = vs.Name
		}
	}
	declared := map[string]bool{}
	if vs != nil && vs.Product != nil {
		for _, p := range vs.Product.Properties {
			declared[p.Key] = true
			v := p.Default
			if o, ok := values[p.Key]; ok {
				v = o
				if cimTypes[p.Type] {
					if err := checkValue(p.Type, v); err != nil {
						c.add(RuleProperty, fmt.Sprintf("Property[@oe:key=%q]", clipID(p.Key)), "value %q: %v", v, err)
					}
				}
			}
			if !validXMLText(v) {
				c.add(RuleText, fmt.Sprintf("Property[@oe:key=%q]", clipID(p.Key)), "value is not valid XML text")
			}
			env.Properties = append(env.Properties, EnvProperty{Key: p.Key, Value: v})
		}
	}
	// Report undeclared keys in a stable order.
	var extra []string
	for k := range values {
		if !declared[k] {
			extra = append(extra, k)
		}
	}
	sortStrings(extra)
	for _, k := range extra {
		c.add(RuleProperty, fmt.Sprintf("Property[@oe:key=%q]", clipID(k)), "not declared in the ProductSection")
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return env, nil
}

// WriteEnvironment writes env as ovf-env.xml in the layout VMware uses,
// deterministically (attribute and element order fixed, LF, UTF-8).
func WriteEnvironment(w io.Writer, env *Environment) error {
	if env == nil {
		return ValidationError{{Rule: RuleProperty, Element: "Environment", Message: "nil environment"}}
	}
	c := newCollector(nil)
	keys := map[string]bool{}
	for _, p := range env.Properties {
		if p.Key == "" || keys[p.Key] {
			c.add(RuleProperty, fmt.Sprintf("Property[@oe:key=%q]", clipID(p.Key)), "empty or duplicate key")
		}
		keys[p.Key] = true
		c.text(fmt.Sprintf("Property[@oe:key=%q]", clipID(p.Key)), p.Key+p.Value)
	}
	c.text("Environment", env.ID+env.VCenterID+env.ESXID)
	if pl := env.Platform; pl != nil {
		c.text("PlatformSection", pl.Kind+pl.Version+pl.Vendor+pl.Locale+pl.Timezone)
	}
	for _, a := range env.Adapters {
		c.text("ve:Adapter", a.MAC+a.Network)
	}
	if err := c.err(); err != nil {
		return err
	}
	x := &xw{}
	x.b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	kv := []string{
		"xmlns", NamespaceEnv,
		"xmlns:oe", NamespaceEnv,
		"xmlns:ve", NamespaceVMWEnv,
		"xmlns:xsi", NamespaceXSI,
		"oe:id", env.ID,
	}
	if env.ESXID != "" {
		kv = append(kv, "ve:esxId", env.ESXID)
	}
	if env.VCenterID != "" {
		kv = append(kv, "ve:vCenterId", env.VCenterID)
	}
	x.open("Environment", kv...)
	if pl := env.Platform; pl != nil {
		x.open("PlatformSection")
		x.leafIf("Kind", pl.Kind)
		x.leafIf("Version", pl.Version)
		x.leafIf("Vendor", pl.Vendor)
		x.leafIf("Locale", pl.Locale)
		x.leafIf("Timezone", pl.Timezone)
		x.close("PlatformSection")
	}
	x.open("PropertySection")
	for _, p := range env.Properties {
		x.empty("Property", "oe:key", p.Key, "oe:value", p.Value)
	}
	x.close("PropertySection")
	if len(env.Adapters) > 0 {
		x.open("ve:EthernetAdapterSection")
		for _, a := range env.Adapters {
			akv := []string{"ve:mac", a.MAC, "ve:network", a.Network}
			if a.UnitNumber != 0 {
				akv = append(akv, "ve:unitNumber", strconv.Itoa(a.UnitNumber))
			}
			x.empty("ve:Adapter", akv...)
		}
		x.close("ve:EthernetAdapterSection")
	}
	x.close("Environment")
	_, err := w.Write(x.b.Bytes())
	return err
}

// ParseEnvironment reads an ovf-env.xml document, as written by vSphere,
// by WriteEnvironment or by other OVF platforms, bounded by opts. Errors are
// *ParseError values matching ErrMalformed or ErrTooLarge.
func ParseEnvironment(r io.Reader, opts *ParseOptions) (*Environment, error) {
	root, err := readTree(r, opts.limits())
	if err != nil {
		return nil, err
	}
	if !root.is("Environment") || (root.name.Space != NamespaceEnv && root.name.Space != "") {
		return nil, &ParseError{Line: root.line, Element: root.name.Local, Msg: "root element is not an OVF Environment", Err: ErrMalformed}
	}
	ns := NamespaceEnv
	env := &Environment{
		ID:        root.attrOf(ns, "id"),
		VCenterID: root.attrOf(NamespaceVMWEnv, "vCenterId"),
		ESXID:     root.attrOf(NamespaceVMWEnv, "esxId"),
	}
	if pl := root.child("PlatformSection"); pl != nil {
		env.Platform = &Platform{
			Kind: pl.childText("Kind"), Version: pl.childText("Version"), Vendor: pl.childText("Vendor"),
			Locale: pl.childText("Locale"), Timezone: pl.childText("Timezone"),
		}
	}
	seen := map[string]bool{}
	for _, ps := range root.all("PropertySection") {
		for _, p := range ps.all("Property") {
			k, ok := p.get(ns, "key")
			if !ok || k == "" {
				return nil, &ParseError{Line: p.line, Element: "Property", Msg: "property without oe:key", Err: ErrMalformed}
			}
			if seen[k] {
				return nil, &ParseError{Line: p.line, Element: "Property", Msg: fmt.Sprintf("duplicate key %q", clipID(k)), Err: ErrMalformed}
			}
			seen[k] = true
			env.Properties = append(env.Properties, EnvProperty{Key: k, Value: p.attrOf(ns, "value")})
		}
	}
	for _, s := range root.all("EthernetAdapterSection") {
		for _, a := range s.all("Adapter") {
			ad := EnvAdapter{MAC: a.attrOf(NamespaceVMWEnv, "mac"), Network: a.attrOf(NamespaceVMWEnv, "network")}
			if u := a.attrOf(NamespaceVMWEnv, "unitNumber"); u != "" {
				n, err := strconv.Atoi(u)
				if err != nil {
					return nil, &ParseError{Line: a.line, Element: "Adapter", Msg: fmt.Sprintf("unitNumber %q", clipID(u)), Err: ErrMalformed}
				}
				ad.UnitNumber = n
			}
			env.Adapters = append(env.Adapters, ad)
		}
	}
	return env, nil
}
