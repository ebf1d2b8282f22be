package main

import (
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/fogkit/fogkit/appliance"
	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/license"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/fogkit/fogkit/sign"
)

//go:embed demoapp
var demoApp embed.FS

// run turns the flags into an appliance.Spec and builds it.
func run(ctx context.Context, cfg *config, progress io.Writer) (*appliance.Record, error) {
	if cfg.Quiet {
		progress = io.Discard
	}
	keys, created, err := loadOrCreateKeys(cfg.Keys, cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if created {
		fmt.Fprintf(progress, "created fresh keys in %s\n", cfg.Keys)
	}
	init, err := demoInit(ctx, cfg.InitBinary)
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	epoch := time.Unix(cfg.Epoch, 0).UTC()
	spec := &appliance.Spec{
		Name: cfg.Name, Product: cfg.Product, Vendor: cfg.Vendor, Version: cfg.Version, Sequence: cfg.Sequence,
		AppDir: cfg.App, Init: init,
		Loader: disk.Loader(cfg.Loader), EFI: cfg.EFI, Cmdline: cfg.Cmdline,
		CPUs: cfg.CPUs, MemoryMiB: cfg.MemoryMiB, DataSize: cfg.DataSize,
		Compression: rootfs.Compression(cfg.Compress),
		License:     demoLicense(cfg, epoch),
		Epoch:       epoch,
	}
	if cfg.App == "" {
		sub, err := fs.Sub(demoApp, "demoapp")
		if err != nil {
			return nil, err
		}
		spec.App = sub
		// embed.FS reports every file 0444: make the entry point executable.
		spec.AppHook = func(e *rootfs.Entry) bool {
			if strings.HasSuffix(e.Path, ".sh") {
				e.Mode = 0o755
			}
			return true
		}
	}
	switch cfg.Kernel {
	case "":
		spec.Kernel = firstExisting(kernelPlaces)
	case "none":
	default:
		spec.Kernel = cfg.Kernel
	}
	if cfg.BIOS {
		if spec.BIOS, err = biosSpec(cfg); err != nil {
			return nil, err
		}
	}
	if cfg.Previous != "" {
		spec.Previous = []string{cfg.Previous}
	}
	opts := &appliance.Options{
		Dir: cfg.Out, Keys: keys,
		FetchAssets: cfg.Kernel == "" && cfg.Fetch,
		Progress:    newProgress(progress),
	}
	return appliance.Build(ctx, spec, opts)
}

// loadOrCreateKeys loads the key directory, creating a fresh key set when
// it has none yet (sign.CreateKeyDir refuses a directory holding other
// files). Keys are random: a reproducible build reuses a key directory.
func loadOrCreateKeys(dir, name string) (*sign.KeySet, bool, error) {
	if _, err := os.Stat(filepath.Join(dir, sign.LicenseKeyFile)); os.IsNotExist(err) {
		ks, err := sign.CreateKeyDir(dir, &sign.KeyDirOptions{Name: name})
		return ks, true, err
	}
	ks, err := sign.LoadKeyDir(dir)
	return ks, false, err
}

// demoInit builds the demo /init as a static linux/amd64 binary with the
// Go toolchain, unless path names a prebuilt one.
func demoInit(ctx context.Context, path string) ([]byte, error) {
	if path != "" {
		return os.ReadFile(path)
	}
	tmp, err := os.MkdirTemp("", "fogkit-init-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "init")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w",
		"-o", bin, "github.com/fogkit/fogkit/examples/pipeline/demoinit")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build of the demo /init (run from the fogkit module, or pass -init): %v\n%s", err, b)
	}
	return os.ReadFile(bin)
}

// demoLicense is the demo customer's license, baked into the image.
func demoLicense(cfg *config, epoch time.Time) *license.License {
	expires := epoch.AddDate(2, 0, 0)
	return &license.License{
		ID:          fmt.Sprintf("%s-demo-%d", cfg.Product, cfg.Epoch),
		Sequence:    1,
		Product:     cfg.Product,
		Customer:    license.Customer{ID: "ACME-001", Name: "Acme Corporation"},
		IssuedAt:    epoch,
		NotBefore:   epoch,
		ExpiresAt:   &expires,
		GracePeriod: license.Days(14),
		Seats:       25,
		Features:    []string{"backup", "cluster", "reporting"},
		Limits:      map[string]int64{"nodes": 5},
		Metadata:    map[string]string{"issued-by": "fogkit reference pipeline"},
	}
}

func biosSpec(cfg *config) (*disk.BIOS, error) {
	syslinux := cfg.Syslinux
	if syslinux == "" {
		syslinux = firstExisting(syslinuxPlaces)
	}
	gptmbr := cfg.GPTMBR
	if gptmbr == "" {
		gptmbr = firstExisting(gptmbrPlaces)
	}
	if syslinux == "" || gptmbr == "" {
		return nil, fmt.Errorf("-bios needs syslinux and gptmbr.bin (Debian: apt-get install syslinux syslinux-common, or pass -syslinux and -gptmbr)")
	}
	return &disk.BIOS{Syslinux: syslinux, GPTMBR: disk.File{Path: gptmbr}}, nil
}

func printSummary(w io.Writer, cfg *config, rec *appliance.Record, took time.Duration) {
	fmt.Fprintf(w, "\nfogkit pipeline: %s %s in %s (%s)\n", cfg.Name, cfg.Version, cfg.Out, took.Round(time.Millisecond))
	for _, o := range rec.Outputs {
		fmt.Fprintf(w, "  %-28s %12d bytes  sha256 %s\n", o.Path, o.Size, o.SHA256)
	}
	fmt.Fprintf(w, "  %-28s provenance: inputs, options and the outputs above\n", appliance.RecordFile)
	fmt.Fprintf(w, "  %-28s the boot tree that update packages carry\n", appliance.BootTreeDir+"/")
	fmt.Fprintf(w, "  %-28s signing keys (keep the .key files private)\n", cfg.Keys+"/")
	for _, p := range rec.Assets {
		fmt.Fprintf(w, "  fetched %s %s (sha256 %s)\n", p.Name, p.Version, p.SHA256)
	}
	if len(rec.Modules) > 0 {
		fmt.Fprintf(w, "  %d kernel modules in the initramfs\n", len(rec.Modules))
	}
	for _, n := range rec.Notes {
		fmt.Fprintln(w, "NOTE:", n)
	}
	if rec.Bootable {
		fmt.Fprintf(w, "bootable: import %s in VMware or VirtualBox, or boot %s under qemu with OVMF\n",
			filepath.Join(cfg.Out, cfg.Name+".ova"), filepath.Join(cfg.Out, cfg.Name+"-boot.vmdk"))
	}
}
