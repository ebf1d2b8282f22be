package gce_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/fogkit/fogkit/gce"
)

// A 100 MiB raw disk with a little data becomes a GCE image archive with
// a 1 GiB disk.raw that stores only the data, and passes Check.
func Example() {
	ctx := context.Background()
	raw := make([]byte, 100<<20)
	copy(raw, "boot sector")
	copy(raw[50<<20:], "data")
	var out bytes.Buffer
	res, err := gce.Write(ctx, &out, bytes.NewReader(raw), int64(len(raw)), nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(res.DiskSize, res.Sparse, res.Regions, res.Stored)

	rep, err := gce.Check(ctx, &out)
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.OK(), rep.Members[0].Name, rep.Members[0].Format, rep.Members[0].Type)
	// Output:
	// 1073741824 true 2 131072
	// true disk.raw oldgnu sparse
}
