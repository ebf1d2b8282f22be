package appliance

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/ext4"
	"github.com/fogkit/fogkit/license"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/fogkit/fogkit/sign"
)

// Spec says what to build: the appliance's identity, its files, its boot
// assets and the virtual hardware it asks for. The same Spec, keys and
// epoch give the same bytes.
type Spec struct {
	// Name names the VM and the output files ("<name>.ova"). Letters,
	// digits, '.', '_' and '-' only. Required.
	Name string `json:"name"`
	// Product is the product id in licenses and update packages; default
	// Name.
	Product string `json:"product"`
	Vendor  string `json:"vendor"`
	// Version is the appliance version (same characters as Name). Required.
	Version string `json:"version"`
	// Sequence is this build's monotonic update sequence number (≥ 1).
	Sequence uint64 `json:"sequence"`

	// App is the vendor's file tree, placed under AppPrefix in the root
	// file system. AppDir is the same from a host directory (its tree
	// digest goes into the record); set one or neither.
	App    fs.FS  `json:"-"`
	AppDir string `json:"appDir,omitempty"`
	// AppPrefix is where the app tree goes; default "/opt/app".
	AppPrefix string `json:"appPrefix"`
	// AppHook may adjust or drop each app entry (for example to make a
	// script executable in an embed.FS, which reports every file 0444).
	AppHook func(*rootfs.Entry) bool `json:"-"`
	// Init is the appliance's /init: a static linux/amd64 program (the
	// vendor's, usually built on package agent). Required.
	Init []byte `json:"-"`

	// Kernel is a bzImage. Empty: Options.FetchAssets decides whether the
	// distribution's kernel is fetched; without one the build is valid but
	// not bootable, and the record says why.
	Kernel string `json:"kernel,omitempty"`
	// ModuleTree is the kernel's lib/modules/<release> directory; default
	// the one beside Kernel (../lib/modules/<release> of an unpacked
	// kernel package), if present.
	ModuleTree string `json:"moduleTree,omitempty"`
	// Modules are the kernel modules put in the initramfs with their
	// dependencies. nil means DefaultModules when a module tree is known;
	// an empty, non-nil slice means none.
	Modules []string `json:"modules"`
	// Loader is disk.SystemdBoot (default) or disk.UKI; EFI is its
	// systemd-bootx64.efi or linuxx64.efi.stub (default: fetched with the
	// kernel, or the host's systemd-boot-efi package).
	Loader disk.Loader `json:"loader"`
	EFI    string      `json:"efi,omitempty"`
	// BIOS makes a hybrid disk that also boots under legacy BIOS.
	BIOS    *disk.BIOS `json:"bios,omitempty"`
	Cmdline string     `json:"cmdline"`
	// ESPSize is the boot disk's ESP in bytes (systemd-boot: default
	// DefaultESPSize, room for the running, previous and pending versions;
	// unused space costs nothing in the VMDK). UKI: default the content's
	// size.
	ESPSize int64 `json:"espSize,omitempty"`

	// Formats are the outputs besides the update packages, the license and
	// the record; nil means just the OVA. See Format.
	Formats []Format `json:"formats,omitempty"`
	// ISOLinux makes FormatISO boot under legacy BIOS too; nil makes a
	// UEFI-only ISO. See HostISOLinux.
	ISOLinux *ISOLinux `json:"isolinux,omitempty"`

	// Flavours are named hardware variants (small, medium, large): each
	// gets its own signed OVA, "<name>-<flavour>.ova" (see FlavourOVA),
	// with its CPUs, memory and a data disk of its size, and the same boot
	// disk. The spec's own CPUs, MemoryMiB and DataSize stay those of
	// "<name>.ova" and of every other format. Flavours need FormatOVA.
	Flavours []Flavour `json:"flavours,omitempty"`
	// FlavourOVAs names the flavours that get their own OVA: nil means
	// every one, an empty non-nil slice none (with CombinedOVA, only the
	// combined one is written).
	FlavourOVAs []string `json:"flavourOVAs,omitempty"`
	// CombinedOVA also writes "<name>-flavours.ova", one OVA whose OVF
	// offers every flavour as a deployment option (a
	// DeploymentOptionSection): vSphere asks which at import. Its data disk
	// is a blank disk of the chosen flavour's size, which the appliance
	// formats at first boot. VirtualBox ignores deployment options (it
	// would attach every flavour's blank disk), so the per-flavour OVAs
	// are the ones for it.
	CombinedOVA bool `json:"combinedOVA,omitempty"`

	CPUs      int   `json:"cpus"`      // default 2
	MemoryMiB int64 `json:"memoryMiB"` // default 1024
	// DataSize is the capacity of the data disk, shipped as an empty ext4
	// file system (16 MiB to 32 TiB); default 20 GiB.
	DataSize int64 `json:"dataSize"`
	// DataLabel is the data disk's file system label, by which the
	// appliance finds it (ext4.Probe, /dev/disk/by-label); default
	// DefaultDataLabel. 1-16 letters, digits, '.', '_' and '-'.
	DataLabel string `json:"dataLabel"`
	// Compression of the initramfs; default none (the VMDK compresses it,
	// and diff updates of an uncompressed initramfs are far smaller).
	Compression rootfs.Compression `json:"compression"`

	// License, when set, is issued with the license key, written as
	// <name>.lic and baked into the image at /etc/fogkit/license.lic.
	License *license.License `json:"-"`
	// Previous lists earlier builds' output directories: a diff update
	// package is made from each (their records name version and sequence).
	Previous []string `json:"previous,omitempty"`
	// Epoch is every timestamp the build writes: the build's single time
	// input, handed to every writer as its ModTime (and to the license and
	// update packages as their issue time). It keeps the name Epoch because
	// it is more than a modification time. Required: use
	// rootfs.SourceDateEpoch for the SOURCE_DATE_EPOCH convention.
	Epoch time.Time `json:"epoch"`
}

// DefaultESPSize is the ESP of a systemd-boot appliance: three versions
// (running, previous, pending) of kernel and initramfs fit with room.
const DefaultESPSize = 512 << 20

// DefaultModules are the drivers an appliance needs to see its disks and
// network on VMware (pvscsi, LSI SPI/SAS, vmxnet3, e1000/e1000e),
// VirtualBox (AHCI, e1000), KVM/qemu and Google Cloud (virtio, gVNIC),
// Hyper-V and Azure (VMBus storage and network), and AWS's Nitro machines
// (NVMe, ENA; NVMe is built into some kernels), the SCSI disk driver
// those controllers hand their disks to, FAT for the ESP and ext4 for the
// data disk (crc32c_generic provides ext4's "crypto-crc32c"), virtio's
// random source (a guest on a CPU without RDRAND otherwise waits long for
// the entropy DHCP's transaction ids need) and efivarfs (the agent reads
// which ESP the loader booted from).
var DefaultModules = []string{
	"mptspi", "mptsas", "vmw_pvscsi", "vmxnet3", "e1000", "e1000e",
	"ahci", "virtio_pci", "virtio_blk", "virtio_scsi", "virtio_net", "sd_mod",
	"vfat", "nls_cp437", "nls_iso8859-1", "ext4", "crc32c_generic",
	"virtio_rng", "efivarfs",
	"hv_vmbus", "hv_storvsc", "hv_netvsc", "nvme", "ena", "gve",
}

// Options says how to build: where outputs go, which keys sign them.
type Options struct {
	// Dir is the output directory, created if missing. Required.
	Dir string
	// Keys sign the OVA, update packages and license. Required: see
	// sign.CreateKeyDir and sign.LoadKeyDir.
	Keys *sign.KeySet
	// FetchAssets fetches the distribution's kernel and loader when Spec
	// names none (Debian or Ubuntu; see FetchAssets). Without it, or when
	// the fetch fails, the build is not bootable and the record says why.
	FetchAssets bool
	// Assets configures the fetch; nil means defaults.
	Assets *AssetOptions
	// Workers bounds the goroutines of each parallel stage (initramfs
	// compression, VMDK grains); 0 means GOMAXPROCS. The outputs are the
	// same for any value.
	Workers int
	// Progress, when set, receives stage starts and byte counts.
	Progress func(Event)
}

// Event reports progress: a stage starting (Done and Total zero), bytes
// of a stage's output done out of Total, or a Message worth showing.
type Event struct {
	Stage   string `json:"stage"`
	File    string `json:"file,omitempty"`
	Done    int64  `json:"done"`
	Total   int64  `json:"total"`
	Message string `json:"message,omitempty"`
}

// ErrSpec: a Spec or Options field is missing or contradicts another.
var ErrSpec = errors.New("appliance: invalid spec")

// SpecError lists every problem of a Spec at once, each with its field
// path and what to do.
type SpecError struct {
	Problems []string
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("%v: %s", ErrSpec, strings.Join(e.Problems, "; "))
}

func (e *SpecError) Unwrap() error { return ErrSpec }

// safeComponent reports whether s can stand alone as a file name part.
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

// Validate reports, in one SpecError, every problem of the fields a
// command line sets (names, version, sequence, loader, sizes, epoch,
// license product), so a tool can refuse bad usage before it makes keys
// or builds an /init. Build checks these and also Init and Options.
func (s *Spec) Validate() error {
	_, err := s.check(nil, false)
	return err
}

// withDefaults returns a copy of s with defaults filled in, or a
// SpecError naming every problem.
func (s *Spec) withDefaults(o *Options) (*Spec, error) { return s.check(o, true) }

func (s *Spec) check(o *Options, full bool) (*Spec, error) {
	if s == nil {
		return nil, &SpecError{Problems: []string{"spec: nil"}}
	}
	c := *s
	var p []string
	bad := func(format string, a ...any) { p = append(p, fmt.Sprintf(format, a...)) }
	if c.Product == "" {
		c.Product = c.Name
	}
	for field, v := range map[string]string{"Name": c.Name, "Version": c.Version, "Product": c.Product} {
		if !safeComponent(v) {
			bad("%s %q: use 1-64 letters, digits, '.', '_' and '-', not starting with '.' or '-' (it becomes part of file names)", field, v)
		}
	}
	if c.Sequence == 0 {
		bad("Sequence: set the build's update sequence number (1 or more)")
	}
	if c.App != nil && c.AppDir != "" {
		bad("App and AppDir: set one, not both")
	}
	if c.AppPrefix == "" {
		c.AppPrefix = "/opt/app"
	}
	if len(c.Init) == 0 && full {
		bad("Init: give the appliance's /init (a static linux/amd64 program)")
	}
	if c.Loader == "" {
		c.Loader = disk.SystemdBoot
	}
	if c.Loader != disk.SystemdBoot && c.Loader != disk.UKI {
		bad("Loader %q: use disk.SystemdBoot or disk.UKI", c.Loader)
	}
	if c.ESPSize == 0 && c.Loader == disk.SystemdBoot {
		c.ESPSize = DefaultESPSize
	}
	if c.ESPSize < 0 || c.ESPSize > disk.MaxESPSize {
		bad("ESPSize %d: use 0 (default) up to %d bytes", c.ESPSize, disk.MaxESPSize)
	}
	if len(c.Formats) == 0 {
		c.Formats = []Format{FormatOVA}
	}
	seen := map[Format]bool{}
	for _, f := range c.Formats {
		if !slices.Contains(Formats, f) {
			bad("Formats: unknown format %q (use %s)", f, formatList())
		} else if seen[f] {
			bad("Formats: %q listed twice", f)
		}
		seen[f] = true
	}
	c.Formats = slices.Clone(c.Formats)
	if c.ISOLinux != nil && !seen[FormatISO] {
		bad("ISOLinux: set only with FormatISO in Formats")
	}
	if l := c.ISOLinux; l != nil && (l.Loader == "" || l.Ldlinux == "") {
		bad("ISOLinux: give isolinux.bin and ldlinux.c32 (HostISOLinux finds the host's)")
	}
	if c.CPUs == 0 {
		c.CPUs = 2
	}
	if c.MemoryMiB == 0 {
		c.MemoryMiB = 1024
	}
	if c.DataSize == 0 {
		c.DataSize = 20 << 30
	}
	if c.CPUs < 0 || c.MemoryMiB < 0 || c.DataSize < 0 {
		bad("CPUs, MemoryMiB and DataSize must not be negative")
	} else if c.DataSize < ext4.MinSize || c.DataSize > ext4.MaxSize {
		bad("DataSize %d: the data disk is formatted as ext4, which takes %d MiB to %d TiB", c.DataSize, ext4.MinSize>>20, ext4.MaxSize>>40)
	}
	c.checkFlavours(bad)
	if c.DataLabel == "" {
		c.DataLabel = DefaultDataLabel
	}
	if len(c.DataLabel) > ext4.MaxLabel || !safeComponent(c.DataLabel) {
		bad("DataLabel %q: use 1-%d letters, digits, '.', '_' and '-', not starting with '.' or '-'", c.DataLabel, ext4.MaxLabel)
	}
	if c.Compression == "" {
		c.Compression = rootfs.CompressNone
	}
	if c.Epoch.IsZero() {
		bad("Epoch: set the build time (rootfs.SourceDateEpoch reads SOURCE_DATE_EPOCH)")
	}
	for i, d := range c.Previous {
		if _, err := os.Stat(filepath.Join(d, RecordFile)); err != nil {
			bad("Previous[%d]: %s holds no %s (name an earlier build's output directory)", i, d, RecordFile)
		}
	}
	if c.License != nil && c.License.Product != "" && c.License.Product != c.Product {
		bad("License.Product %q differs from Product %q", c.License.Product, c.Product)
	}
	if !full {
		// Validate: the caller's Options come later.
	} else if o == nil {
		bad("options: nil (Dir and Keys are required)")
	} else {
		if o.Dir == "" {
			bad("Options.Dir: name the output directory")
		}
		if o.Keys == nil || o.Keys.License == nil || o.Keys.Update == nil || o.Keys.OVA == nil {
			bad("Options.Keys: load or create a key set (sign.LoadKeyDir, sign.CreateKeyDir)")
		}
	}
	if len(p) > 0 {
		return nil, &SpecError{Problems: p}
	}
	return &c, nil
}
