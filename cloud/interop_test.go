package cloud_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/cloud"
	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/ova"
)

// Images qemu-img writes from the same raw disk get the same verdicts as
// fogkit's: Check does not depend on fogkit's own layouts.
func TestQemuImgImages(t *testing.T) {
	qemu := testutil.RequireTool(t, "qemu-img")
	dir := t.TempDir()
	raw := filepath.Join(dir, "disk.raw")
	require.NoError(t, os.WriteFile(raw, uefiDisk(t), 0o644))
	nofb := filepath.Join(dir, "nofb.raw")
	require.NoError(t, os.WriteFile(nofb, noFallback(t, uefiDisk(t)), 0o644))
	type want struct{ aws, azure []string }
	for _, tc := range []struct {
		name, src, format, sub string
		args                   []string
		want                   want
	}{
		{"fixed.vhd", raw, "vhd", "fixed", []string{"-O", "vpc", "-o", "subformat=fixed,force_size"},
			want{[]string{}, []string{}}},
		{"nofb.vhd", nofb, "vhd", "fixed", []string{"-O", "vpc", "-o", "subformat=fixed,force_size"},
			want{[]string{"aws.uefi.fallback"}, []string{"azure.uefi.fallback"}}},
		{"dynamic.vhd", raw, "vhd", "dynamic", []string{"-O", "vpc", "-o", "subformat=dynamic,force_size"},
			want{[]string{}, []string{"azure.type"}}},
		{"disk.vhdx", raw, "vhdx", "", []string{"-O", "vhdx"},
			want{[]string{}, []string{"azure.format"}}},
		{"disk.qcow2", raw, "qcow2", "v3", []string{"-O", "qcow2"},
			want{[]string{"aws.format"}, []string{"azure.format"}}},
		{"stream.vmdk", raw, "vmdk", "streamOptimized", []string{"-O", "vmdk", "-o", "subformat=streamOptimized"},
			want{[]string{}, []string{"azure.format"}}},
		{"sparse.vmdk", raw, "vmdk", "monolithicSparse", []string{"-O", "vmdk"},
			want{[]string{"aws.format"}, []string{"azure.format"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name)
			args := append([]string{"convert", "-f", "raw"}, tc.args...)
			testutil.MustRun(t, dir, nil, qemu, append(args, tc.src, out)...)
			for target, want := range map[cloud.Target][]string{cloud.AWS: tc.want.aws, cloud.Azure: tc.want.azure} {
				rep, err := cloud.CheckFile(t.Context(), target, out, nil)
				require.NoError(t, err)
				assert.Equal(t, want, rules(rep), "%s: %v", target, rep.Findings)
				assert.Equal(t, tc.format, rep.Format)
				assert.Equal(t, tc.sub, rep.Subformat)
				if tc.sub == "monolithicSparse" {
					// fogkit reads streamOptimized VMDKs only.
					assert.Nil(t, rep.Boot)
					assert.Len(t, rep.Unchecked, 1)
					continue
				}
				assert.Equal(t, "uefi", rep.Firmware)
			}
		})
	}
}

// GNU tar's own GCE archive (the command Google documents) passes; the
// same disk not padded to a GiB breaks the size rule.
func TestGNUTarArchive(t *testing.T) {
	gnutar := testutil.RequireTool(t, "tar")
	for _, tc := range []struct {
		name string
		pad  bool
		want []string
	}{
		{"padded", true, []string{}},
		{"unpadded", false, []string{"gce.size.gib"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			raw := filepath.Join(dir, "disk.raw")
			require.NoError(t, os.WriteFile(raw, uefiDisk(t), 0o644))
			if tc.pad {
				require.NoError(t, os.Truncate(raw, 1<<30))
			}
			arc := filepath.Join(dir, "image.tar.gz")
			testutil.MustRun(t, dir, nil, gnutar, "--format=oldgnu", "-Sczf", arc, "disk.raw")
			rep, err := cloud.CheckFile(t.Context(), cloud.GCP, arc, nil)
			require.NoError(t, err)
			assert.Equal(t, tc.want, rules(rep), "%v", rep.Findings)
			assert.Equal(t, "gce", rep.Format)
			assert.Equal(t, "uefi", rep.Firmware)
			assert.Equal(t, &cloud.Boot{PartitionTable: "gpt", ESP: true, Fallback: true}, rep.Boot)
		})
	}
}

// An OVA whose disk qemu-img wrote as a monolithicSparse VMDK: AWS wants
// streamOptimized disks in an OVA too.
func TestOVAWithSparseVMDK(t *testing.T) {
	qemu := testutil.RequireTool(t, "qemu-img")
	dir := t.TempDir()
	raw := filepath.Join(dir, "disk.raw")
	require.NoError(t, os.WriteFile(raw, mbrDisk(), 0o644))
	sparse := filepath.Join(dir, "disk1.vmdk")
	testutil.MustRun(t, dir, nil, qemu, "convert", "-f", "raw", "-O", "vmdk", raw, sparse)
	v, err := os.ReadFile(sparse)
	require.NoError(t, err)
	var b bytes.Buffer
	_, err = ova.Write(t.Context(), &b, []byte(fmt.Sprintf(ovfDescriptor, len(v))), []ova.File{ova.BytesFile("disk1.vmdk", v)}, &ova.Options{Name: "demo", NoDescriptorCheck: true})
	require.NoError(t, err)
	rep, err := cloud.Check(t.Context(), cloud.AWS, bytes.NewReader(b.Bytes()), int64(b.Len()), nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"aws.format"}, rules(rep), "%v", rep.Findings)
	assert.Equal(t, "monolithicSparse", rep.Subformat)
	assert.Contains(t, rep.Findings[0].Detail, "disk1.vmdk")
	assert.Len(t, rep.Unchecked, 1)
}
