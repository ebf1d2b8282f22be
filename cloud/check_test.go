package cloud_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/cloud"
	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/qcow2"
)

// Every image made by fogkit's writers, for every target: the exact list
// of rules broken.
func TestCheckWriters(t *testing.T) {
	good := uefiDisk(t)
	bad := noFallback(t, uefiDisk(t))
	odd := append(uefiDisk(t), make([]byte, 512)...) // 35 MiB + 512: not whole MiB
	blank := make([]byte, 35<<20)
	mbr := mbrDisk()
	type want struct{ aws, azure, gcp []string }
	tests := []struct {
		name   string
		raw    []byte
		write  writeFunc
		format string
		sub    string
		fw     string // Options.Firmware
		want   want
		fwWant string
	}{
		{"raw", good, nil, "raw", "", "", want{
			aws:   []string{},
			azure: []string{"azure.format"},
			gcp:   []string{"gce.gzip"},
		}, "uefi"},
		{"raw without fallback", bad, nil, "raw", "", "", want{
			aws:   []string{"aws.uefi.fallback"},
			azure: []string{"azure.format", "azure.uefi.fallback"},
			gcp:   []string{"gce.gzip", "gce.uefi.fallback"},
		}, "uefi"},
		{"qcow2", good, toQCOW2, "qcow2", "v3", "", want{
			aws:   []string{"aws.format"},
			azure: []string{"azure.format"},
			gcp:   []string{"gce.gzip"},
		}, "uefi"},
		{"qcow2 without fallback", bad, toQCOW2, "qcow2", "v3", "", want{
			aws:   []string{"aws.format", "aws.uefi.fallback"},
			azure: []string{"azure.format", "azure.uefi.fallback"},
			gcp:   []string{"gce.gzip", "gce.uefi.fallback"},
		}, "uefi"},
		{"vhd fixed", good, toVHD("fixed"), "vhd", "fixed", "", want{
			aws:   []string{},
			azure: []string{},
			gcp:   []string{"gce.gzip"},
		}, "uefi"},
		{"vhd fixed without fallback", bad, toVHD("fixed"), "vhd", "fixed", "", want{
			aws:   []string{"aws.uefi.fallback"},
			azure: []string{"azure.uefi.fallback"},
			gcp:   []string{"gce.gzip", "gce.uefi.fallback"},
		}, "uefi"},
		{"vhd dynamic", good, toVHD("dynamic"), "vhd", "dynamic", "", want{
			aws:   []string{},
			azure: []string{"azure.type"},
			gcp:   []string{"gce.gzip"},
		}, "uefi"},
		{"vhd fixed not whole MiB", odd, toVHD("fixed"), "vhd", "fixed", "", want{
			aws:   []string{},
			azure: []string{"azure.size.mib"},
			gcp:   []string{"gce.gzip"},
		}, "uefi"},
		{"vhdx", good, toVHDX, "vhdx", "", "", want{
			aws:   []string{},
			azure: []string{"azure.format"},
			gcp:   []string{"gce.gzip"},
		}, "uefi"},
		{"vmdk", good, toVMDK, "vmdk", "streamOptimized", "", want{
			aws:   []string{},
			azure: []string{"azure.format"},
			gcp:   []string{"gce.gzip"},
		}, "uefi"},
		{"vmdk without fallback", bad, toVMDK, "vmdk", "streamOptimized", "", want{
			aws:   []string{"aws.uefi.fallback"},
			azure: []string{"azure.format", "azure.uefi.fallback"},
			gcp:   []string{"gce.gzip", "gce.uefi.fallback"},
		}, "uefi"},
		{"ova", good, toOVA, "ova", "streamOptimized", "", want{
			aws:   []string{},
			azure: []string{"azure.format"},
			gcp:   []string{"gce.gzip"},
		}, "uefi"},
		{"gce", good, toGCE, "gce", "", "", want{
			aws:   []string{"aws.format"},
			azure: []string{"azure.format"},
			gcp:   []string{},
		}, "uefi"},
		{"gce without fallback", bad, toGCE, "gce", "", "", want{
			aws:   []string{"aws.format", "aws.uefi.fallback"},
			azure: []string{"azure.format", "azure.uefi.fallback"},
			gcp:   []string{"gce.uefi.fallback"},
		}, "uefi"},
		{"tar.gz not whole GiB", good, toTarGz, "gce", "", "", want{
			aws:   []string{"aws.format"},
			azure: []string{"azure.format"},
			gcp:   []string{"gce.size.gib"},
		}, "uefi"},
		{"blank data disk", blank, toVHD("fixed"), "vhd", "fixed", "", want{
			aws:   []string{"aws.boot"},
			azure: []string{"azure.boot"},
			gcp:   []string{"gce.gzip", "gce.boot"},
		}, ""},
		{"mbr disk", mbr, nil, "raw", "", "", want{
			aws:   []string{},
			azure: []string{"azure.format"},
			gcp:   []string{"gce.gzip"},
		}, "bios"},
		{"mbr disk booted with uefi", mbr, nil, "raw", "", "uefi", want{
			aws:   []string{"aws.uefi.gpt"},
			azure: []string{"azure.format", "azure.uefi.gpt"},
			gcp:   []string{"gce.gzip", "gce.uefi.gpt"},
		}, "uefi"},
		{"uefi disk booted with bios", good, toVHD("fixed"), "vhd", "fixed", "bios", want{
			aws:   []string{"aws.bios.bootcode"},
			azure: []string{"azure.bios.bootcode"},
			gcp:   []string{"gce.gzip", "gce.bios.bootcode"},
		}, "bios"},
	}
	for _, tc := range tests {
		img := convert(t, tc.write, tc.raw)
		for _, target := range []cloud.Target{cloud.AWS, cloud.Azure, cloud.GCP} {
			t.Run(tc.name+"/"+string(target), func(t *testing.T) {
				rep, err := cloud.Check(t.Context(), target, bytes.NewReader(img), int64(len(img)), &cloud.Options{Firmware: tc.fw})
				require.NoError(t, err)
				want := map[cloud.Target][]string{cloud.AWS: tc.want.aws, cloud.Azure: tc.want.azure, cloud.GCP: tc.want.gcp}[target]
				assert.Equal(t, want, rules(rep), "%v", rep.Findings)
				assert.Equal(t, target, rep.Target)
				assert.Equal(t, tc.format, rep.Format)
				assert.Equal(t, tc.sub, rep.Subformat)
				assert.Equal(t, tc.fwWant, rep.Firmware)
				assert.Equal(t, int64(len(img)), rep.FileSize)
				assert.Empty(t, rep.Unchecked)
				assert.Equal(t, len(want) == 0, rep.OK())
				require.NotNil(t, rep.Boot)
				if tc.format == "gce" && tc.write != nil && tc.name != "tar.gz not whole GiB" {
					assert.Equal(t, int64(1<<30), rep.VirtualSize, "padded to a GiB")
				} else {
					assert.Equal(t, int64(len(tc.raw)), rep.VirtualSize)
				}
			})
		}
	}
}

// The boot structures seen for the three kinds of disk.
func TestBootReport(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  []byte
		want cloud.Boot
	}{
		{"uefi", uefiDisk(t), cloud.Boot{PartitionTable: "gpt", ESP: true, Fallback: true}},
		{"no fallback", noFallback(t, uefiDisk(t)), cloud.Boot{PartitionTable: "gpt", ESP: true}},
		{"mbr", mbrDisk(), cloud.Boot{PartitionTable: "mbr", BIOSBootCode: true}},
		{"blank", make([]byte, 1<<20), cloud.Boot{PartitionTable: "none"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := cloud.Check(t.Context(), cloud.AWS, bytes.NewReader(tc.raw), int64(len(tc.raw)), nil)
			require.NoError(t, err)
			require.NotNil(t, rep.Boot)
			assert.Equal(t, tc.want, *rep.Boot)
		})
	}
}

// Details say what is wrong and what to do.
func TestFindingDetails(t *testing.T) {
	img := convert(t, toVHD("dynamic"), noFallback(t, uefiDisk(t)))
	rep, err := cloud.Check(t.Context(), cloud.Azure, bytes.NewReader(img), int64(len(img)), nil)
	require.NoError(t, err)
	require.Len(t, rep.Findings, 2)
	assert.Equal(t, "azure.type: dynamic disk: Azure imports fixed VHDs only", rep.Findings[0].String())
	assert.Contains(t, rep.Findings[1].Detail, `\EFI\BOOT\BOOTX64.EFI`)
	assert.Contains(t, rep.Findings[1].Detail, "Gen2")
}

// The report is JSON with camelCase names.
func TestReportJSON(t *testing.T) {
	raw := mbrDisk()
	rep, err := cloud.Check(t.Context(), cloud.Azure, bytes.NewReader(raw), int64(len(raw)), nil)
	require.NoError(t, err)
	b, err := json.Marshal(rep)
	require.NoError(t, err)
	assert.JSONEq(t, `{"target":"azure","format":"raw","virtualSize":4194304,"fileSize":4194304,"firmware":"bios",
		"boot":{"partitionTable":"mbr","esp":false,"fallback":false,"biosBootCode":true},
		"findings":[{"rule":"azure.format","detail":"raw: Azure takes a fixed VHD only (VHDX, qcow2, VMDK and raw are not accepted); convert it with fogkit vhd.Write (Type fixed, RoundUp)"}]}`, string(b))
}

// Damaged images are findings, not errors.
func TestDamaged(t *testing.T) {
	vhdImg := convert(t, toVHD("fixed"), mbrDisk())
	vhdImg[len(vhdImg)-512+64] ^= 0xff // footer checksum
	qImg := convert(t, toQCOW2, mbrDisk())
	qImg[4] = 9 // version
	vmdkImg := convert(t, toVMDK, mbrDisk())
	vmdkImg[len(vmdkImg)-1024] ^= 0xff // footer
	// An L1 entry pointing 1 TiB past the end: the header opens, the data
	// does not read.
	qData := convert(t, toQCOW2, uefiDisk(t))
	im, err := qcow2.Open(bytes.NewReader(qData), int64(len(qData)))
	require.NoError(t, err)
	binary.BigEndian.PutUint64(qData[im.Header().L1TableOffset:], 1<<63|1<<40)
	gz := convert(t, toGCE, mbrDisk())
	gz = gz[:len(gz)-4] // no gzip trailer
	for _, tc := range []struct {
		name   string
		target cloud.Target
		img    []byte
		want   []string
	}{
		{"vhd bad checksum", cloud.Azure, vhdImg, []string{"azure.image"}},
		{"qcow2 bad version", cloud.AWS, qImg, []string{"aws.format", "aws.image"}},
		{"vmdk bad footer", cloud.AWS, vmdkImg, []string{"aws.image"}},
		{"qcow2 bad L1 entry", cloud.AWS, qData, []string{"aws.format", "aws.image"}},
		{"truncated tar.gz", cloud.GCP, gz, []string{"gce.archive"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := cloud.Check(t.Context(), tc.target, bytes.NewReader(tc.img), int64(len(tc.img)), nil)
			require.NoError(t, err)
			assert.Equal(t, tc.want, rules(rep), "%v", rep.Findings)
		})
	}
}

// CheckFile reads a file; a name that promises another format is a
// finding.
func TestCheckFile(t *testing.T) {
	dir := t.TempDir()
	img := convert(t, toVHD("fixed"), uefiDisk(t))
	p := filepath.Join(dir, "appliance.vhd")
	require.NoError(t, os.WriteFile(p, img, 0o644))
	rep, err := cloud.CheckFile(t.Context(), cloud.Azure, p, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{}, rules(rep))

	q := filepath.Join(dir, "appliance.vhdx")
	require.NoError(t, os.WriteFile(q, img, 0o644))
	rep, err = cloud.CheckFile(t.Context(), cloud.Azure, q, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"azure.name"}, rules(rep))

	_, err = cloud.CheckFile(t.Context(), cloud.Azure, filepath.Join(dir, "missing.vhd"), nil)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

type failingReader struct {
	r   io.ReaderAt
	at  int64
	err error
}

func (f failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.at {
		return 0, f.err
	}
	return f.r.ReadAt(p, off)
}

// Errors are for arguments, the caller's reader and the context only.
func TestErrors(t *testing.T) {
	raw := mbrDisk()
	r := bytes.NewReader(raw)
	ctx := t.Context()
	_, err := cloud.Check(ctx, "oracle", r, int64(len(raw)), nil)
	assert.ErrorIs(t, err, cloud.ErrUnknownTarget)
	_, err = cloud.Check(ctx, cloud.AWS, r, int64(len(raw)), &cloud.Options{Firmware: "efi"})
	assert.ErrorIs(t, err, cloud.ErrInvalid)
	_, err = cloud.Check(ctx, cloud.AWS, r, -1, nil)
	assert.ErrorIs(t, err, cloud.ErrInvalid)

	boom := errors.New("disk unplugged")
	q := convert(t, toQCOW2, uefiDisk(t))
	for _, tc := range []struct {
		name string
		img  []byte
		at   int64
	}{
		{"raw", raw, 0},
		{"qcow2 data", q, int64(len(q)) / 2},
		{"vhd footer", convert(t, toVHD("fixed"), raw), int64(len(raw))},
		{"gce stream", convert(t, toGCE, raw), 100},
	} {
		for _, target := range []cloud.Target{cloud.AWS, cloud.Azure, cloud.GCP} {
			t.Run(tc.name+"/"+string(target), func(t *testing.T) {
				fr := failingReader{r: bytes.NewReader(tc.img), at: tc.at, err: boom}
				_, err := cloud.Check(ctx, target, fr, int64(len(tc.img)), nil)
				require.Error(t, err)
				assert.ErrorIs(t, err, cloud.ErrRead)
				assert.ErrorIs(t, err, boom)
				var re *cloud.ReadError
				require.ErrorAs(t, err, &re)
			})
		}
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	img := convert(t, toGCE, raw)
	_, err = cloud.Check(cctx, cloud.GCP, bytes.NewReader(img), int64(len(img)), nil)
	assert.ErrorIs(t, err, context.Canceled)
}

// Progress reports the stages; options are not modified.
func TestProgressAndOptions(t *testing.T) {
	img := convert(t, toGCE, uefiDisk(t))
	var stages []string
	o := &cloud.Options{Progress: func(e cloud.Event) {
		if len(stages) == 0 || stages[len(stages)-1] != e.Stage {
			stages = append(stages, e.Stage)
		}
		assert.Equal(t, int64(len(img)), e.Total)
	}}
	rep, err := cloud.Check(t.Context(), cloud.GCP, bytes.NewReader(img), int64(len(img)), o)
	require.NoError(t, err)
	assert.True(t, rep.OK(), "%v", rep.Findings)
	assert.Equal(t, []string{"format", "spool", "archive", "boot"}, stages)
	assert.Empty(t, o.Firmware)
}

// Same image, same report.
func TestDeterministic(t *testing.T) {
	img := convert(t, toVHD("dynamic"), noFallback(t, uefiDisk(t)))
	var out [][]byte
	for range 2 {
		rep, err := cloud.Check(t.Context(), cloud.Azure, bytes.NewReader(img), int64(len(img)), nil)
		require.NoError(t, err)
		b, err := json.Marshal(rep)
		require.NoError(t, err)
		out = append(out, b)
	}
	assert.Equal(t, out[0], out[1])
}

type countingReaderAt struct {
	r io.ReaderAt
	n int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

// The spool of a .tar.gz stops once the boot checks are answered: 16 MiB
// of incompressible data after the ESP are not decompressed (AWS runs no
// gce.Check pass, so the spool is the only reader).
func TestSpoolStopsEarly(t *testing.T) {
	raw := append(uefiDisk(t), testutil.RandomBytes(1, 16<<20)...)
	img := convert(t, toTarGz, raw)
	require.Greater(t, len(img), 16<<20)
	cr := &countingReaderAt{r: bytes.NewReader(img)}
	rep, err := cloud.Check(t.Context(), cloud.AWS, cr, int64(len(img)), nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"aws.format"}, rules(rep))
	assert.Equal(t, &cloud.Boot{PartitionTable: "gpt", ESP: true, Fallback: true}, rep.Boot)
	assert.Less(t, cr.n, int64(len(img))/2, "read %d of %d bytes", cr.n, len(img))
}

// zeros is a disk of any size that reads as zeros.
type zeros struct{}

func (zeros) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	return len(p), nil
}

// The size limits, on blank disks of the sizes that break them.
func TestSizeLimits(t *testing.T) {
	const tib = int64(1) << 40
	for _, tc := range []struct {
		name   string
		target cloud.Target
		size   int64
		fw     string
		want   []string
	}{
		{"aws 3 TiB", cloud.AWS, 3 * tib, "", []string{"aws.boot", "aws.size.mbr"}},
		{"aws 65 TiB", cloud.AWS, 65 * tib, "", []string{"aws.boot", "aws.size.max", "aws.size.mbr", "aws.size.file"}},
		{"azure gen1 3 TiB", cloud.Azure, 3 * tib, "bios", []string{"azure.format", "azure.bios.bootcode", "azure.size.os"}},
		{"azure gen2 3 TiB", cloud.Azure, 3 * tib, "uefi", []string{"azure.format", "azure.uefi.gpt"}},
		{"azure gen2 5 TiB", cloud.Azure, 5 * tib, "uefi", []string{"azure.format", "azure.uefi.gpt", "azure.size.os"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := cloud.Check(t.Context(), tc.target, zeros{}, tc.size, &cloud.Options{Firmware: tc.fw})
			require.NoError(t, err)
			assert.Equal(t, tc.want, rules(rep), "%v", rep.Findings)
		})
	}
}
