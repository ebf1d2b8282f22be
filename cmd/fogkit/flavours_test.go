package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	govmomi "github.com/vmware/govmomi/ovf"

	"github.com/fogkit/fogkit/appliance"
	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/ovf"
)

// TestFlavoursWalkthrough is README's multi-flavour walkthrough, with the
// CLI only: keys create, build -f examples/flavours.yaml (its kernel block
// left out, so it runs without one), verify, inspect. Each flavour's OVA
// has its hardware; the combined OVA's descriptor passes xmllint with the
// DMTF schema and govmomi deploys each of its configurations with that
// flavour's CPUs, memory and data disk; a flipped byte in any flavour OVA
// makes verify refuse the build.
func TestFlavoursWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo appliance")
	}
	work := t.TempDir()
	keys, out := filepath.Join(work, "keys"), filepath.Join(work, "out")
	ok(t, "keys", "create", keys)
	spec := noKernelSpec(t, work, "flavours.yaml")
	r := fogkitIn(t, "", []string{"SOURCE_DATE_EPOCH=" + testEpoch}, "build", "-json", "-f", spec, "-keys", keys, "-out", out)
	require.Equal(t, exitOK, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	var rec appliance.Record
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rec))
	d := digests(&rec)
	for _, f := range []string{"fogdemo.ova", "fogdemo-small.ova", "fogdemo-medium.ova", "fogdemo-large.ova",
		"fogdemo" + appliance.CombinedOVASuffix, "fogdemo" + appliance.SBOMSuffix, "fogdemo" + appliance.ProvenanceSuffix} {
		assert.Contains(t, d, f)
	}
	assert.Contains(t, ok(t, "verify", out), "outputs verified")

	// Each flavour's own OVA: its CPUs, memory and data disk.
	want := map[string]struct {
		cpus      int
		mem, data int64
	}{"small": {2, 2048, 20 << 30}, "medium": {4, 8192, 100 << 30}, "large": {8, 16384, 500 << 30}}
	for name, w := range want {
		desc := ovaMember(t, filepath.Join(out, "fogdemo-"+name+".ova"), ".ovf")
		env, err := ovf.Parse(bytes.NewReader(desc), nil)
		require.NoError(t, err, name)
		vs, err := env.VirtualSystem()
		require.NoError(t, err, name)
		assert.Equal(t, w.cpus, vs.CPUs, name)
		assert.Equal(t, w.mem, vs.MemoryMiB, name)
		require.Len(t, vs.Disks, 2, name)
		assert.Equal(t, w.data, vs.Disks[1].Capacity, name)
		var insp struct {
			Kind string `json:"kind"`
		}
		require.NoError(t, json.Unmarshal([]byte(ok(t, "inspect", "-json", filepath.Join(out, "fogdemo-"+name+".ova"))), &insp))
		assert.Equal(t, "ova", insp.Kind)
	}

	// The combined OVA: the DMTF schema, then govmomi.
	combined := ovaMember(t, filepath.Join(out, "fogdemo"+appliance.CombinedOVASuffix), ".ovf")
	xmllint := testutil.RequireTool(t, "xmllint")
	xsd := filepath.Join(testutil.SharedDir(t), "xsd")
	schema := testutil.RequireFile(t, "OVF schema", filepath.Join(xsd, "dsp8023_1.1.1.xsd"))
	descPath := filepath.Join(work, "flavours.ovf")
	require.NoError(t, os.WriteFile(descPath, combined, 0o644))
	res := testutil.Run(t, xsd, nil, xmllint, "--noout", "--nonet", "--schema", schema, descPath)
	require.Equal(t, 0, res.ExitCode, "xmllint: %s", res.Stderr)
	assert.Contains(t, string(res.Stderr), "validates")

	env, err := govmomi.Unmarshal(bytes.NewReader(combined))
	require.NoError(t, err)
	require.NotNil(t, env.DeploymentOption)
	var ids []string
	for _, c := range env.DeploymentOption.Configuration {
		ids = append(ids, c.ID)
	}
	assert.Equal(t, []string{"small", "medium", "large"}, ids)
	for name, w := range want {
		cs, err := env.ToConfigSpecWithOptions(govmomi.ToConfigSpecOptions{Strict: true, DeploymentConfiguration: name})
		require.NoError(t, err, name)
		assert.Equal(t, int32(w.cpus), cs.NumCPUs, name)
		assert.Equal(t, w.mem, cs.MemoryMB, name)
	}
	// Each configuration attaches exactly its own blank data disk.
	items := env.VirtualSystem.VirtualHardware[0].Item
	for name, w := range want {
		var disks []string
		for _, it := range items {
			if it.ResourceType == nil || *it.ResourceType != 17 {
				continue
			}
			if it.Configuration != nil && !strings.Contains(" "+*it.Configuration+" ", " "+name+" ") {
				continue
			}
			require.NotEmpty(t, it.HostResource, name)
			disks = append(disks, it.HostResource[0])
		}
		assert.Equal(t, []string{"ovf:/disk/boot", "ovf:/disk/data-" + name}, disks, name)
		for _, dk := range env.Disk.Disks {
			if dk.DiskID == "data-"+name {
				assert.Nil(t, dk.FileRef, "a blank disk has no file")
				assert.Equal(t, w.data, capacityBytes(t, dk.Capacity, dk.CapacityAllocationUnits), name)
			}
		}
	}

	// inspect shows what an admin importing it gets.
	text := ok(t, "inspect", filepath.Join(out, "fogdemo"+appliance.CombinedOVASuffix))
	assert.Contains(t, text, "flavour small (default): 2 CPUs, 2048 MiB memory")
	assert.Contains(t, text, "disk data-large   500 GiB (blank, made at import), flavour large")

	// A flipped byte in any flavour OVA: verify refuses the build.
	for _, f := range []string{"fogdemo-medium.ova", "fogdemo" + appliance.CombinedOVASuffix} {
		tampered := filepath.Join(work, "tampered-"+f)
		require.NoError(t, os.CopyFS(tampered, os.DirFS(out)))
		p := filepath.Join(tampered, f)
		require.NoError(t, os.Rename(flipByte(t, p, 3000), p))
		exits(t, exitRefused, "verify", tampered)
	}
}

// ovaMember returns the first member of an OVA whose name ends in suffix.
func ovaMember(t *testing.T, path, suffix string) []byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		require.NoError(t, err, "%s has no *%s", path, suffix)
		if strings.HasSuffix(h.Name, suffix) {
			b, err := io.ReadAll(tr)
			require.NoError(t, err)
			return b
		}
	}
}

func capacityBytes(t *testing.T, capacity string, units *string) int64 {
	t.Helper()
	d := ovf.DiskInfo{Capacity: capacity}
	if units != nil {
		d.CapacityUnits = *units
	}
	n, err := d.CapacityBytes()
	require.NoError(t, err)
	return n
}
