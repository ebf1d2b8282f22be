package bsdiff_test

import (
	"bytes"
	"fmt"

	"github.com/fogkit/fogkit/update/bsdiff"
)

func Example() {
	old := []byte("fogkit appliance version 1.0, built for the fog")
	new := []byte("fogkit appliance version 1.1, built for the fog and the cloud")
	patch, err := bsdiff.Diff(old, new)
	if err != nil {
		panic(err)
	}
	// The applier needs the expected size: it refuses patches that
	// declare anything larger before allocating.
	out, err := bsdiff.Patch(old, bytes.NewReader(patch), int64(len(new)))
	if err != nil {
		panic(err)
	}
	fmt.Println(string(out))
	// Output: fogkit appliance version 1.1, built for the fog and the cloud
}
