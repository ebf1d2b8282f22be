//go:build linux

package agent

import (
	"context"
	"fmt"
	"net"

	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/vishvananda/netlink"
)

// sysNetOps configures the kernel through rtnetlink (vishvananda/netlink).
var sysNetOps netOps = linuxNet{}

type linuxNet struct{}

func (linuxNet) linkUp(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	return netlink.LinkSetUp(l)
}

// configure replaces the interface's address and the default route, so
// running it again (a second Setup, a renewed lease) is harmless.
func (linuxNet) configure(name string, c *NetworkConfig) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	a := c.Address.Addr().As4()
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(a[:]), Mask: net.CIDRMask(c.Address.Bits(), 32)}}
	if err := netlink.AddrReplace(l, addr); err != nil {
		return fmt.Errorf("address %s: %w", c.Address, err)
	}
	if c.Gateway.IsValid() {
		g := c.Gateway.As4()
		r := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: net.IP(g[:])}
		if err := netlink.RouteReplace(r); err != nil {
			return fmt.Errorf("default route via %s: %w", c.Gateway, err)
		}
	}
	return nil
}

// dhcp runs the DHCP exchange on the interface's raw socket (the
// interface has no address yet).
func (linuxNet) dhcp(ctx context.Context, name string, o *NetworkOptions) (*NetworkConfig, error) {
	c, err := nclient4.New(name, dhcpClientOptions(o)...)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return dhcpRequest(ctx, c, o.Hostname)
}
