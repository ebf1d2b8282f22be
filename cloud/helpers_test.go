package cloud_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/cloud"
	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/gce"
	"github.com/fogkit/fogkit/ova"
	"github.com/fogkit/fogkit/qcow2"
	"github.com/fogkit/fogkit/vhd"
	"github.com/fogkit/fogkit/vhdx"
	"github.com/fogkit/fogkit/vmdk"
)

// fakeKernel passes the disk package's kernel sniffing: an MZ/PE header
// and the bzImage "HdrS" magic.
func fakeKernel(n int) []byte {
	b := bytes.Repeat([]byte{0x5a}, n)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x80)
	copy(b[0x80:], "PE\x00\x00")
	copy(b[0x202:], "HdrS")
	return b
}

var (
	rawOnce sync.Once
	rawDisk []byte
	rawErr  error
)

// uefiDisk is a small GPT disk (35 MiB, a whole number of MiB) with a
// FAT32 ESP holding \EFI\BOOT\BOOTX64.EFI, made by disk.Build. Callers get
// their own copy.
func uefiDisk(t testing.TB) []byte {
	t.Helper()
	rawOnce.Do(func() {
		k := fakeKernel(64 << 10)
		loader := []byte("MZ stand-in for systemd-boot")
		spec := &disk.Spec{
			Loader:  disk.SystemdBoot,
			EFI:     disk.File{R: bytes.NewReader(loader), Size: int64(len(loader))},
			Kernel:  disk.File{R: bytes.NewReader(k), Size: int64(len(k))},
			Cmdline: "console=ttyS0",
		}
		p := filepath.Join(os.TempDir(), fmt.Sprintf("fogkit-cloud-test-%d.raw", os.Getpid()))
		defer os.Remove(p)
		if _, rawErr = disk.BuildFile(context.Background(), spec, p, &disk.Options{Seed: "cloud-test"}); rawErr != nil {
			return
		}
		rawDisk, rawErr = os.ReadFile(p)
	})
	require.NoError(t, rawErr)
	return bytes.Clone(rawDisk)
}

// noFallback renames the ESP's BOOTX64.EFI to BOOTX65.EFI in its short
// directory entry; a long-name entry, if any, then fails its checksum and
// the reader takes the short name, as FAT drivers do.
func noFallback(t testing.TB, raw []byte) []byte {
	t.Helper()
	i := bytes.Index(raw, []byte("BOOTX64 EFI"))
	require.GreaterOrEqual(t, i, 0, "no BOOTX64.EFI entry")
	raw[i+6] = '5'
	require.Equal(t, -1, bytes.Index(raw, []byte("BOOTX64 EFI")))
	return raw
}

// mbrDisk is a 4 MiB disk with BIOS boot code and an MBR, no GPT.
func mbrDisk() []byte {
	b := make([]byte, 4<<20)
	copy(b, []byte{0xfa, 0x31, 0xc0, 0x8e, 0xd8}) // cli; xor ax,ax; mov ds,ax
	b[446+4] = 0x83                               // one Linux partition
	binary.LittleEndian.PutUint32(b[446+8:], 2048)
	binary.LittleEndian.PutUint32(b[446+12:], 4096)
	b[510], b[511] = 0x55, 0xaa
	return b
}

type writeFunc func(ctx context.Context, w io.Writer, src io.ReaderAt, size int64) error

func toQCOW2(ctx context.Context, w io.Writer, src io.ReaderAt, size int64) error {
	_, err := qcow2.Write(ctx, w, src, size, nil)
	return err
}

func toVHD(typ string) writeFunc {
	return func(ctx context.Context, w io.Writer, src io.ReaderAt, size int64) error {
		_, err := vhd.Write(ctx, w, src, size, &vhd.Options{Type: typ})
		return err
	}
}

func toVHDX(ctx context.Context, w io.Writer, src io.ReaderAt, size int64) error {
	_, err := vhdx.Write(ctx, w, src, size, nil)
	return err
}

func toVMDK(ctx context.Context, w io.Writer, src io.ReaderAt, size int64) error {
	_, err := vmdk.Write(ctx, w, src, size, nil)
	return err
}

func toGCE(ctx context.Context, w io.Writer, src io.ReaderAt, size int64) error {
	_, err := gce.Write(ctx, w, src, size, nil)
	return err
}

// toTarGz packs the disk as it is (no GiB padding) with archive/tar's GNU
// format, whose header is the old GNU one.
func toTarGz(ctx context.Context, w io.Writer, src io.ReaderAt, size int64) error {
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: gce.Name, Mode: 0o644, Size: size, Format: tar.FormatGNU, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, io.NewSectionReader(src, 0, size)); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

const ovfDescriptor = `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References>
    <File ovf:href="disk1.vmdk" ovf:id="file1" ovf:size="%d"/>
  </References>
  <VirtualSystem ovf:id="demo"><Info>demo</Info><Name>demo</Name></VirtualSystem>
</Envelope>
`

// toOVA writes a streamOptimized VMDK and wraps it in an OVA.
func toOVA(ctx context.Context, w io.Writer, src io.ReaderAt, size int64) error {
	var v bytes.Buffer
	if _, err := vmdk.Write(ctx, &v, src, size, &vmdk.Options{FileName: "disk1.vmdk"}); err != nil {
		return err
	}
	desc := fmt.Sprintf(ovfDescriptor, v.Len())
	_, err := ova.Write(ctx, w, []byte(desc), []ova.File{ova.BytesFile("disk1.vmdk", v.Bytes())}, &ova.Options{Name: "demo", NoDescriptorCheck: true})
	return err
}

// convert writes raw with fn (nil: raw as it is).
func convert(t testing.TB, fn writeFunc, raw []byte) []byte {
	t.Helper()
	if fn == nil {
		return raw
	}
	var b bytes.Buffer
	require.NoError(t, fn(context.Background(), &b, bytes.NewReader(raw), int64(len(raw))))
	return b.Bytes()
}

// rules lists the findings' rules in order.
func rules(rep *cloud.Report) []string {
	out := []string{}
	for _, f := range rep.Findings {
		out = append(out, f.Rule)
	}
	return out
}
