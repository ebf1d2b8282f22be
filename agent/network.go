package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fogkit/fogkit/ovf"
)

// Sentinel errors of the network step.
var (
	// ErrNoInterface: no network interface other than lo has a link.
	ErrNoInterface = errors.New("agent: no network interface with a link")
	// ErrNetwork: the interface could not be configured (DHCP got no
	// lease, or the kernel refused the address or route).
	ErrNetwork = errors.New("agent: network configuration failed")
	// ErrStaticConfig: static settings (from the OVF environment or the
	// options) are invalid.
	ErrStaticConfig = errors.New("agent: invalid static network settings")
)

// Where the network settings came from.
const (
	SourceDHCP   = "dhcp"
	SourceOVFEnv = "ovf-env"
	SourceStatic = "static"
)

// NetworkOptions tune ConfigureNetwork. Nil means defaults: DHCP on the
// first interface with a link.
type NetworkOptions struct {
	// Interface forces the interface; "" means the first one (by name)
	// that is not lo and has a link once brought up.
	Interface string `json:"interface,omitempty"`
	// Static, when set, is used instead of DHCP (Source "static").
	Static *StaticNetwork `json:"static,omitempty"`
	// Environment, when set and holding an address (ovf.PropertyIPv4),
	// gives static settings (Source "ovf-env").
	Environment *ovf.Environment `json:"-"`
	// Hostname is sent to the DHCP server (option 12) so it can register
	// the appliance in DNS.
	Hostname string `json:"hostname,omitempty"`
	// LinkWait bounds the wait for a NIC to appear and report carrier;
	// 0 means 10 s.
	LinkWait time.Duration `json:"linkWait,omitempty"`
	// DHCPTimeout is each DHCP exchange's timeout (0: 3 s) and
	// DHCPRetries how often each is sent (0: 5); ctx bounds the whole.
	DHCPTimeout time.Duration `json:"dhcpTimeout,omitempty"`
	DHCPRetries int           `json:"dhcpRetries,omitempty"`
	// SysRoot is where sysfs is ("" means /sys) and ResolvConf the file
	// to write ("" means /etc/resolv.conf).
	SysRoot    string `json:"sysRoot,omitempty"`
	ResolvConf string `json:"resolvConf,omitempty"`
}

// StaticNetwork is a fixed IPv4 configuration.
type StaticNetwork struct {
	Address netip.Prefix `json:"address"` // 192.0.2.10/24
	Gateway netip.Addr   `json:"gateway,omitzero"`
	DNS     []netip.Addr `json:"dns,omitempty"`
	Search  []string     `json:"search,omitempty"`
}

// NetworkConfig is what ConfigureNetwork set up.
type NetworkConfig struct {
	Interface string        `json:"interface"`
	MAC       string        `json:"mac,omitempty"`
	Address   netip.Prefix  `json:"address"`
	Gateway   netip.Addr    `json:"gateway,omitzero"`
	DNS       []netip.Addr  `json:"dns,omitempty"`
	Search    []string      `json:"search,omitempty"`
	LeaseTime time.Duration `json:"leaseTime,omitempty"` // DHCP only
	Server    netip.Addr    `json:"server,omitzero"`     // DHCP only
	Source    string        `json:"source"`              // one of the Source* constants
}

// String is the one-line console form.
func (c *NetworkConfig) String() string {
	s := fmt.Sprintf("%s %s via %s", c.Interface, c.Address, c.Source)
	if c.Gateway.IsValid() {
		s += " gateway " + c.Gateway.String()
	}
	if len(c.DNS) > 0 {
		var d []string
		for _, a := range c.DNS {
			d = append(d, a.String())
		}
		s += " dns " + strings.Join(d, ",")
	}
	if c.LeaseTime > 0 {
		s += " lease " + c.LeaseTime.String()
	}
	return s
}

// netOps is what ConfigureNetwork asks of the kernel; netlink and the
// DHCP client on Linux, a fake in tests.
type netOps interface {
	linkUp(name string) error
	configure(name string, c *NetworkConfig) error
	dhcp(ctx context.Context, name string, o *NetworkOptions) (*NetworkConfig, error)
}

// ConfigureNetwork brings lo up, then configures one interface: with the
// static settings of the options or of the OVF environment when there are
// any, else by DHCP (insomniacslk/dhcp's nclient4); it sets the address
// and the default route through netlink and writes resolv.conf.
func ConfigureNetwork(ctx context.Context, opts *NetworkOptions) (*NetworkConfig, error) {
	return configureNetwork(ctx, opts, sysNetOps)
}

func configureNetwork(ctx context.Context, opts *NetworkOptions, ops netOps) (*NetworkConfig, error) {
	var o NetworkOptions
	if opts != nil {
		o = *opts
	}
	if o.SysRoot == "" {
		o.SysRoot = "/sys"
	}
	if o.ResolvConf == "" {
		o.ResolvConf = "/etc/resolv.conf"
	}
	if o.LinkWait == 0 {
		o.LinkWait = 10 * time.Second
	}
	static, source := o.Static, SourceStatic
	if static == nil && o.Environment != nil {
		s, err := StaticFromEnvironment(o.Environment)
		if err != nil {
			return nil, err
		}
		static, source = s, SourceOVFEnv
	}
	if static != nil && (!static.Address.IsValid() || !static.Address.Addr().Is4()) {
		return nil, fmt.Errorf("%w: address %v is not an IPv4 prefix", ErrStaticConfig, static.Address)
	}
	if err := ops.linkUp("lo"); err != nil {
		return nil, fmt.Errorf("%w: lo: %w", ErrNetwork, err)
	}
	name, err := pickInterface(ctx, o, ops)
	if err != nil {
		return nil, err
	}
	var c *NetworkConfig
	if static != nil {
		c = &NetworkConfig{Interface: name, Address: static.Address, Gateway: static.Gateway,
			DNS: static.DNS, Search: static.Search, Source: source}
	} else {
		c, err = ops.dhcp(ctx, name, &o)
		if err != nil {
			return nil, fmt.Errorf("%w: DHCP on %s: %w", ErrNetwork, name, err)
		}
		c.Interface, c.Source = name, SourceDHCP
	}
	c.MAC = sysLine(filepath.Join(o.SysRoot, "class", "net", name), "address")
	if err := ops.configure(name, c); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNetwork, name, err)
	}
	if err := writeResolvConf(o.ResolvConf, c); err != nil {
		return c, fmt.Errorf("%w: %w", ErrNetwork, err)
	}
	return c, nil
}

// pickInterface returns o.Interface, or the first interface by name that
// is an Ethernet-like device (ARPHRD_ETHER), not lo, and reports carrier
// once up. Every candidate is brought up, since carrier is only known for
// an interface that is up; it waits up to LinkWait.
func pickInterface(ctx context.Context, o NetworkOptions, ops netOps) (string, error) {
	deadline := time.Now().Add(o.LinkWait)
	up := map[string]bool{}
	for {
		names := candidateNICs(o.SysRoot)
		if o.Interface != "" {
			names = []string{o.Interface}
		}
		for _, n := range names {
			if !up[n] {
				if err := ops.linkUp(n); err != nil {
					continue
				}
				up[n] = true
			}
			if sysLine(filepath.Join(o.SysRoot, "class", "net", n), "carrier") == "1" {
				return n, nil
			}
		}
		if !time.Now().Before(deadline) {
			if len(up) == 0 {
				return "", fmt.Errorf("%w: none found", ErrNoInterface)
			}
			return "", fmt.Errorf("%w: no carrier on %s", ErrNoInterface, strings.Join(names, ", "))
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// candidateNICs lists sysRoot/class/net's Ethernet interfaces but lo,
// sorted by name.
func candidateNICs(sysRoot string) []string {
	dir := filepath.Join(sysRoot, "class", "net")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if n == "lo" || sysLine(filepath.Join(dir, n), "type") != "1" {
			continue
		}
		out = append(out, n)
	}
	return out
}

// StaticFromEnvironment reads the static network settings of an OVF
// environment (the ovf.Property* keys). It returns nil, nil when the
// environment has no address (DHCP), and an ErrStaticConfig error when a
// value is invalid.
func StaticFromEnvironment(env *ovf.Environment) (*StaticNetwork, error) {
	if env == nil {
		return nil, nil
	}
	val := func(k string) string { v, _ := env.Value(k); return strings.TrimSpace(v) }
	ip := val(ovf.PropertyIPv4)
	if ip == "" {
		return nil, nil
	}
	bad := func(k, v string, why string) error {
		return fmt.Errorf("%w: %s=%q: %s", ErrStaticConfig, k, clip(v), why)
	}
	s := &StaticNetwork{}
	if strings.Contains(ip, "/") {
		p, err := netip.ParsePrefix(ip)
		if err != nil || !p.Addr().Is4() {
			return nil, bad(ovf.PropertyIPv4, ip, "not an IPv4 address with prefix")
		}
		s.Address = p
	} else {
		a, err := netip.ParseAddr(ip)
		if err != nil || !a.Is4() {
			return nil, bad(ovf.PropertyIPv4, ip, "not an IPv4 address")
		}
		bits, err := parseNetmask(val(ovf.PropertyNetmask))
		if err != nil {
			return nil, bad(ovf.PropertyNetmask, val(ovf.PropertyNetmask), err.Error())
		}
		s.Address = netip.PrefixFrom(a, bits)
	}
	if !isHostAddress(s.Address) {
		return nil, bad(ovf.PropertyIPv4, ip, "not a host address")
	}
	if g := val(ovf.PropertyGateway); g != "" {
		a, err := netip.ParseAddr(g)
		if err != nil || !a.Is4() {
			return nil, bad(ovf.PropertyGateway, g, "not an IPv4 address")
		}
		if !s.Address.Masked().Contains(a) {
			return nil, bad(ovf.PropertyGateway, g, "not on the network "+s.Address.Masked().String())
		}
		s.Gateway = a
	}
	for _, d := range splitList(val(ovf.PropertyDNS)) {
		a, err := netip.ParseAddr(d)
		if err != nil {
			return nil, bad(ovf.PropertyDNS, d, "not an IP address")
		}
		s.DNS = append(s.DNS, a)
	}
	for _, d := range splitList(val(ovf.PropertySearch)) {
		if !validHostname(d) {
			return nil, bad(ovf.PropertySearch, d, "not a domain name")
		}
		s.Search = append(s.Search, d)
	}
	return s, nil
}

// isHostAddress: the address is neither the network's nor its broadcast
// address (both are hosts on /31 and /32).
func isHostAddress(p netip.Prefix) bool {
	if p.Bits() < 1 || p.Bits() > 32 {
		return false
	}
	if p.Bits() >= 31 {
		return true
	}
	a := p.Addr().As4()
	n := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	host := n &^ (^uint32(0) << (32 - p.Bits()))
	return host != 0 && host != ^uint32(0)>>p.Bits()
}

// parseNetmask takes "255.255.255.0" or "24"; "" is an error (a bare
// address needs a netmask).
func parseNetmask(s string) (int, error) {
	if s == "" {
		return 0, errors.New("missing: give a netmask or an address with /prefix")
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 32 {
			return 0, errors.New("prefix length out of 1..32")
		}
		return n, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return 0, errors.New("not a netmask")
	}
	b := a.As4()
	ones, bits := net.IPMask(b[:]).Size()
	if bits == 0 || ones == 0 {
		return 0, errors.New("not a contiguous netmask")
	}
	return ones, nil
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' || r == '\t' })
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// writeResolvConf writes the DNS servers and search domains (resolv.conf
// allows 3 servers and 6 domains) atomically.
func writeResolvConf(path string, c *NetworkConfig) error {
	var b strings.Builder
	b.WriteString("# written by the appliance agent from " + c.Source + "\n")
	if len(c.Search) > 0 {
		b.WriteString("search " + strings.Join(c.Search[:min(len(c.Search), 6)], " ") + "\n")
	}
	for i, d := range c.DNS {
		if i == 3 {
			break
		}
		b.WriteString("nameserver " + d.String() + "\n")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
