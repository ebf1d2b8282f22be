package appliance_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing/fstest"
	"time"

	"github.com/fogkit/fogkit/appliance"
	"github.com/fogkit/fogkit/sign"
)

// A vendor's build: keys, a spec, one call. With FetchAssets (Debian or
// Ubuntu) and no kernel given, the distribution's kernel and loader are
// fetched and the appliance boots; here none is, so it does not.
func ExampleBuild() {
	work, _ := os.MkdirTemp("", "acme-build-")
	defer os.RemoveAll(work)
	keys, err := sign.CreateKeyDir(filepath.Join(work, "keys"), &sign.KeyDirOptions{Name: "acme"})
	if err != nil {
		fmt.Println(err)
		return
	}
	initBinary := []byte("a static linux/amd64 /init, built on package agent")
	rec, err := appliance.Build(context.Background(), &appliance.Spec{
		Name: "acme", Vendor: "Acme", Version: "1.0.0", Sequence: 1,
		App:      fstest.MapFS{"bin/acme": {Data: []byte("#!/bin/sh\n"), Mode: 0o755}},
		Init:     initBinary,
		DataSize: 1 << 30,
		Epoch:    time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
	}, &appliance.Options{Dir: filepath.Join(work, "out"), Keys: keys})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range rec.Outputs {
		fmt.Println(o.Path)
	}
	fmt.Println("bootable:", rec.Bootable)
	fmt.Println("verified:", rec.Verify(context.Background(), filepath.Join(work, "out")) == nil)
	// Output:
	// initrd.img
	// acme-boot.vmdk
	// acme-data.vmdk
	// acme.ovf
	// acme.ova
	// acme-1.0.0-full.fup
	// acme.spdx.json
	// acme.intoto.jsonl
	// bootable: false
	// verified: true
}
