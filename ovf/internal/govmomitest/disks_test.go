package govmomitest_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/fogkit/fogkit/ovf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	govmomi "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/vim25/types"
)

// TestGovmomiFlavourDisks has govmomi read the combined descriptor (a boot
// disk with a file, one blank data disk per flavour): it sees the
// deployment options, the blank disks without a fileRef, the disk items'
// ovf:configuration, and deploys each configuration with the boot disk
// and that flavour's data disk only, of that flavour's capacity.
func TestGovmomiFlavourDisks(t *testing.T) {
	t.Log("interop: govmomi ovf.Unmarshal + ToConfigSpecWithOptions(DeploymentConfiguration) on blank per-flavour disks")
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "flavour-disks.ovf"))
	require.NoError(t, err)
	ours, err := ovf.Parse(bytes.NewReader(data), nil)
	require.NoError(t, err)
	require.NoError(t, ours.Validate(nil))
	vs, err := ours.VirtualSystem()
	require.NoError(t, err)
	require.Len(t, vs.Disks, 4)

	env, err := govmomi.Unmarshal(bytes.NewReader(data))
	require.NoError(t, err)
	require.NotNil(t, env.DeploymentOption)
	var ids []string
	for _, c := range env.DeploymentOption.Configuration {
		ids = append(ids, c.ID)
	}
	assert.Equal(t, []string{"small", "medium", "large"}, ids)

	// The DiskSection: only the boot disk has a file.
	require.NotNil(t, env.Disk)
	require.Len(t, env.Disk.Disks, 4)
	for i, d := range env.Disk.Disks {
		assert.Equal(t, vs.Disks[i].ID, d.DiskID)
		if vs.Disks[i].Href == "" {
			assert.Nil(t, d.FileRef, d.DiskID)
		} else {
			require.NotNil(t, d.FileRef, d.DiskID)
			assert.Equal(t, vs.Disks[i].FileID, *d.FileRef)
		}
	}
	require.Len(t, env.References, 1)

	// Which disk items carry which configuration.
	tagged := map[string]string{}
	for _, it := range env.VirtualSystem.VirtualHardware[0].Item {
		if it.ResourceType == nil || *it.ResourceType != 17 {
			continue
		}
		require.Len(t, it.HostResource, 1)
		conf := ""
		if it.Configuration != nil {
			conf = *it.Configuration
		}
		tagged[it.HostResource[0]] = conf
	}
	assert.Equal(t, map[string]string{
		"ovf:/disk/boot": "", "ovf:/disk/data-small": "small",
		"ovf:/disk/data-medium": "medium", "ovf:/disk/data-large": "large",
	}, tagged)

	for _, c := range vs.Configurations {
		spec, err := env.ToConfigSpecWithOptions(govmomi.ToConfigSpecOptions{Strict: true, DeploymentConfiguration: c.ID})
		require.NoError(t, err, c.ID)
		assert.Equal(t, int32(c.CPUs), spec.NumCPUs, c.ID)
		assert.Equal(t, c.MemoryMiB, spec.MemoryMB, c.ID)
		one, err := vs.ForConfiguration(c.ID)
		require.NoError(t, err)
		require.Len(t, one.Disks, 2, c.ID)
		assert.Equal(t, "data-"+c.ID, one.Disks[1].ID)
		var got []*types.VirtualDisk
		for _, dc := range spec.DeviceChange {
			if d, ok := dc.GetVirtualDeviceConfigSpec().Device.(*types.VirtualDisk); ok {
				got = append(got, d)
			}
		}
		require.Len(t, got, 2, c.ID)
		for i, d := range got {
			assert.Equal(t, one.Disks[i].Capacity, d.CapacityInBytes, "%s disk %d", c.ID, i)
			b, ok := d.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
			require.True(t, ok)
			// govmomi names file-backed disks after their file; a blank
			// disk gets no name and is created empty.
			assert.Equal(t, one.Disks[i].Href, b.FileName, "%s disk %d", c.ID, i)
		}
		assert.NotEqual(t, got[0].UnitNumber, got[1].UnitNumber, c.ID)

		// The single-flavour descriptor deploys the same disks.
		b, err := ovf.MarshalBytes(one, nil)
		require.NoError(t, err)
		e1, err := govmomi.Unmarshal(bytes.NewReader(b))
		require.NoError(t, err)
		assert.Nil(t, e1.DeploymentOption)
		s1, err := e1.ToConfigSpecWithOptions(govmomi.ToConfigSpecOptions{Strict: true})
		require.NoError(t, err)
		var caps []int64
		for _, dc := range s1.DeviceChange {
			if d, ok := dc.GetVirtualDeviceConfigSpec().Device.(*types.VirtualDisk); ok {
				caps = append(caps, d.CapacityInBytes)
			}
		}
		assert.Equal(t, []int64{one.Disks[0].Capacity, one.Disks[1].Capacity}, caps, c.ID)
	}
}

// TestGovmomiDiskConfigurationList records how govmomi reads a disk item
// naming several configurations ("small large"): it compares
// ovf:configuration as a whole string, so such a disk is attached in no
// configuration there, though DSP0243 (and vSphere) read it as a list.
// One disk per configuration, as the combined appliance has, reads the
// same everywhere.
func TestGovmomiDiskConfigurationList(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "flavour-disks.ovf"))
	require.NoError(t, err)
	ours, err := ovf.Parse(bytes.NewReader(data), nil)
	require.NoError(t, err)
	vs, err := ours.VirtualSystem()
	require.NoError(t, err)
	vs.Disks[1].Configurations = []string{"small", "large"}
	vs.Disks = vs.Disks[:2]
	b, err := ovf.MarshalBytes(vs, nil)
	require.NoError(t, err)
	require.Contains(t, string(b), `<Item ovf:configuration="small large">`)
	env, err := govmomi.Unmarshal(bytes.NewReader(b))
	require.NoError(t, err)
	for _, id := range []string{"small", "large"} {
		spec, err := env.ToConfigSpecWithOptions(govmomi.ToConfigSpecOptions{Strict: true, DeploymentConfiguration: id})
		require.NoError(t, err, id)
		n := 0
		for _, dc := range spec.DeviceChange {
			if _, ok := dc.GetVirtualDeviceConfigSpec().Device.(*types.VirtualDisk); ok {
				n++
			}
		}
		assert.Equal(t, 1, n, "%s: govmomi now reads ovf:configuration as a list: update Disk.Configurations' comment", id)
	}
}

// TestGovmomiFixtureFlavourDisks reads govmomi's fixtures whose disks are
// tagged with one configuration each: for every configuration, the disks
// ovf's model keeps (ForConfiguration) are the ones govmomi deploys, with
// the same capacities.
func TestGovmomiFixtureFlavourDisks(t *testing.T) {
	fixtures := govmomiFixtures(t)
	for _, name := range []string{"deployment-configs.ovf", "multiple_disks.ovf"} {
		t.Run(name, func(t *testing.T) {
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
			tagged := 0
			for _, d := range vs.Disks {
				if d.Configurations != nil {
					tagged++
				}
			}
			require.Positive(t, tagged, "the fixture has per-configuration disks")
			for _, c := range vs.Configurations {
				one, err := vs.ForConfiguration(c.ID)
				require.NoError(t, err)
				var want []int64
				for _, d := range one.Disks {
					want = append(want, d.Capacity)
				}
				spec, err := env.ToConfigSpecWithOptions(govmomi.ToConfigSpecOptions{DeploymentConfiguration: c.ID})
				require.NoError(t, err, c.ID)
				var got []int64
				for _, dc := range spec.DeviceChange {
					if d, ok := dc.GetVirtualDeviceConfigSpec().Device.(*types.VirtualDisk); ok {
						got = append(got, d.CapacityInBytes)
					}
				}
				assert.Equal(t, want, got, c.ID)
			}
		})
	}
}
