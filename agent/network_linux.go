//go:build linux

package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// errNoEntropy: the kernel's random pool did not initialise in time.
var errNoEntropy = errors.New("the kernel's random pool is not initialised (no RDRAND or hardware RNG: add a virtio-rng device)")

func waitEntropy(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var b [1]byte
	for {
		if _, err := unix.Getrandom(b[:], unix.GRND_NONBLOCK); err == nil {
			return nil
		} else if !errors.Is(err, unix.EAGAIN) {
			return nil // no getrandom(2): let the library find out
		}
		if !time.Now().Before(deadline) {
			return errNoEntropy
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", errNoEntropy, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

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

// configure replaces the interface's IPv4 address (removing any other)
// and the default route, so running it again (a second Setup, a renewed
// lease, the console menu's choice) is harmless.
func (linuxNet) configure(name string, c *NetworkConfig) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	a := c.Address.Addr().As4()
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(a[:]), Mask: net.CIDRMask(c.Address.Bits(), 32)}}
	// A new address (the console menu's static one after DHCP's) replaces
	// the old: the appliance answers at the address it shows, only. The
	// old ones go first: removing a subnet's primary address takes its
	// secondaries with it, and the new one would be such a secondary.
	if old, err := netlink.AddrList(l, netlink.FAMILY_V4); err == nil {
		for _, o := range old {
			if !o.IP.Equal(addr.IP) || !bytes.Equal(o.Mask, addr.Mask) {
				_ = netlink.AddrDel(l, &o)
			}
		}
	}
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

// entropyWait bounds the wait for the kernel's random pool.
const entropyWait = 30 * time.Second

// dhcp runs the DHCP exchange on the interface's raw socket (the
// interface has no address yet).
func (linuxNet) dhcp(ctx context.Context, name string, o *NetworkOptions) (*NetworkConfig, error) {
	// The DHCP library draws its transaction IDs from getrandom(2)
	// without a deadline: before the kernel's random pool is initialised
	// (early boot on a CPU without RDRAND and no virtio-rng, as under
	// qemu TCG) it spins until it is. Wait here instead, bounded, and say
	// why when it never comes.
	if err := waitEntropy(ctx, entropyWait); err != nil {
		return nil, err
	}
	c, err := nclient4.New(name, dhcpClientOptions(o)...)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return dhcpRequest(ctx, c, o.Hostname)
}
