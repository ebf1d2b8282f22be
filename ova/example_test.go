package ova_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/fogkit/fogkit/ova"
)

const descriptor = `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References>
    <File ovf:href="demo-disk1.vmdk" ovf:id="file1" ovf:size="11"/>
  </References>
  <VirtualSystem ovf:id="demo"><Info>demo</Info><Name>demo</Name></VirtualSystem>
</Envelope>
`

// Write an OVA from a disk whose size and SHA-256 are already known (as
// the vmdk writer reports them), then verify it.
func Example() {
	disk := []byte("disk bytes!")
	sum := sha256.Sum256(disk)
	files := []ova.File{{
		Name:   "demo-disk1.vmdk",
		Size:   int64(len(disk)),
		Digest: sum[:],
		Open:   ova.BytesFile("", disk).Open,
	}}
	var buf bytes.Buffer
	res, err := ova.Write(context.Background(), &buf, []byte(descriptor), files, &ova.Options{Name: "demo"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(strings.SplitAfter(string(res.Manifest), "\n")[1])

	// Verify fails closed: an unsigned OVA is an error unless allowed.
	rep, err := ova.Verify(context.Background(), &buf, &ova.VerifyOptions{AllowUnsigned: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range rep.Entries {
		fmt.Printf("%-16s %-10s %4d bytes %s\n", e.Name, e.Kind, e.Size, e.Format)
	}
	for _, f := range rep.Findings {
		fmt.Println("finding:", f.Code)
	}
	// Output:
	// SHA256(demo-disk1.vmdk)= df7b22ab1e3f12b3af6a4236f89b4b2eceb19dbce766181863d621c206cede03
	// demo.ovf         descriptor  341 bytes ustar
	// demo.mf          manifest    173 bytes ustar
	// demo-disk1.vmdk  file         11 bytes ustar
	// finding: unsigned
}

// Tampering is reported as a typed error naming the member.
func ExampleVerify() {
	disk := []byte("disk bytes!")
	files := []ova.File{ova.BytesFile("demo-disk1.vmdk", disk)}
	var buf bytes.Buffer
	if _, err := ova.Write(context.Background(), &buf, []byte(descriptor), files, &ova.Options{Name: "demo"}); err != nil {
		fmt.Println(err)
		return
	}
	b := buf.Bytes()
	i := bytes.LastIndex(b, disk)
	b[i] ^= 0x20 // "disk" → "Disk"

	_, err := ova.Verify(context.Background(), bytes.NewReader(b), nil)
	var de *ova.DigestError
	if errors.As(err, &de) {
		fmt.Println("digest mismatch in", de.File)
	}
	// Output:
	// digest mismatch in demo-disk1.vmdk
}

// Open lists an OVA's members without reading their data; Extract writes
// them out, checking each against the manifest.
func ExampleOpen() {
	files := []ova.File{ova.BytesFile("demo-disk1.vmdk", []byte("disk bytes!"))}
	var buf bytes.Buffer
	if _, err := ova.Write(context.Background(), &buf, []byte(descriptor), files, &ova.Options{Name: "demo"}); err != nil {
		fmt.Println(err)
		return
	}
	a, err := ova.Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range a.Entries() {
		fmt.Printf("%s at %d, %d bytes\n", e.Name, e.Offset, e.Size)
	}
	r, _ := a.Member("demo-disk1.vmdk")
	data, _ := io.ReadAll(r)
	fmt.Printf("%s\n", data)

	dir, _ := os.MkdirTemp("", "ova-example")
	defer os.RemoveAll(dir)
	fmt.Println(a.Extract(context.Background(), dir, nil))
	// Output:
	// demo.ovf at 0, 341 bytes
	// demo.mf at 1024, 173 bytes
	// demo-disk1.vmdk at 2048, 11 bytes
	// disk bytes!
	// <nil>
}
