// Command pipeline is fogkit's reference pipeline: from an application's
// files to a signed OVA, a license and an update package, in one run.
//
//	go run ./examples/pipeline                    # the embedded demo, into ./out
//	go run ./examples/pipeline -app ./myapp -name myapp -version 2.0.0 \
//	    -kernel /boot/vmlinuz-6.1.0-cloud-amd64 -epoch 1790000000 -previous ./out-1.0
//
// Stages, each through fogkit's public APIs:
//
//	init     the demo /init, a static Go program (examples/pipeline/demoinit)
//	rootfs   /init + release + license + app files -> initrd.img (cpio newc, gzip)
//	disk     kernel + initrd + loader -> boot.raw (GPT + FAT32 ESP)
//	vmdk     boot.raw -> <name>-boot.vmdk; an empty <name>-data.vmdk
//	ovf      typed model -> descriptor
//	ova      descriptor + disks -> <name>.ova, signed with the OVA key
//	license  a demo customer's license, <name>.lic
//	update   a full update package of the boot tree (and a diff from -previous)
//	record   build.json: inputs, options and every output's size and sha256
//
// With no kernel or loader found, the pipeline still builds a valid, signed
// OVA (its boot disk is empty; the initrd, license and update package are
// real) and says how to make it bootable. Errors name the stage; the exit code is 1 on failure, 2 on bad
// usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"
)

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	rec, err := run(ctx, cfg, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(1)
	}
	printSummary(os.Stdout, cfg, rec, time.Since(start))
}
