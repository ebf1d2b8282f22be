package ovf

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// A descriptor can declare the agent's network keys, vSphere-style: the
// ProductSection validates, carries the ISO transport, and the
// environment built from it round-trips with the agent's keys.
func TestNetworkPropertiesDeclare(t *testing.T) {
	vs := portableCase()
	vs.CDROM = true
	vs.Product = &Product{Product: "Fogkit Appliance", Version: "1.0", Transports: []Transport{TransportISO},
		Properties: NetworkProperties("fogkit")}
	require.NoError(t, Validate(vs, &Options{Profile: VMware}))
	b, err := MarshalBytes(vs, &Options{Profile: VMware})
	require.NoError(t, err)
	for _, k := range []string{PropertyHostname, PropertyIPv4, PropertyNetmask, PropertyGateway, PropertyDNS, PropertySearch} {
		require.Contains(t, string(b), `ovf:key="`+k+`"`)
	}
	env, err := NewEnvironment(vs, map[string]string{PropertyIPv4: "192.0.2.10/24", PropertyDNS: "192.0.2.53"})
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, WriteEnvironment(&buf, env))
	got, err := ParseEnvironment(&buf, nil)
	require.NoError(t, err)
	v, _ := got.Value(PropertyIPv4)
	require.Equal(t, "192.0.2.10/24", v)
	v, _ = got.Value(PropertyHostname)
	require.Equal(t, "fogkit", v, "the default reaches the guest")
	v, ok := got.Value(PropertyGateway)
	require.True(t, ok)
	require.Empty(t, v)
}

// The document vSphere hands a guest (indented, namespace declarations in
// its own order, vCenter id) parses into the keys the agent reads.
func TestParseEnvironmentVSphereNetwork(t *testing.T) {
	f, err := os.Open("testdata/vsphere-network-env.xml")
	require.NoError(t, err)
	defer f.Close()
	env, err := ParseEnvironment(f, nil)
	require.NoError(t, err)
	require.Equal(t, "vm-1043", env.VCenterID)
	require.Equal(t, "VMware ESXi", env.Platform.Kind)
	want := map[string]string{PropertyDNS: "192.0.2.53, 192.0.2.54", PropertyGateway: "192.0.2.1", PropertyHostname: "fogkit-lab-01",
		PropertyIPv4: "192.0.2.10", PropertyNetmask: "255.255.255.0", PropertySearch: "lab.example"}
	require.Len(t, env.Properties, len(want))
	for k, w := range want {
		v, ok := env.Value(k)
		require.True(t, ok, k)
		require.Equal(t, w, v, k)
	}
	require.Equal(t, []EnvAdapter{{MAC: "00:50:56:8e:12:34", Network: "DVS-Lab", UnitNumber: 7}}, env.Adapters)
}
