package agent

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/ovf"
)

type fakeNet struct {
	up         []string
	configured *NetworkConfig
	lease      *NetworkConfig
	dhcpErr    error
}

func (f *fakeNet) linkUp(n string) error { f.up = append(f.up, n); return nil }
func (f *fakeNet) configure(n string, c *NetworkConfig) error {
	f.configured = c
	return nil
}
func (f *fakeNet) dhcp(ctx context.Context, n string, o *NetworkOptions) (*NetworkConfig, error) {
	if f.dhcpErr != nil {
		return nil, f.dhcpErr
	}
	c := *f.lease
	return &c, nil
}

func envOfValues(kv ...string) *ovf.Environment {
	e := &ovf.Environment{}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Properties = append(e.Properties, ovf.EnvProperty{Key: kv[i], Value: kv[i+1]})
	}
	return e
}

func TestConfigureNetworkDHCPOnFirstNICWithLink(t *testing.T) {
	ft := newFakeTree(t)
	ft.nic(t, "lo", "00:00:00:00:00:00", true)
	ft.nic(t, "eth0", "52:54:00:00:00:01", false)
	ft.nic(t, "eth1", "52:54:00:00:00:02", true)
	lease := &NetworkConfig{Address: netip.MustParsePrefix("10.0.2.15/24"), Gateway: netip.MustParseAddr("10.0.2.2"),
		DNS: []netip.Addr{netip.MustParseAddr("10.0.2.3")}, LeaseTime: time.Hour}
	fn := &fakeNet{lease: lease}
	resolv := filepath.Join(t.TempDir(), "etc", "resolv.conf")
	c, err := configureNetwork(t.Context(), &NetworkOptions{SysRoot: ft.sys, ResolvConf: resolv, LinkWait: time.Millisecond}, fn)
	require.NoError(t, err)
	require.Equal(t, "eth1", c.Interface, "eth0 has no carrier, lo is never chosen")
	require.Equal(t, SourceDHCP, c.Source)
	require.Equal(t, "52:54:00:00:00:02", c.MAC)
	require.Equal(t, "lo", fn.up[0], "lo comes up first")
	require.NotContains(t, fn.up[1:], "lo")
	require.Equal(t, c, fn.configured)
	b, err := os.ReadFile(resolv)
	require.NoError(t, err)
	require.Contains(t, string(b), "nameserver 10.0.2.3\n")
	require.Equal(t, "eth1 10.0.2.15/24 via dhcp gateway 10.0.2.2 dns 10.0.2.3 lease 1h0m0s", c.String())
}

func TestConfigureNetworkStaticFromOVFEnvironment(t *testing.T) {
	ft := newFakeTree(t)
	ft.nic(t, "ens192", "00:50:56:8e:12:34", true)
	fn := &fakeNet{dhcpErr: errors.New("DHCP must not run")}
	env := envOfValues(ovf.PropertyIPv4, "192.0.2.10", ovf.PropertyNetmask, "255.255.255.0", ovf.PropertyGateway, "192.0.2.1",
		ovf.PropertyDNS, "192.0.2.53, 192.0.2.54", ovf.PropertySearch, "lab.example")
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	c, err := configureNetwork(t.Context(), &NetworkOptions{SysRoot: ft.sys, ResolvConf: resolv, Environment: env}, fn)
	require.NoError(t, err)
	require.Equal(t, SourceOVFEnv, c.Source)
	require.Equal(t, netip.MustParsePrefix("192.0.2.10/24"), fn.configured.Address)
	require.Equal(t, netip.MustParseAddr("192.0.2.1"), fn.configured.Gateway)
	b, _ := os.ReadFile(resolv)
	require.Equal(t, "# written by the appliance agent from ovf-env\nsearch lab.example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n", string(b))

	// An environment without an address means DHCP.
	fn = &fakeNet{lease: &NetworkConfig{Address: netip.MustParsePrefix("10.0.2.15/24")}}
	c, err = configureNetwork(t.Context(), &NetworkOptions{SysRoot: ft.sys, ResolvConf: resolv, Environment: envOfValues(ovf.PropertyHostname, "x")}, fn)
	require.NoError(t, err)
	require.Equal(t, SourceDHCP, c.Source)
}

func TestConfigureNetworkFailures(t *testing.T) {
	ft := newFakeTree(t)
	_, err := configureNetwork(t.Context(), &NetworkOptions{SysRoot: ft.sys, ResolvConf: filepath.Join(t.TempDir(), "r"), LinkWait: time.Millisecond}, &fakeNet{})
	require.ErrorIs(t, err, ErrNoInterface)
	ft.nic(t, "eth0", "52:54:00:00:00:01", true)
	_, err = configureNetwork(t.Context(), &NetworkOptions{SysRoot: ft.sys, ResolvConf: filepath.Join(t.TempDir(), "r")}, &fakeNet{dhcpErr: errors.New("timeout")})
	require.ErrorIs(t, err, ErrNetwork)
	_, err = configureNetwork(t.Context(), &NetworkOptions{SysRoot: ft.sys, Environment: envOfValues(ovf.PropertyIPv4, "300.1.1.1")}, &fakeNet{})
	require.ErrorIs(t, err, ErrStaticConfig)
}

func TestStaticFromEnvironment(t *testing.T) {
	good := map[string]struct {
		kv   []string
		want string
	}{
		"cidr":          {[]string{"ip0", "192.0.2.10/24"}, "192.0.2.10/24"},
		"prefix length": {[]string{"ip0", "192.0.2.10", "netmask0", "25"}, "192.0.2.10/25"},
		"slash 32":      {[]string{"ip0", "192.0.2.0/32"}, "192.0.2.0/32"},
	}
	for name, c := range good {
		s, err := StaticFromEnvironment(envOfValues(c.kv...))
		require.NoError(t, err, name)
		require.Equal(t, c.want, s.Address.String(), name)
	}
	s, err := StaticFromEnvironment(envOfValues("ip0", " "))
	require.NoError(t, err)
	require.Nil(t, s, "no address: DHCP")
	for name, kv := range map[string][]string{
		"bad address":     {"ip0", "192.0.2"},
		"ipv6":            {"ip0", "2001:db8::1/64"},
		"no netmask":      {"ip0", "192.0.2.10"},
		"holey netmask":   {"ip0", "192.0.2.10", "netmask0", "255.0.255.0"},
		"network address": {"ip0", "192.0.2.0/24"},
		"broadcast":       {"ip0", "192.0.2.255/24"},
		"gateway off net": {"ip0", "192.0.2.10/24", "gateway", "198.51.100.1"},
		"bad dns":         {"ip0", "192.0.2.10/24", "dns", "ns1"},
		"bad search":      {"ip0", "192.0.2.10/24", "searchDomains", "-x-"},
	} {
		_, err := StaticFromEnvironment(envOfValues(kv...))
		require.ErrorIs(t, err, ErrStaticConfig, name)
	}
}
