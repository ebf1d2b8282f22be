// Command pipeline is fogkit's reference pipeline, a thin main over package
// appliance: flags, then an appliance.Spec, then appliance.Build, then a
// summary. It adds the demo's parts: its /init (examples/pipeline/demoinit,
// built with the Go toolchain), its embedded app and a demo license. With
// no -kernel and none on the host, it fetches the distribution's kernel and
// systemd-boot (Debian and Ubuntu; -fetch=false turns that off); without
// them it still builds a valid, signed OVA and says why it does not boot.
// Exit code 1 on failure, 2 on bad usage.
//
//	go run ./examples/pipeline                    # the embedded demo, into ./out
//	go run ./examples/pipeline -app ./myapp -name myapp -version 2.0.0 \
//	    -kernel /boot/vmlinuz-6.1.0-amd64 -epoch 1790000000 -previous ./out-1.0
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/fogkit/fogkit/appliance"
	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/license"
	"github.com/fogkit/fogkit/rootfs"
)

//go:embed demoapp
var demoApp embed.FS

// config is the Spec the flags describe and how to build it.
type config struct {
	spec                                  *appliance.Spec
	out, keys, kernel, initBin, sysl, gpt string
	bios, quiet, fetch                    bool
}

func parseFlags(args []string) (*config, error) {
	c, s := &config{}, &appliance.Spec{Loader: disk.SystemdBoot}
	c.spec = s
	f := flag.NewFlagSet("pipeline", flag.ContinueOnError)
	f.SetOutput(io.Discard)
	var dataSize, epoch, loader, previous, compress, formats string
	var testBoot bool
	f.StringVar(&s.AppDir, "app", "", "directory of the vendor's files, placed under /opt/app (default: the embedded demo app)")
	f.StringVar(&s.Name, "name", "fogdemo", "appliance name (file names, VM name)")
	f.StringVar(&s.Product, "product", "", "product id in licenses and update packages (default: -name)")
	f.StringVar(&s.Vendor, "vendor", "Fogkit Demo Vendor", "vendor name")
	f.StringVar(&s.Version, "version", "1.0.0", "appliance version")
	f.Uint64Var(&s.Sequence, "seq", 1, "monotonic update sequence number of this build")
	f.StringVar(&c.out, "out", "out", "output directory")
	f.StringVar(&c.kernel, "kernel", "", "Linux kernel (bzImage); \"none\" for an OVA without one; default: the first of "+strings.Join(appliance.HostKernelPlaces, ", "))
	f.StringVar(&loader, "loader", "systemd-boot", "UEFI loader: systemd-boot or uki")
	f.StringVar(&s.EFI, "efi", "", "systemd-bootx64.efi or linuxx64.efi.stub (default: from the systemd-boot-efi package)")
	f.BoolVar(&c.bios, "bios", false, "also boot under legacy BIOS (hybrid disk; needs syslinux)")
	f.StringVar(&c.sysl, "syslinux", "", "syslinux program for -bios (default /usr/bin/syslinux)")
	f.StringVar(&c.gpt, "gptmbr", "", "gptmbr.bin for -bios (default from the syslinux-common package)")
	f.StringVar(&c.keys, "keys", "keys", "key directory, created with fresh keys when missing; kept out of -out so publishing the output never publishes a private key")
	f.StringVar(&epoch, "epoch", "", "build time as Unix seconds (default SOURCE_DATE_EPOCH, else today 00:00 UTC)")
	f.StringVar(&dataSize, "data-size", "20G", "capacity of the empty data disk")
	f.StringVar(&previous, "previous", "", "an earlier build's output directory, to also emit a diff update package")
	f.StringVar(&s.Cmdline, "cmdline", "console=tty0 console=ttyS0 panic=-1", "kernel command line")
	f.BoolVar(&testBoot, "test-boot", false, "add fogkit.test to the command line: the demo /init powers off after its checks")
	f.IntVar(&s.CPUs, "cpus", 2, "virtual CPUs")
	f.Int64Var(&s.MemoryMiB, "memory", 1024, "memory in MiB")
	f.StringVar(&compress, "compress", "none", "initramfs compression: none, gzip or zstd")
	f.StringVar(&formats, "formats", "ova", "output formats, comma-separated: ova, qcow2, vhd, vhdx, gce, iso")
	f.StringVar(&c.initBin, "init", "", "a prebuilt static /init to use instead of building the demo one")
	f.BoolVar(&c.quiet, "q", false, "no progress output")
	f.BoolVar(&c.fetch, "fetch", true, "when no -kernel is given or found, fetch the distribution's kernel and systemd-boot with apt-get download (Debian and Ubuntu) into the user cache")
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.SetOutput(os.Stderr)
			fmt.Fprintln(os.Stderr, "usage: go run ./examples/pipeline [flags]")
			f.PrintDefaults()
		}
		return nil, err
	}
	if f.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", f.Arg(0))
	}
	s.Loader, s.Compression = disk.Loader(loader), rootfs.Compression(compress)
	if s.Product == "" {
		s.Product = s.Name
	}
	var err error
	if s.DataSize, err = appliance.ParseSize(dataSize); err != nil {
		return nil, fmt.Errorf("-data-size: %w", err)
	}
	if s.Formats, err = appliance.ParseFormats(formats); err != nil {
		return nil, fmt.Errorf("-formats: %w", err)
	}
	if s.Epoch, err = appliance.ParseEpoch(epoch); err != nil {
		return nil, fmt.Errorf("-epoch: %w", err)
	}
	if testBoot {
		s.Cmdline += " fogkit.test"
	}
	if previous != "" {
		if a, err := os.Stat(previous); err == nil {
			if b, err := os.Stat(c.out); err == nil && os.SameFile(a, b) {
				return nil, errors.New("-previous must be another build's directory, not -out (this build replaces its boot tree)")
			}
		}
		s.Previous = []string{previous}
	}
	return c, s.Validate()
}

// run adds the demo's parts to the spec and builds it.
func run(ctx context.Context, c *config, progress io.Writer) (*appliance.Record, error) {
	s := c.spec
	keys, created, err := appliance.OpenKeys(c.keys, s.Name)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if created {
		fmt.Fprintf(progress, "created fresh keys in %s\n", c.keys)
	}
	if c.initBin != "" {
		s.Init, err = os.ReadFile(c.initBin)
	} else {
		s.Init, err = appliance.GoInit(ctx, "github.com/fogkit/fogkit/examples/pipeline/demoinit")
	}
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	expires := s.Epoch.AddDate(2, 0, 0)
	s.License = &license.License{ID: fmt.Sprintf("%s-demo-%d", s.Product, s.Epoch.Unix()), Sequence: 1,
		Product: s.Product, Customer: license.Customer{ID: "ACME-001", Name: "Acme Corporation"},
		IssuedAt: s.Epoch, NotBefore: s.Epoch, ExpiresAt: &expires, GracePeriod: license.Days(14), Seats: 25,
		Features: []string{"backup", "cluster", "reporting"}, Limits: map[string]int64{"nodes": 5},
		Metadata: map[string]string{"issued-by": "fogkit reference pipeline"}}
	if s.AppDir == "" {
		if s.App, err = fs.Sub(demoApp, "demoapp"); err != nil {
			return nil, err
		}
		// embed.FS reports every file 0444: make the entry point executable.
		s.AppHook = func(e *rootfs.Entry) bool {
			if strings.HasSuffix(e.Path, ".sh") {
				e.Mode = 0o755
			}
			return true
		}
	}
	if s.Kernel = c.kernel; c.kernel == "" {
		s.Kernel = appliance.HostKernel()
	} else if c.kernel == "none" {
		s.Kernel = ""
	}
	if slices.Contains(s.Formats, appliance.FormatISO) {
		// The ISO boots under BIOS too where the build machine has
		// isolinux; without it the build notes a UEFI-only ISO.
		s.ISOLinux, _ = appliance.HostISOLinux()
	}
	if c.bios {
		if s.BIOS, err = appliance.HostBIOS(c.sysl, c.gpt); err != nil {
			return nil, fmt.Errorf("-bios: %w (or pass -syslinux and -gptmbr)", err)
		}
	}
	return appliance.Build(ctx, s, &appliance.Options{Dir: c.out, Keys: keys,
		FetchAssets: c.kernel == "" && c.fetch, Progress: appliance.TextProgress(progress)})
}

func main() {
	c, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start, progress := time.Now(), io.Writer(os.Stderr)
	if c.quiet {
		progress = io.Discard
	}
	rec, err := run(ctx, c, progress)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(1)
	}
	fmt.Printf("\nfogkit pipeline: %s %s in %s (%s)\n", c.spec.Name, c.spec.Version, c.out, time.Since(start).Round(time.Millisecond))
	fmt.Printf("  %-28s signing keys (keep the .key files private)\n", c.keys+"/")
	_ = rec.WriteSummary(os.Stdout, c.out)
}
