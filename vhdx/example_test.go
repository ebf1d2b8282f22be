package vhdx_test

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/fogkit/fogkit/vhdx"
)

// Convert a raw disk to VHDX, then read it back.
func Example() {
	raw := make([]byte, 8<<20) // an 8 MiB disk with a boot sector
	copy(raw[510:], []byte{0x55, 0xaa})
	copy(raw[5<<20:], bytes.Repeat([]byte("appliance data "), 1000))

	var out bytes.Buffer
	res, err := vhdx.Write(context.Background(), &out, bytes.NewReader(raw), int64(len(raw)), &vhdx.Options{BlockSize: 2 << 20})
	if err != nil {
		panic(err)
	}
	fmt.Println("virtual size:", res.VirtualSize, "blocks:", res.Blocks, "present:", res.PresentBlocks)
	fmt.Println("file size:", res.Size)

	disk, err := vhdx.Open(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		panic(err)
	}
	back, _ := io.ReadAll(io.NewSectionReader(disk, 0, disk.Size()))
	fmt.Println("round trip:", bytes.Equal(back, raw))
	// Output:
	// virtual size: 8388608 blocks: 4 present: 2
	// file size: 8388608
	// round trip: true
}

// Inspect reports the layout of an image and what is wrong with it.
func ExampleInspect() {
	var out bytes.Buffer
	if _, err := vhdx.Write(context.Background(), &out, bytes.NewReader(make([]byte, 64<<20)), 64<<20, nil); err != nil {
		panic(err)
	}
	img := out.Bytes()
	rep, err := vhdx.Inspect(context.Background(), bytes.NewReader(img), int64(len(img)))
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.OK(), rep.Info.BlockSize, rep.PresentBlocks, rep.ZeroBlocks)

	img[64<<10+100] ^= 1 // damage the first header: the second one serves
	rep, _ = vhdx.Inspect(context.Background(), bytes.NewReader(img), int64(len(img)))
	fmt.Println(rep.OK(), rep.Info != nil, rep.Findings[0].Detail)
	// Output:
	// true 33554432 0 2
	// false true vhdx: checksum mismatch: header at offset 65540: CRC-32C mismatch
}
