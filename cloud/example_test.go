package cloud_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/fogkit/fogkit/cloud"
	"github.com/fogkit/fogkit/qcow2"
	"github.com/fogkit/fogkit/vhd"
)

// Check a qcow2 image before uploading it to AWS: VM Import/Export does
// not take qcow2, and this disk (all zeros) has nothing to boot.
func Example() {
	raw := make([]byte, 4<<20)
	var img bytes.Buffer
	if _, err := qcow2.Write(context.Background(), &img, bytes.NewReader(raw), int64(len(raw)), nil); err != nil {
		fmt.Println(err)
		return
	}
	rep, err := cloud.Check(context.Background(), cloud.AWS, bytes.NewReader(img.Bytes()), int64(img.Len()), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rep.Format, rep.VirtualSize, rep.OK())
	for _, f := range rep.Findings {
		fmt.Println(f)
	}
	// Output:
	// qcow2 4194304 false
	// aws.format: qcow2: VM Import/Export takes OVA, VMDK (streamOptimized), VHD, VHDX or raw; convert it (fogkit vmdk.Write, vhd.Write or the raw disk)
	// aws.boot: no EFI System Partition and no BIOS boot code in the MBR: the disk cannot boot
}

// Every Azure rule a VHD breaks, in one report: a dynamic disk whose size
// is not a whole number of MiB, for a Gen1 (BIOS) VM without boot code.
func ExampleCheck_azure() {
	raw := make([]byte, 21<<20+4096)
	var img bytes.Buffer
	if _, err := vhd.Write(context.Background(), &img, bytes.NewReader(raw), int64(len(raw)), &vhd.Options{Type: vhd.TypeDynamic}); err != nil {
		fmt.Println(err)
		return
	}
	rep, err := cloud.Check(context.Background(), cloud.Azure, bytes.NewReader(img.Bytes()), int64(img.Len()), &cloud.Options{Firmware: cloud.BIOS})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range rep.Findings {
		fmt.Println(f.Rule)
	}
	// Output:
	// azure.type
	// azure.size.mib
	// azure.bios.bootcode
}
