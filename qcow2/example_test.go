package qcow2_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/fogkit/fogkit/qcow2"
)

// Convert a raw disk to a compressed qcow2 image and read it back.
func Example() {
	raw := make([]byte, 1<<20) // 1 MiB disk: a boot sector and zeros
	copy(raw[510:], []byte{0x55, 0xaa})
	var out bytes.Buffer
	res, err := qcow2.Write(context.Background(), &out, bytes.NewReader(raw), int64(len(raw)),
		&qcow2.Options{Compression: qcow2.CompressionZlib})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("clusters stored:", res.DataClusters, "compressed:", res.CompressedClusters, "zero:", res.ZeroClusters)

	im, err := qcow2.Open(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		fmt.Println(err)
		return
	}
	sig := make([]byte, 2)
	im.ReadAt(sig, 510)
	h := im.Header()
	fmt.Printf("v%d, %d bytes, %s, signature %x\n", h.Version, im.Size(), h.CompressionName(), sig)
	// Output:
	// clusters stored: 1 compressed: 1 zero: 15
	// v3, 1048576 bytes, zlib, signature 55aa
}

// Inspect checks refcounts and bounds of an image.
func ExampleInspect() {
	var out bytes.Buffer
	raw := bytes.Repeat([]byte("fogkit"), 50000)
	if _, err := qcow2.Write(context.Background(), &out, bytes.NewReader(raw), int64(len(raw)), nil); err != nil {
		fmt.Println(err)
		return
	}
	rep, err := qcow2.Inspect(context.Background(), bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("data clusters:", rep.DataClusters, "L2 tables:", rep.L2Tables, "findings:", len(rep.Findings))
	// Output:
	// data clusters: 5 L2 tables: 1 findings: 0
}
