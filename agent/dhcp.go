package agent

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// errLease: the server's acknowledgement cannot configure an interface.
var errLease = errors.New("unusable DHCP lease")

// leaseConfig reads address, netmask, router, DNS servers, domain and
// lease time from a DHCP acknowledgement.
func leaseConfig(ack *dhcpv4.DHCPv4) (*NetworkConfig, error) {
	if ack == nil {
		return nil, errLease
	}
	ip, ok := netip.AddrFromSlice(ack.YourIPAddr.To4())
	if !ok || ip.IsUnspecified() {
		return nil, fmt.Errorf("%w: no address", errLease)
	}
	bits := 24
	if m := ack.SubnetMask(); m != nil {
		ones, size := m.Size()
		if size != 32 || ones == 0 {
			return nil, fmt.Errorf("%w: netmask %v", errLease, net.IP(m))
		}
		bits = ones
	} else if ip.As4()[0] < 128 {
		bits = 8 // classful default, as RFC 2131 implies without option 1
	} else if ip.As4()[0] < 192 {
		bits = 16
	}
	c := &NetworkConfig{Address: netip.PrefixFrom(ip, bits), Source: SourceDHCP}
	for _, r := range ack.Router() {
		if a, ok := netip.AddrFromSlice(r.To4()); ok && !a.IsUnspecified() {
			c.Gateway = a
			break
		}
	}
	for _, d := range ack.DNS() {
		if a, ok := netip.AddrFromSlice(d.To4()); ok && !a.IsUnspecified() {
			c.DNS = append(c.DNS, a)
		}
	}
	if l := ack.DomainSearch(); l != nil {
		for _, d := range l.Labels {
			if validHostname(d) {
				c.Search = append(c.Search, d)
			}
		}
	}
	if d := ack.DomainName(); len(c.Search) == 0 && validHostname(d) {
		c.Search = []string{d}
	}
	c.LeaseTime = ack.IPAddressLeaseTime(0)
	if s, ok := netip.AddrFromSlice(ack.ServerIdentifier().To4()); ok {
		c.Server = s
	}
	return c, nil
}
