package appliance_test

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/appliance"
	"github.com/fogkit/fogkit/ovf"
)

func flavourSpec() *appliance.Spec {
	s := testSpec()
	s.CPUs, s.MemoryMiB = 2, 2048
	s.Flavours = []appliance.Flavour{
		{Name: "small", CPUs: 1, MemoryMiB: 1024, DataSize: 32 << 20},
		{Name: "medium"}, // the spec's own hardware: shares its data VMDK
		{Name: "large", CPUs: 8, MemoryMiB: 16384, DataSize: 96 << 20},
	}
	return s
}

// ovaDescriptor reads the descriptor out of an OVA (a tar whose first
// member is the .ovf) and converts it to the model.
func ovaDescriptor(t *testing.T, path string) (*ovf.Envelope, []string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	tr := tar.NewReader(f)
	var names []string
	var env *ovf.Envelope
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		names = append(names, h.Name)
		if strings.HasSuffix(h.Name, ".ovf") {
			env, err = ovf.Parse(tr, nil)
			require.NoError(t, err)
		}
	}
	require.NotNil(t, env, "%s holds no descriptor", path)
	return env, names
}

// TestFlavours builds an appliance with three flavours: one signed OVA
// each, with the flavour's CPUs, memory and data disk size and the same
// boot disk; the base OVA keeps the spec's hardware; Verify checks every
// OVA; no temporary file is left; two builds are byte-identical.
func TestFlavours(t *testing.T) {
	dir := t.TempDir()
	rec := build(t, dir, flavourSpec())
	names := outputNames(rec)
	for _, f := range []string{"acme.ova", "acme-small.ova", "acme-medium.ova", "acme-large.ova"} {
		assert.Contains(t, names, f)
	}
	assert.NotContains(t, names, "acme"+appliance.CombinedOVASuffix)
	assert.NotContains(t, names, "acme-small-data.vmdk", "a flavour's own data disk is only in its OVA")
	left, err := filepath.Glob(filepath.Join(dir, "*partial*"))
	require.NoError(t, err)
	assert.Empty(t, left, "temporary files left behind")
	require.NoError(t, rec.Verify(t.Context(), dir))

	boot, err := os.ReadFile(filepath.Join(dir, "acme-boot.vmdk"))
	require.NoError(t, err)
	for _, c := range []struct {
		ova    string
		cpus   int
		mem    int64
		data   int64
		member string // the OVA's own name: acme-small.ovf ...
	}{
		{"acme.ova", 2, 2048, 64 << 20, "acme"},
		{"acme-small.ova", 1, 1024, 32 << 20, "acme-small"},
		{"acme-medium.ova", 2, 2048, 64 << 20, "acme-medium"},
		{"acme-large.ova", 8, 16384, 96 << 20, "acme-large"},
	} {
		env, members := ovaDescriptor(t, filepath.Join(dir, c.ova))
		assert.Equal(t, []string{c.member + ".ovf", c.member + ".mf", c.member + ".cert", "acme-boot.vmdk", "acme-data.vmdk"}, members, c.ova)
		vs, err := env.VirtualSystem()
		require.NoError(t, err, c.ova)
		assert.Equal(t, c.cpus, vs.CPUs, c.ova)
		assert.Equal(t, c.mem, vs.MemoryMiB, c.ova)
		require.Len(t, vs.Disks, 2, c.ova)
		assert.Equal(t, c.data, vs.Disks[1].Capacity, c.ova)
		assert.Empty(t, env.Configurations, c.ova)
		// Every flavour ships the same boot disk.
		assert.Equal(t, int64(len(boot)), vs.Disks[0].FileSize, c.ova)
	}

	// Build twice, same bytes; asking for one flavour writes one.
	again := t.TempDir()
	rec2 := build(t, again, flavourSpec())
	require.Equal(t, rec.Outputs, rec2.Outputs)
	for _, f := range []string{"acme-small.ova", "acme-large.ova", "build.json"} {
		x, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		y, err := os.ReadFile(filepath.Join(again, f))
		require.NoError(t, err)
		require.True(t, bytes.Equal(x, y), "%s differs between two builds", f)
	}
	one := flavourSpec()
	one.FlavourOVAs = []string{"large"}
	one.CombinedOVA = true
	oneDir := t.TempDir()
	oneRec := build(t, oneDir, one)
	names = outputNames(oneRec)
	assert.Contains(t, names, "acme-large.ova")
	assert.NotContains(t, names, "acme-small.ova")
	assert.NotContains(t, names, "acme-medium.ova")
	require.NoError(t, oneRec.Verify(t.Context(), oneDir))

	// The combined OVA: every flavour as a deployment option, the boot
	// disk its only file, a blank data disk per flavour.
	require.Contains(t, names, "acme"+appliance.CombinedOVASuffix)
	env, members := ovaDescriptor(t, filepath.Join(oneDir, "acme"+appliance.CombinedOVASuffix))
	assert.Equal(t, []string{"acme-flavours.ovf", "acme-flavours.mf", "acme-flavours.cert", "acme-boot.vmdk"}, members)
	assert.Equal(t, "small", env.DefaultConfiguration(), "the first flavour is the default")
	vs, err := env.VirtualSystem()
	require.NoError(t, err)
	require.Len(t, vs.Configurations, 3)
	require.Len(t, vs.Disks, 4)
	assert.Equal(t, "acme-boot.vmdk", vs.Disks[0].Href)
	assert.Nil(t, vs.Disks[0].Configurations)
	for i, f := range []struct {
		name string
		cpus int
		mem  int64
		data int64
	}{{"small", 1, 1024, 32 << 20}, {"medium", 2, 2048, 64 << 20}, {"large", 8, 16384, 96 << 20}} {
		c := vs.Configurations[i]
		assert.Equal(t, f.name, c.ID)
		assert.Equal(t, f.cpus, c.CPUs, f.name)
		assert.Equal(t, f.mem, c.MemoryMiB, f.name)
		d := vs.Disks[i+1]
		assert.Equal(t, "data-"+f.name, d.ID)
		assert.Empty(t, d.Href, "a blank disk")
		assert.Equal(t, f.data, d.Capacity, f.name)
		assert.Equal(t, []string{f.name}, d.Configurations)
	}

	// A damaged flavour OVA fails Verify even with its record digest
	// corrected: the OVA's own manifest and signature are checked.
	p := filepath.Join(dir, "acme-small.ova")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	data[len(data)/2] ^= 0xff
	require.NoError(t, os.WriteFile(p, data, 0o644))
	require.Error(t, rec.Verify(t.Context(), dir))
}

func TestFlavourSpecErrors(t *testing.T) {
	s := flavourSpec()
	s.Flavours = append(s.Flavours,
		appliance.Flavour{Name: "small"},
		appliance.Flavour{Name: "flavours"},
		appliance.Flavour{Name: "-x"},
		appliance.Flavour{Name: "tiny", DataSize: 1 << 20},
		appliance.Flavour{Name: "odd", DataSize: 64<<20 + 1},
		appliance.Flavour{Name: "neg", CPUs: -1})
	s.FlavourOVAs = []string{"small", "huge"}
	err := s.Validate()
	require.ErrorIs(t, err, appliance.ErrSpec)
	for _, want := range []string{
		"Flavours[3] (small): listed twice",
		`Flavours[4] (flavours): the name "flavours" is taken by the combined OVA (acme-flavours.ova)`,
		`Flavours[5] (-x): name "-x"`,
		"Flavours[6] (tiny): DataSize 1048576",
		"Flavours[7] (odd): DataSize 67108865 is not a whole number of 512-byte sectors",
		"Flavours[8] (neg): CPUs, MemoryMiB and DataSize must not be negative",
		`FlavourOVAs[1]: no flavour "huge"`,
	} {
		assert.Contains(t, err.Error(), want)
	}

	s = testSpec()
	s.FlavourOVAs, s.CombinedOVA = []string{}, true
	err = s.Validate()
	require.ErrorIs(t, err, appliance.ErrSpec)
	assert.Contains(t, err.Error(), "FlavourOVAs: the spec has no Flavours")
	assert.Contains(t, err.Error(), "CombinedOVA: the spec has no Flavours")

	s = flavourSpec()
	s.Formats = []appliance.Format{appliance.FormatQCOW2}
	require.ErrorContains(t, s.Validate(), `Flavours: flavours are OVAs; add "ova" to Formats`)
}
