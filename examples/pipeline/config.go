package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// config is everything the flags say; it is recorded in build.json.
type config struct {
	App        string `json:"app,omitempty"` // "" = the embedded demo app
	Name       string `json:"name"`
	Product    string `json:"product"`
	Vendor     string `json:"vendor"`
	Version    string `json:"version"`
	Sequence   uint64 `json:"sequence"`
	Out        string `json:"-"`
	Kernel     string `json:"kernel,omitempty"`
	Loader     string `json:"loader"`
	EFI        string `json:"efi,omitempty"`
	BIOS       bool   `json:"bios,omitempty"`
	Syslinux   string `json:"syslinux,omitempty"`
	GPTMBR     string `json:"gptmbr,omitempty"`
	Keys       string `json:"-"`
	Epoch      int64  `json:"epoch"`
	DataSize   int64  `json:"dataSize"`
	Previous   string `json:"previous,omitempty"`
	Cmdline    string `json:"cmdline"`
	TestBoot   bool   `json:"testBoot,omitempty"`
	CPUs       int    `json:"cpus"`
	MemoryMiB  int64  `json:"memoryMiB"`
	Compress   string `json:"compress"`
	InitBinary string `json:"initBinary,omitempty"` // a prebuilt /init instead of building demoinit
	Quiet      bool   `json:"-"`
	Fetch      bool   `json:"-"`
}

// Host places the pipeline looks in when -kernel or -efi is not given.
var (
	kernelPlaces = []string{"/boot/vmlinuz", "/vmlinuz", "/boot/vmlinuz-*"}
	efiPlaces    = map[string][]string{
		"systemd-boot": {"/usr/lib/systemd/boot/efi/systemd-bootx64.efi"},
		"uki":          {"/usr/lib/systemd/boot/efi/linuxx64.efi.stub"},
	}
	syslinuxPlaces = []string{"/usr/bin/syslinux"}
	gptmbrPlaces   = []string{"/usr/lib/SYSLINUX/gptmbr.bin", "/usr/lib/syslinux/mbr/gptmbr.bin"}
)

func parseFlags(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("pipeline", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var dataSize, epoch string
	fs.StringVar(&c.App, "app", "", "directory of the vendor's files, placed under /opt/app (default: the embedded demo app)")
	fs.StringVar(&c.Name, "name", "fogdemo", "appliance name (file names, VM name)")
	fs.StringVar(&c.Product, "product", "", "product id in licenses and update packages (default: -name)")
	fs.StringVar(&c.Vendor, "vendor", "Fogkit Demo Vendor", "vendor name")
	fs.StringVar(&c.Version, "version", "1.0.0", "appliance version")
	fs.Uint64Var(&c.Sequence, "seq", 1, "monotonic update sequence number of this build")
	fs.StringVar(&c.Out, "out", "out", "output directory")
	fs.StringVar(&c.Kernel, "kernel", "", "Linux kernel (bzImage); \"none\" for an OVA without one; default: the first of "+strings.Join(kernelPlaces, ", "))
	fs.StringVar(&c.Loader, "loader", "systemd-boot", "UEFI loader: systemd-boot or uki")
	fs.StringVar(&c.EFI, "efi", "", "systemd-bootx64.efi or linuxx64.efi.stub (default: from the systemd-boot-efi package)")
	fs.BoolVar(&c.BIOS, "bios", false, "also boot under legacy BIOS (hybrid disk; needs syslinux)")
	fs.StringVar(&c.Syslinux, "syslinux", "", "syslinux program for -bios (default /usr/bin/syslinux)")
	fs.StringVar(&c.GPTMBR, "gptmbr", "", "gptmbr.bin for -bios (default from the syslinux-common package)")
	fs.StringVar(&c.Keys, "keys", "keys", "key directory, created with fresh keys when missing; kept out of -out so publishing the output never publishes a private key")
	fs.StringVar(&epoch, "epoch", "", "build time as Unix seconds (default SOURCE_DATE_EPOCH, else today 00:00 UTC)")
	fs.StringVar(&dataSize, "data-size", "20G", "capacity of the empty data disk")
	fs.StringVar(&c.Previous, "previous", "", "an earlier build's output directory, to also emit a diff update package")
	fs.StringVar(&c.Cmdline, "cmdline", "console=tty0 console=ttyS0 panic=-1", "kernel command line")
	fs.BoolVar(&c.TestBoot, "test-boot", false, "add fogkit.test to the command line: the demo /init powers off after its checks")
	fs.IntVar(&c.CPUs, "cpus", 2, "virtual CPUs")
	fs.Int64Var(&c.MemoryMiB, "memory", 1024, "memory in MiB")
	// Uncompressed by default: the VMDK's zlib grains compress it inside
	// the OVA anyway, and a diff update of an uncompressed initramfs is tens
	// of times smaller than one of a compressed initramfs (BENCHMARKS.md).
	fs.StringVar(&c.Compress, "compress", "none", "initramfs compression: none, gzip or zstd")
	fs.StringVar(&c.InitBinary, "init", "", "a prebuilt static /init to use instead of building the demo one")
	fs.BoolVar(&c.Quiet, "q", false, "no progress output")
	fs.BoolVar(&c.Fetch, "fetch", true, "when no -kernel is given or found, fetch the distribution's kernel and systemd-boot with apt-get download (Debian and Ubuntu) into the user cache")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stderr)
			fmt.Fprintln(os.Stderr, "usage: go run ./examples/pipeline [flags]")
			fs.PrintDefaults()
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.Product == "" {
		c.Product = c.Name
	}
	if c.Loader != "systemd-boot" && c.Loader != "uki" {
		return nil, fmt.Errorf("-loader must be systemd-boot or uki, not %q", c.Loader)
	}
	var err error
	if c.DataSize, err = parseSize(dataSize); err != nil {
		return nil, fmt.Errorf("-data-size: %w", err)
	}
	if c.Epoch, err = parseEpoch(epoch); err != nil {
		return nil, fmt.Errorf("-epoch: %w", err)
	}
	for flagName, v := range map[string]string{"-name": c.Name, "-version": c.Version, "-product": c.Product} {
		if !safeComponent(v) {
			return nil, fmt.Errorf("%s %q: use letters, digits, '.', '_' and '-' only (it becomes part of file names)", flagName, v)
		}
	}
	if c.Previous != "" {
		if same, err := sameDir(c.Previous, c.Out); err != nil {
			return nil, fmt.Errorf("-previous: %w", err)
		} else if same {
			return nil, errors.New("-previous must be another build's directory, not -out (this build replaces its boot tree)")
		}
		if _, err := os.Stat(filepath.Join(c.Previous, "build.json")); err != nil {
			return nil, fmt.Errorf("-previous: %s holds no build.json: %w", c.Previous, err)
		}
	}
	if c.Keys == "" {
		return nil, errors.New("-keys must name a directory")
	}
	if c.TestBoot {
		c.Cmdline += " fogkit.test"
	}
	return c, nil
}

func parseEpoch(s string) (int64, error) {
	if s == "" {
		s = os.Getenv("SOURCE_DATE_EPOCH")
	}
	if s == "" {
		// Today at midnight: two runs on the same day give the same bytes.
		return time.Now().UTC().Truncate(24 * time.Hour).Unix(), nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("want Unix seconds, got %q", s)
	}
	return v, nil
}

// parseSize reads "20G", "20GB", "20GiB", "512M", "64K" (all powers of
// 1024, as disk sizes are) or plain bytes.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	mult := int64(1)
	unit := strings.TrimSuffix(strings.TrimSuffix(s, "IB"), "B")
	for suffix, m := range map[string]int64{"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40} {
		if t, ok := strings.CutSuffix(unit, suffix); ok {
			s, mult = t, m
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 || v > (1<<50)/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return v * mult, nil
}

// firstExisting returns the first path (globs allowed) that names a file.
func firstExisting(places []string) string {
	for _, p := range places {
		matches, _ := filepath.Glob(p)
		for _, m := range matches {
			if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() {
				return m
			}
		}
	}
	return ""
}

// safeComponent reports whether s can stand alone as a file name part:
// no separators, no "..", nothing a shell or a tar header would mangle.
func safeComponent(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// sameDir reports whether a and b name the same directory; b need not
// exist yet.
func sameDir(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, nil
	}
	return os.SameFile(sa, sb), nil
}
