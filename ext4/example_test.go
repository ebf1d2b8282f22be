package ext4_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fogkit/fogkit/ext4"
)

// Format a sparse 20 GiB data disk, then find it again by its label.
func Example() {
	dir, _ := os.MkdirTemp("", "ext4-example")
	defer os.RemoveAll(dir)
	f, _ := os.Create(filepath.Join(dir, "data.img"))
	defer f.Close()
	const size = 20 << 30
	_ = f.Truncate(size) // a sparse file reads as zeros
	opts := &ext4.Options{Label: "fogkit-data", Seed: "acme-appliance", ModTime: time.Unix(1767225600, 0)}
	if _, err := ext4.Format(context.Background(), f, size, opts); err != nil {
		fmt.Println(err)
		return
	}
	info, err := ext4.Probe(f)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(info.Label, info.Size>>30, "GiB", info.BlockSize)
	_, err = ext4.Verify(context.Background(), f, size, opts)
	fmt.Println("verify:", err)
	// Output:
	// fogkit-data 20 GiB 4096
	// verify: <nil>
}
