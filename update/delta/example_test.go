package delta_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/fogkit/fogkit/update/delta"
)

func Example() {
	ctx := context.Background()
	old := []byte(strings.Repeat("fogkit appliance image, version 1.0; ", 100))
	new := []byte(strings.Repeat("fogkit appliance image, version 1.1; ", 100) + "and a new file")

	var patch bytes.Buffer
	if err := delta.Diff(ctx, &patch, bytes.NewReader(old), int64(len(old)), bytes.NewReader(new), int64(len(new)), nil); err != nil {
		panic(err)
	}
	// The applier reads the old file through an io.ReaderAt and streams
	// the new one to an io.Writer; it refuses a wrong base before writing.
	h, err := delta.ReadHeader(bytes.NewReader(patch.Bytes()))
	if err != nil {
		panic(err)
	}
	fmt.Println("new size:", h.NewSize)
	var out bytes.Buffer
	n, err := delta.Apply(ctx, &out, bytes.NewReader(old), int64(len(old)), &patch, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(n, bytes.Equal(out.Bytes(), new))
	// Output:
	// new size: 3714
	// 3714 true
}
