// Command mkdisk builds a bootable raw disk image (GPT + FAT32 ESP) with
// systemd-boot or a unified kernel image, optionally also bootable under
// legacy BIOS:
//
//	mkdisk -kernel vmlinuz -initrd initrd.img [-initrd more.img] -cmdline "console=ttyS0" \
//	       -loader systemd-boot|uki -efi PATH [-bios -syslinux PATH -gptmbr PATH] \
//	       [-size 64M] [-seed S] [-title T] [-extra ESP/PATH=HOSTFILE] -o disk.raw
//
// -efi is systemd-bootx64.efi for -loader systemd-boot and linuxx64.efi.stub
// for -loader uki (both from Debian's systemd-boot-efi package). The image
// is sparse. It prints the layout and the ESP files as JSON and exits 1 with
// a one-line error on failure, 2 on a usage error.
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
	"strings"
	"time"

	"github.com/fogkit/fogkit/appliance"
	"github.com/fogkit/fogkit/disk"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

var errUsage = errors.New("usage: mkdisk -kernel K [-initrd I]... -cmdline \"…\" -loader systemd-boot|uki -efi PATH [-bios -syslinux PATH -gptmbr PATH] [-size 64M] -o disk.raw")

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mkdisk:", strings.ReplaceAll(err.Error(), "\n", " "))
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("mkdisk", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var initrds, extras multi
	kernel := fs.String("kernel", "", "kernel image (PE or bzImage)")
	fs.Var(&initrds, "initrd", "initrd (repeatable, in order)")
	cmdline := fs.String("cmdline", "", "kernel command line")
	loader := fs.String("loader", string(disk.SystemdBoot), "systemd-boot or uki")
	efi := fs.String("efi", "", "systemd-bootx64.efi (systemd-boot) or linuxx64.efi.stub (uki)")
	bios := fs.Bool("bios", false, "also boot under legacy BIOS (runs syslinux)")
	syslinux := fs.String("syslinux", "syslinux", "syslinux program (with -bios)")
	gptmbr := fs.String("gptmbr", "/usr/lib/SYSLINUX/gptmbr.bin", "gptmbr.bin (with -bios)")
	size := fs.String("size", "", "disk size, e.g. 64M or 1G (default: fit the content)")
	seed := fs.String("seed", "", "seed for the GUIDs and volume ID (default: derived from the inputs)")
	title := fs.String("title", "", "boot entry title (default fogkit)")
	espName := fs.String("name", "", "ESP partition name")
	epoch := fs.Int64("mtime", 0, "FAT file times, Unix seconds (default 1980-01-01)")
	fs.Var(&extras, "extra", "extra ESP file as ESP/PATH=HOSTFILE (repeatable)")
	out := fs.String("o", "", "output raw image (required)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 0 || *kernel == "" || *efi == "" || *out == "" {
		return errUsage
	}
	spec := &disk.Spec{
		Loader:  disk.Loader(*loader),
		EFI:     disk.File{Path: *efi},
		Kernel:  disk.File{Path: *kernel},
		Cmdline: *cmdline,
		Title:   *title,
	}
	for _, p := range initrds {
		spec.Initrds = append(spec.Initrds, disk.File{Path: p})
	}
	for _, e := range extras {
		name, host, ok := strings.Cut(e, "=")
		if !ok || name == "" || host == "" {
			return fmt.Errorf("%w: -extra wants ESP/PATH=HOSTFILE, got %q", errUsage, e)
		}
		spec.Extra = append(spec.Extra, disk.File{Name: name, Path: host})
	}
	if *bios {
		spec.BIOS = &disk.BIOS{Syslinux: *syslinux, GPTMBR: disk.File{Path: *gptmbr}}
	}
	opts := &disk.Options{Seed: *seed, ESPName: *espName}
	if *epoch != 0 {
		opts.ModTime = time.Unix(*epoch, 0).UTC()
	}
	if *size != "" {
		n, err := appliance.ParseSize(*size)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		opts.DiskSize = n
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := disk.BuildFile(ctx, spec, *out, opts)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}
