package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/ovf"
)

func TestChooseHostname(t *testing.T) {
	ft := newFakeTree(t)
	ft.nic(t, "lo", "00:00:00:00:00:00", true)
	ft.nic(t, "eth1", "52:54:00:aa:bb:cc", true)
	ft.nic(t, "eth0", "52:54:00:5E:1F:0A", false)
	env := envOfValues(ovf.PropertyHostname, "fogkit-lab-01")

	h, src := chooseHostname("explicit", env, "Fogkit Demo", ft.sys)
	require.Equal(t, "explicit", h)
	require.Equal(t, HostnameFromOptions, src)
	h, src = chooseHostname("", env, "Fogkit Demo", ft.sys)
	require.Equal(t, "fogkit-lab-01", h)
	require.Equal(t, HostnameFromOVFEnv, src)
	h, src = chooseHostname("", envOfValues(ovf.PropertyHostname, "bad_name!"), "Fogkit Demo", ft.sys)
	require.Equal(t, "fogkit-demo-5e1f0a", h, "an invalid name falls back; the suffix is the first NIC's by name, carrier or not")
	require.Equal(t, HostnameFromRelease, src)
	h, _ = chooseHostname("", nil, "", newFakeTree(t).sys)
	require.Equal(t, "appliance", h)
	h, _ = chooseHostname("", nil, strings.Repeat("Long Name ", 20), ft.sys)
	require.LessOrEqual(t, len(h), maxHostname)
	require.True(t, validHostname(h), h)
	require.True(t, strings.HasSuffix(h, "-5e1f0a"), h)
}

func TestHostnameHelpers(t *testing.T) {
	require.Equal(t, "acme-vault-2", dnsLabel("  ACME Vault™ 2 "))
	for _, s := range []string{"a", "fogkit-01", "a.b.example", strings.Repeat("a", 63)} {
		require.True(t, validHostname(s), s)
	}
	for _, s := range []string{"", "-a", "a-", "a..b", "a_b", strings.Repeat("a", 64), "é"} {
		require.False(t, validHostname(s), s)
	}
	p := filepath.Join(t.TempDir(), "release")
	require.NoError(t, os.WriteFile(p, []byte("ID=x\nNAME=\"Fogkit Demo\"\nVERSION=1\n"), 0o644))
	require.Equal(t, "Fogkit Demo", releaseName(p))
	require.Equal(t, "", releaseName(p+".missing"))
}
