package vhd_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/fogkit/fogkit/vhd"
)

// A fixed VHD for Azure: 3 MiB + 512 bytes of raw disk, rounded up to a
// whole MiB, checked against Azure's rules and read back.
func Example() {
	ctx := context.Background()
	raw := make([]byte, 3<<20+512)
	copy(raw, "boot sector")
	var out bytes.Buffer
	res, err := vhd.Write(ctx, &out, bytes.NewReader(raw), int64(len(raw)), &vhd.Options{RoundUp: true})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Type, res.VirtualSize, res.Padding, res.Size)

	rep, err := vhd.Inspect(ctx, bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		panic(err)
	}
	for _, f := range vhd.CheckAzure(rep) {
		fmt.Println(f)
	}
	d, _ := vhd.Open(bytes.NewReader(out.Bytes()), int64(out.Len()))
	b := make([]byte, 11)
	_, _ = d.ReadAt(b, 0)
	fmt.Printf("%s\n", b)
	// Output:
	// fixed 4194304 1048064 4194816
	// azure.size.min: virtual size 4194304 below 20 MiB
	// boot sector
}

// A dynamic VHD stores only the blocks that hold data.
func ExampleWrite_dynamic() {
	raw := make([]byte, 64<<20)
	copy(raw[10<<20:], "data")
	var out bytes.Buffer
	res, err := vhd.Write(context.Background(), &out, bytes.NewReader(raw), int64(len(raw)), &vhd.Options{Type: vhd.TypeDynamic})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Blocks, res.ZeroBlocks, res.Size)
	// Output:
	// 1 31 2100224
}
