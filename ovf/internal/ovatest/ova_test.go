package ovatest_test

import (
	"bytes"
	"testing"

	"github.com/fogkit/fogkit/ova"
	"github.com/fogkit/fogkit/ovf"
	"github.com/fogkit/fogkit/vmdk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOVAFlavourDisks: an OVA whose descriptor has a boot disk with a file
// and a blank data disk per flavour holds the boot VMDK only; ova.Write
// checks it against the descriptor and ova.Verify accepts the archive,
// and the descriptor read back from it passes ovf's linter.
func TestOVAFlavourDisks(t *testing.T) {
	const href = "acme-boot.vmdk"
	var boot bytes.Buffer
	res, err := vmdk.WriteEmpty(t.Context(), &boot, 64<<20, &vmdk.Options{FileName: href, AdapterType: "lsilogic"})
	require.NoError(t, err)
	vs := &ovf.VirtualSystem{
		Name:      "acme",
		OS:        ovf.OSDebian64,
		CPUs:      2,
		MemoryMiB: 2048,
		Disks: []ovf.Disk{
			{ID: "boot", Href: href, FileSize: res.Size, Capacity: res.Capacity},
			{ID: "data-small", Capacity: 20 << 30, Configurations: []string{"small"}},
			{ID: "data-medium", Capacity: 100 << 30, Configurations: []string{"medium"}},
			{ID: "data-large", Capacity: 500 << 30, Configurations: []string{"large"}},
		},
		NICs:     []ovf.NIC{{Network: "VM Network"}},
		Networks: []ovf.Network{{Name: "VM Network"}},
		Configurations: []ovf.Configuration{
			{ID: "small", CPUs: 1, MemoryMiB: 1024},
			{ID: "medium", Default: true},
			{ID: "large", CPUs: 8, MemoryMiB: 16384},
		},
	}
	desc, err := ovf.MarshalBytes(vs, nil)
	require.NoError(t, err)

	var out bytes.Buffer
	_, err = ova.Write(t.Context(), &out, desc, []ova.File{ova.BytesFile(href, boot.Bytes())}, &ova.Options{Name: "acme"})
	require.NoError(t, err)
	rep, err := ova.Verify(t.Context(), bytes.NewReader(out.Bytes()), &ova.VerifyOptions{AllowUnsigned: true})
	require.NoError(t, err)
	assert.Equal(t, []string{href}, rep.References)

	env, err := ovf.Parse(bytes.NewReader(desc), nil)
	require.NoError(t, err)
	require.NoError(t, env.Validate(nil))

	// The boot disk is still checked against its VMDK.
	vs.Disks[0].Capacity *= 2
	desc, err = ovf.MarshalBytes(vs, nil)
	require.NoError(t, err)
	_, err = ova.Write(t.Context(), &bytes.Buffer{}, desc, []ova.File{ova.BytesFile(href, boot.Bytes())}, &ova.Options{Name: "acme"})
	require.ErrorIs(t, err, ova.ErrDiskMismatch)
}
