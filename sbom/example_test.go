package sbom_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/fogkit/fogkit/rootfs"
	"github.com/fogkit/fogkit/sbom"
)

// Describe an appliance: its OVA, its initramfs file by file and its
// kernel package; then check the document with Read.
func Example() {
	b := rootfs.New(nil)
	_ = b.AddFile(rootfs.Entry{Path: "/init", Mode: 0o755}, []byte("#!/bin/sh\nexec sh\n"))
	_ = b.AddFile(rootfs.Entry{Path: "/etc/hostname", Mode: 0o644}, []byte("fogdemo\n"))
	var initrd bytes.Buffer
	_, _ = b.WriteTo(&initrd)

	digest := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	in := &sbom.Input{
		Name: "fogdemo", Version: "1.0.0", Supplier: "Fog Demo Inc.",
		Created: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		Outputs: []sbom.File{{Name: "fogdemo.ova", Size: 3, SHA256: digest([]byte("ova"))}},
		Initramfs: &sbom.Archive{
			File: sbom.File{Name: "initrd.img", Size: int64(initrd.Len()), SHA256: digest(initrd.Bytes())},
			R:    bytes.NewReader(initrd.Bytes()),
		},
		Packages: []sbom.Package{{
			Name: "linux-image-amd64", Version: "6.1.112-1",
			PURL: sbom.DebianPURL("linux-image-amd64", "6.1.112-1", "amd64"),
		}},
	}
	var out bytes.Buffer
	res, err := sbom.Write(context.Background(), &out, in, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Namespace)

	doc, err := sbom.Read(&out)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range doc.Files {
		fmt.Println(f.FileName, f.Checksums[1].Algorithm, f.Checksums[1].ChecksumValue[:16])
	}
	for _, p := range doc.Packages {
		if p.Name == sbom.ModulePath {
			fmt.Println(p.Name) // its version is the fogkit module's in this binary
			continue
		}
		fmt.Println(p.Name, p.VersionInfo)
	}
	fmt.Println(len(doc.Relationships), "relationships")
	// Output:
	// https://fogkit.dev/spdx/fogdemo-1.0.0-330f21feabe9e022
	// ./etc/hostname SHA256 63ba0622cfa0c1ba
	// ./init SHA256 2e06036b5b041f3a
	// fogdemo 1.0.0
	// initrd.img 1.0.0
	// fogdemo.ova 1.0.0
	// linux-image-amd64 6.1.112-1
	// github.com/fogkit/fogkit
	// 7 relationships
}
