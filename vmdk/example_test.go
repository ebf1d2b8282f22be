package vmdk_test

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/fogkit/fogkit/vmdk"
)

// Convert a raw disk to a streamOptimized VMDK, then read it back.
func Example() {
	raw := make([]byte, 4<<20) // a 4 MiB disk with a boot sector
	copy(raw[510:], []byte{0x55, 0xaa})
	copy(raw[1<<20:], bytes.Repeat([]byte("appliance data "), 1000))

	var out bytes.Buffer
	res, err := vmdk.Write(context.Background(), &out, bytes.NewReader(raw), int64(len(raw)), nil)
	if err != nil {
		panic(err)
	}
	fmt.Println("capacity:", res.Capacity, "grains:", res.Grains, "skipped:", res.ZeroGrains)
	fmt.Println("size matches:", res.Size == int64(out.Len()))

	disk, err := vmdk.Open(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		panic(err)
	}
	back, _ := io.ReadAll(io.NewSectionReader(disk, 0, disk.Size()))
	fmt.Println("round trip:", bytes.Equal(back, raw))
	// Output:
	// capacity: 4194304 grains: 2 skipped: 62
	// size matches: true
	// round trip: true
}

// An empty data disk of any size costs a few kilobytes and reads nothing.
func ExampleWriteEmpty() {
	var out bytes.Buffer
	res, err := vmdk.WriteEmpty(context.Background(), &out, 20<<30, &vmdk.Options{FileName: "data.vmdk"})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Size, res.Capacity, res.GDEntries)
	// Output: 70144 21474836480 640
}

// Verify checks a stream against the streamOptimized layout rules.
func ExampleVerify() {
	var out bytes.Buffer
	if _, err := vmdk.WriteEmpty(context.Background(), &out, 1<<30, nil); err != nil {
		panic(err)
	}
	rep, err := vmdk.Verify(context.Background(), &out, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.OK(), rep.Descriptor.CreateType, rep.Grains, rep.Directories)

	// A stream cut short (an interrupted write) is not accepted.
	out.Reset()
	vmdk.WriteEmpty(context.Background(), &out, 1<<30, nil)
	_, err = vmdk.Verify(context.Background(), bytes.NewReader(out.Bytes()[:out.Len()-1536]), nil)
	fmt.Println(err != nil)
	// Output:
	// true streamOptimized 0 1
	// true
}
