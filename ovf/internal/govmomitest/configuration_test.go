package govmomitest_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/ovf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	govmomi "github.com/vmware/govmomi/ovf"
)

// TestGovmomiDeploymentOptions has govmomi read the multi-flavour golden
// descriptor: it sees every DeploymentOptionSection configuration and the
// default, and deploys each configuration with that flavour's CPUs and
// memory and the same devices.
func TestGovmomiDeploymentOptions(t *testing.T) {
	t.Log("interop: govmomi ovf.Unmarshal + ToConfigSpecWithOptions(DeploymentConfiguration)")
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "flavours.ovf"))
	require.NoError(t, err)
	ours, err := ovf.Parse(bytes.NewReader(data), nil)
	require.NoError(t, err)
	vs, err := ours.VirtualSystem()
	require.NoError(t, err)
	require.Len(t, vs.Configurations, 3)

	env, err := govmomi.Unmarshal(bytes.NewReader(data))
	require.NoError(t, err)
	require.NotNil(t, env.DeploymentOption)
	require.Len(t, env.DeploymentOption.Configuration, len(vs.Configurations))
	for i, c := range env.DeploymentOption.Configuration {
		want := vs.Configurations[i]
		assert.Equal(t, want.ID, c.ID)
		assert.Equal(t, want.Label, c.Label)
		assert.Equal(t, want.Description, c.Description)
		assert.Equal(t, want.Default, c.Default != nil && *c.Default, c.ID)
	}

	def, err := env.ToConfigSpecWithOptions(govmomi.ToConfigSpecOptions{Strict: true})
	require.NoError(t, err)
	assert.Equal(t, int32(vs.CPUs), def.NumCPUs)
	assert.Equal(t, vs.MemoryMiB, def.MemoryMB)
	for _, c := range vs.Configurations {
		spec, err := env.ToConfigSpecWithOptions(govmomi.ToConfigSpecOptions{Strict: true, DeploymentConfiguration: c.ID})
		require.NoError(t, err, c.ID)
		assert.Equal(t, int32(c.CPUs), spec.NumCPUs, c.ID)
		assert.Equal(t, c.MemoryMiB, spec.MemoryMB, c.ID)
		assert.Len(t, spec.DeviceChange, len(def.DeviceChange), c.ID)
	}
	_, err = env.ToConfigSpecWithOptions(govmomi.ToConfigSpecOptions{DeploymentConfiguration: "huge"})
	require.Error(t, err)

	// A single-flavour descriptor for the same configuration deploys the
	// same machine.
	for _, c := range vs.Configurations {
		one, err := vs.ForConfiguration(c.ID)
		require.NoError(t, err)
		b, err := ovf.MarshalBytes(one, nil)
		require.NoError(t, err)
		e1, err := govmomi.Unmarshal(bytes.NewReader(b))
		require.NoError(t, err)
		assert.Nil(t, e1.DeploymentOption)
		spec, err := e1.ToConfigSpecWithOptions(govmomi.ToConfigSpecOptions{Strict: true})
		require.NoError(t, err)
		assert.Equal(t, int32(c.CPUs), spec.NumCPUs, c.ID)
		assert.Equal(t, c.MemoryMiB, spec.MemoryMB, c.ID)
	}
}

// TestGovmomiFixtureDeploymentOptions reads govmomi's own multi-
// configuration descriptors (its fixture and VMware's vCenter appliance)
// with ovf and checks that each configuration gets the CPUs and memory
// govmomi deploys it with.
func TestGovmomiFixtureDeploymentOptions(t *testing.T) {
	fixtures := govmomiFixtures(t)
	for _, name := range []string{"deployment-configs.ovf", "vmware/VMware-vCenter-Server-Appliance-9.1.0.0.25262036_OVF10.ovf"} {
		t.Run(filepath.Base(name), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(fixtures, name))
			if os.IsNotExist(err) {
				t.Skipf("%s not in this govmomi version", name)
			}
			require.NoError(t, err)
			ours, err := ovf.Parse(bytes.NewReader(data), nil)
			require.NoError(t, err)
			vs, err := ours.VirtualSystem()
			require.NoError(t, err)
			env, err := govmomi.Unmarshal(bytes.NewReader(data))
			require.NoError(t, err)
			require.NotNil(t, env.DeploymentOption)
			require.Len(t, vs.Configurations, len(env.DeploymentOption.Configuration))
			t.Logf("%d configurations", len(vs.Configurations))
			for i, c := range vs.Configurations {
				assert.Equal(t, env.DeploymentOption.Configuration[i].ID, c.ID)
				spec, err := env.ToConfigSpecWithOptions(govmomi.ToConfigSpecOptions{DeploymentConfiguration: c.ID})
				if err != nil {
					t.Logf("%s: govmomi: %v", c.ID, err)
					continue
				}
				assert.Equal(t, int32(c.CPUs), spec.NumCPUs, c.ID)
				assert.Equal(t, c.MemoryMiB, spec.MemoryMB, c.ID)
			}
		})
	}
}

// govmomiFixtures returns the directory of govmomi's OVF fixtures.
func govmomiFixtures(t *testing.T) string {
	t.Helper()
	goBin := testutil.RequireGo(t)
	out, err := exec.Command(goBin, "list", "-m", "-f", "{{.Dir}}", "github.com/vmware/govmomi").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		testutil.Missing(t, "govmomi module directory not found")
		return ""
	}
	return testutil.RequireFile(t, "govmomi ovf fixtures", filepath.Join(dir, "ovf", "fixtures"))
}
