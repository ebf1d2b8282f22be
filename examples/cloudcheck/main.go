// Command cloudcheck lists every rule a cloud's image import would reject
// in a disk image, before the upload: package cloud over any of fogkit's
// formats (and other tools' qcow2, VHD, VHDX, VMDK, OVA, raw and GCE
// archives). Exit code 0 when the image passes, 1 when it breaks a rule
// or cannot be read, 2 on bad usage.
//
//	go run ./examples/cloudcheck -target azure out/fogdemo-boot.vhd
//	go run ./examples/cloudcheck -target gcp -json out/fogdemo-gce.tar.gz
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/fogkit/fogkit/cloud"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	f := flag.NewFlagSet("cloudcheck", flag.ContinueOnError)
	f.SetOutput(stderr)
	target := f.String("target", "", "aws, azure or gcp")
	firmware := f.String("firmware", "", "uefi or bios (default: from the disk)")
	asJSON := f.Bool("json", false, "print the report as JSON")
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if t := cloud.Target(*target); f.NArg() != 1 || t != cloud.AWS && t != cloud.Azure && t != cloud.GCP {
		fmt.Fprintln(stderr, "usage: cloudcheck -target aws|azure|gcp [-firmware uefi|bios] [-json] IMAGE")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := cloud.CheckFile(ctx, cloud.Target(*target), f.Arg(0), &cloud.Options{Firmware: *firmware})
	if errors.Is(err, cloud.ErrUnknownTarget) || errors.Is(err, cloud.ErrInvalid) {
		fmt.Fprintln(stderr, "cloudcheck:", err)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "cloudcheck:", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return 1
		}
	} else {
		fmt.Fprintf(stdout, "%s: %s image, %d bytes virtual, %s firmware, for %s\n", f.Arg(0), rep.Format, rep.VirtualSize, rep.Firmware, rep.Target)
		for _, x := range rep.Findings {
			fmt.Fprintln(stdout, "  FAIL", x)
		}
		for _, u := range rep.Unchecked {
			fmt.Fprintln(stdout, "  UNCHECKED", u)
		}
		if rep.OK() {
			fmt.Fprintln(stdout, "  ok: the import takes it")
		}
	}
	if !rep.OK() {
		return 1
	}
	return 0
}
