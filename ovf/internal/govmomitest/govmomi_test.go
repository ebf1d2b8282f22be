package govmomitest_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fogkit/fogkit/ovf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	govmomi "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/vim25/types"
)

// TestGovmomiConfigSpec has govmomi, VMware's own Go SDK, read every golden
// descriptor and turn it into the vSphere VM config it would deploy, and
// checks that it agrees with ovf's own reading of the file.
func TestGovmomiConfigSpec(t *testing.T) {
	t.Log("interop: govmomi ovf.Unmarshal + Envelope.ToConfigSpec")
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "*.ovf"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".ovf"), func(t *testing.T) {
			// The committed golden file itself (ovf's TestGolden keeps it
			// equal to Marshal's output for its test model).
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			ours, err := ovf.Parse(bytes.NewReader(data), nil)
			require.NoError(t, err)
			n, err := ours.VirtualSystem()
			require.NoError(t, err)
			if n.ID == "" { // the model's rule: the id defaults to the name
				n.ID = n.Name
			}
			vs := n
			env, err := govmomi.Unmarshal(bytes.NewReader(data))
			require.NoError(t, err)
			spec, err := env.ToConfigSpecWithOptions(govmomi.ToConfigSpecOptions{Strict: true})
			require.NoError(t, err)

			assert.Equal(t, n.ID, spec.Name)
			assert.Equal(t, int32(vs.CPUs), spec.NumCPUs)
			assert.Equal(t, vs.MemoryMiB, spec.MemoryMB)
			assert.Equal(t, n.HardwareVersion, spec.Version)
			assert.Equal(t, vs.OS.VMware, spec.GuestId)
			wantFW := ""
			if vs.Firmware == ovf.EFI {
				wantFW = "efi"
			}
			assert.Equal(t, wantFW, spec.Firmware)

			var (
				ctrl  []string
				disks []*types.VirtualDisk
				nics  []string
				cds   int
			)
			for _, dc := range spec.DeviceChange {
				switch d := dc.GetVirtualDeviceConfigSpec().Device.(type) {
				case *types.VirtualLsiLogicController:
					ctrl = append(ctrl, "lsilogic")
				case *types.ParaVirtualSCSIController:
					ctrl = append(ctrl, "pvscsi")
				case *types.VirtualLsiLogicSASController:
					ctrl = append(ctrl, "lsilogicsas")
				case *types.VirtualAHCIController:
					ctrl = append(ctrl, "sata")
				case *types.VirtualNVMEController:
					ctrl = append(ctrl, "nvme")
				case *types.VirtualIDEController:
					ctrl = append(ctrl, "ide")
				case *types.VirtualDisk:
					disks = append(disks, d)
				case *types.VirtualCdrom:
					cds++
				case *types.VirtualE1000:
					nics = append(nics, "E1000")
				case *types.VirtualE1000e:
					nics = append(nics, "E1000e")
				case *types.VirtualVmxnet3:
					nics = append(nics, "VmxNet3")
				default:
					t.Errorf("unexpected device %T", d)
				}
			}
			wantCtrl := []string{string(n.Controller)}
			if vs.CDROM {
				wantCtrl = append(wantCtrl, "ide")
				assert.Equal(t, 1, cds)
			}
			assert.Equal(t, wantCtrl, ctrl)
			// govmomi deploys the default configuration: the disks of
			// every configuration and those tagged with the default.
			def, err := vs.ForConfiguration("")
			require.NoError(t, err)
			require.Len(t, disks, len(def.Disks))
			for i, d := range disks {
				assert.Equal(t, def.Disks[i].Capacity, d.CapacityInBytes, "disk %d", i)
				b, ok := d.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
				require.True(t, ok)
				assert.Equal(t, def.Disks[i].Href, b.FileName)
			}
			var wantNICs []string
			for _, nic := range n.NICs {
				wantNICs = append(wantNICs, string(nic.Adapter))
			}
			assert.Equal(t, wantNICs, nics)

			if vs.Product != nil {
				require.NotNil(t, spec.VAppConfig)
				va := spec.VAppConfig.GetVmConfigSpec()
				require.NotNil(t, env.VirtualSystem.VirtualHardware[0].Transport)
				assert.Equal(t, "com.vmware.guestInfo iso", *env.VirtualSystem.VirtualHardware[0].Transport)
				require.Len(t, va.Property, len(vs.Product.Properties))
				for i, p := range va.Property {
					want := vs.Product.Properties[i]
					assert.Equal(t, want.Key, p.Info.Id)
					if want.Type == "boolean" {
						assert.True(t, strings.EqualFold(want.Default, p.Info.DefaultValue), "%s=%s", want.Key, p.Info.DefaultValue)
					} else {
						assert.Equal(t, want.Default, p.Info.DefaultValue)
					}
					assert.Equal(t, want.Label, p.Info.Label)
					assert.Equal(t, want.UserConfigurable, *p.Info.UserConfigurable)
				}
				assert.Equal(t, vs.Product.Product, va.Product[0].Info.Name)
				assert.Equal(t, vs.Product.Vendor, va.Product[0].Info.Vendor)
			}
		})
	}
}
