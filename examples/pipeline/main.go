// Command pipeline is fogkit's reference pipeline: from an application's
// files to a signed OVA, a license and update packages, in one run. It is
// a thin main over package appliance: flags, then an appliance.Spec, then
// appliance.Build, then a summary.
//
//	go run ./examples/pipeline                    # the embedded demo, into ./out
//	go run ./examples/pipeline -app ./myapp -name myapp -version 2.0.0 \
//	    -kernel /boot/vmlinuz-6.1.0-amd64 -epoch 1790000000 -previous ./out-1.0
//
// The pipeline adds the demo's own parts: its /init (a static Go program,
// examples/pipeline/demoinit, built with the Go toolchain), its app files
// (embedded) and a demo customer's license. With no -kernel and none on
// the host, it fetches the distribution's kernel and systemd-boot
// (Debian and Ubuntu; -fetch=false turns that off). Without a kernel or
// loader it still builds a valid, signed OVA (its boot disk is empty) and
// says how to make it bootable. Errors name the stage; the exit code is 1
// on failure, 2 on bad usage.
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
	rec, err := run(ctx, cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(1)
	}
	printSummary(os.Stdout, cfg, rec, time.Since(start))
}
