//go:build linux

package agent

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/stretchr/testify/require"
)

// A DHCP server on loopback answers the client through the real
// nclient4 exchange; the lease becomes the configuration.
func TestDHCPRequestAgainstAServer(t *testing.T) {
	srv, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer srv.Close()
	cli, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer cli.Close()
	hostnames := make(chan string, 4)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, addr, err := srv.ReadFrom(buf)
			if err != nil {
				return
			}
			req, err := dhcpv4.FromBytes(buf[:n])
			if err != nil {
				continue
			}
			select {
			case hostnames <- req.HostName():
			default:
			}
			typ := dhcpv4.MessageTypeOffer
			if req.MessageType() == dhcpv4.MessageTypeRequest {
				typ = dhcpv4.MessageTypeAck
			}
			resp, _ := dhcpv4.NewReplyFromRequest(req,
				dhcpv4.WithMessageType(typ),
				dhcpv4.WithYourIP(net.IPv4(10, 0, 2, 15)),
				dhcpv4.WithServerIP(net.IPv4(10, 0, 2, 2)),
				dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(10, 0, 2, 2))),
				dhcpv4.WithNetmask(net.CIDRMask(24, 32)),
				dhcpv4.WithRouter(net.IPv4(10, 0, 2, 2)),
				dhcpv4.WithDNS(net.IPv4(10, 0, 2, 3)),
				dhcpv4.WithOption(dhcpv4.OptDomainName("example.internal")),
				dhcpv4.WithLeaseTime(86400))
			_, _ = srv.WriteTo(resp.ToBytes(), addr)
		}
	}()
	opts := append(dhcpClientOptions(&NetworkOptions{DHCPTimeout: 2 * time.Second}), nclient4.WithServerAddr(srv.LocalAddr().(*net.UDPAddr)))
	c, err := nclient4.NewWithConn(cli, net.HardwareAddr{0x52, 0x54, 0, 0x12, 0x34, 0x56}, opts...)
	require.NoError(t, err)
	defer c.Close()
	cfg, err := dhcpRequest(t.Context(), c, "fogkit-demo-123456")
	require.NoError(t, err)
	require.Equal(t, netip.MustParsePrefix("10.0.2.15/24"), cfg.Address)
	require.Equal(t, netip.MustParseAddr("10.0.2.2"), cfg.Gateway)
	require.Equal(t, []netip.Addr{netip.MustParseAddr("10.0.2.3")}, cfg.DNS)
	require.Equal(t, []string{"example.internal"}, cfg.Search)
	require.Equal(t, 24*time.Hour, cfg.LeaseTime)
	require.Equal(t, "fogkit-demo-123456", <-hostnames, "the hostname goes to the server")
}

func TestLeaseConfigRefusesUnusableLeases(t *testing.T) {
	_, err := leaseConfig(nil)
	require.ErrorIs(t, err, errLease)
	m, _ := dhcpv4.New()
	_, err = leaseConfig(m)
	require.ErrorIs(t, err, errLease, "no address")
	m.YourIPAddr = net.IPv4(10, 1, 2, 3)
	c, err := leaseConfig(m)
	require.NoError(t, err)
	require.Equal(t, "10.1.2.3/8", c.Address.String(), "classful default without a netmask")
}
