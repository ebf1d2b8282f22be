package specfile

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/fogkit/fogkit/appliance"
)

// The types below are the spec file as written: their JSON names are the
// file's keys, their comments its documentation (and the descriptions of
// appliance.schema.json), their `jsonschema` tags the constraints both the
// schema and Parse enforce (required, enum, minimum, minLength,
// uniqueItems). Parse reads a file into a Document and turns it into an
// appliance.Spec; relative paths are relative to the file's directory.

// Document is an appliance spec file: what to build, as appliance.Spec
// says it, with paths and sizes in the forms people write.
type Document struct {
	// Name names the VM and the output files (<name>.ova): 1-64 letters, digits, '.', '_' and '-', not starting with '.' or '-'.
	Name string `json:"name" jsonschema:"required,minLength=1"`
	// Product is the product id in licenses and update packages; default: name.
	Product string `json:"product,omitempty"`
	// Vendor is the vendor's name, shown in the OVF descriptor.
	Vendor string `json:"vendor,omitempty"`
	// Version is the appliance version (same characters as name), e.g. "1.0.0".
	Version string `json:"version" jsonschema:"required,minLength=1"`
	// Sequence is this build's monotonic update sequence number: each release's is higher than the one before.
	Sequence uint64 `json:"sequence" jsonschema:"required,minimum=1"`
	// App is the directory of the vendor's files, placed under appPrefix in the root file system; file modes come from the disk.
	App string `json:"app,omitempty"`
	// AppPrefix is where the app goes in the root file system; default /opt/app.
	AppPrefix string `json:"appPrefix,omitempty"`
	// AppModes set the modes of app entries in the image instead of the modes on disk (a checkout that lost its executable bits, or modes the image must have whatever the build machine's umask): for each file or directory the first rule that matches it applies; entries no rule matches keep their disk mode.
	AppModes []AppMode `json:"appModes,omitempty"`
	// Init is the appliance's /init, a static linux/amd64 program: a file, or a Go package to build.
	Init InitSource `json:"init" jsonschema:"required"`
	// Kernel is the Linux kernel (bzImage): a file, the build host's (host: true), or the distribution's, fetched when no other is found (fetch: true). Absent: the appliance is valid but does not boot.
	Kernel KernelSource `json:"kernel,omitempty"`
	// ModuleTree is the kernel's lib/modules/<release> directory; default: the one beside the kernel, if any.
	ModuleTree string `json:"moduleTree,omitempty"`
	// Modules are the kernel modules put in the initramfs, with their dependencies; absent: appliance.DefaultModules (the drivers of VMware, VirtualBox, KVM, Hyper-V, Azure, AWS and Google Cloud); [] means none.
	Modules []string `json:"modules,omitempty"`
	// Loader is the UEFI boot path: systemd-boot (a loader and boot entries, what updates need) or uki (one unified kernel image); default systemd-boot.
	Loader string `json:"loader,omitempty" jsonschema:"enum=systemd-boot,enum=uki"`
	// EFI is systemd-bootx64.efi (systemd-boot) or linuxx64.efi.stub (uki); default: fetched with the kernel, or the host's systemd-boot-efi package.
	EFI string `json:"efi,omitempty"`
	// BIOS also makes the boot disk boot under legacy BIOS (a hybrid disk, through syslinux): true for the host's syslinux, or the parts' paths.
	BIOS BIOSSource `json:"bios,omitempty"`
	// Cmdline is the kernel command line.
	Cmdline string `json:"cmdline,omitempty"`
	// ESPSize is the boot disk's EFI system partition ("512M", or bytes); default 512M for systemd-boot (room for three versions), the content's size for uki.
	ESPSize Size `json:"espSize,omitempty"`
	// CPUs is the number of virtual CPUs; default 2.
	CPUs int `json:"cpus,omitempty" jsonschema:"minimum=1"`
	// MemoryMiB is the memory in MiB; default 1024.
	MemoryMiB int64 `json:"memoryMiB,omitempty" jsonschema:"minimum=1"`
	// DataSize is the capacity of the data disk, shipped as an empty ext4 file system ("20G", or bytes; 16M to 32T); default 20G.
	DataSize Size `json:"dataSize,omitempty"`
	// DataLabel is the data disk's file system label, by which the appliance finds it: 1-16 letters, digits, '.', '_' and '-'; default fogkit-data.
	DataLabel string `json:"dataLabel,omitempty"`
	// Compression is the initramfs compression; default none (the disk formats compress it, and diff updates of an uncompressed initramfs are far smaller).
	Compression string `json:"compression,omitempty" jsonschema:"enum=none,enum=gzip,enum=zstd"`
	// Formats are the outputs besides update packages, license and record; default [ova].
	Formats []string `json:"formats,omitempty" jsonschema:"uniqueItems=true,enum=ova,enum=qcow2,enum=vhd,enum=vhdx,enum=gce,enum=iso"`
	// ISOLinux lets the iso format boot under legacy BIOS: true for the host's isolinux package, or the parts' paths.
	ISOLinux ISOLinuxSource `json:"isolinux,omitempty"`
	// License, when set, is issued with the build's license key, written as <name>.lic and baked into the image.
	License *LicenseSource `json:"license,omitempty"`
	// Previous lists earlier builds' output directories: a diff update package is made from each.
	Previous []string `json:"previous,omitempty"`
	// Epoch is the build's single time input, every timestamp it writes: Unix seconds, an RFC 3339 time, or "SOURCE_DATE_EPOCH" (that variable, else today 00:00 UTC).
	Epoch Epoch `json:"epoch" jsonschema:"required"`
	// Flavours are named hardware variants of the appliance (small, medium, large), each written as its own signed OVA, <name>-<flavour>.ova: each may set cpus, memoryMiB and dataSize (absent: the appliance's). In file order; the first is the default of the combined OVA. Flavours need the ova format.
	Flavours map[string]FlavourSource `json:"flavours,omitempty"`
	// FlavourOVAs names the flavours that get their own OVA; default all of them, [] none (with combinedOVA, only the combined one).
	FlavourOVAs []string `json:"flavourOVAs,omitempty"`
	// CombinedOVA also writes <name>-flavours.ova, one OVA that offers every flavour as a deployment option (vSphere asks which at import; its data disk is a blank disk of the flavour's size, formatted by the appliance at first boot).
	CombinedOVA bool `json:"combinedOVA,omitempty"`
}

// AppMode is one rule of appModes.
type AppMode struct {
	// Match is a glob (Go's path.Match: *, ?, [...]) on the path under app, such as "bin/*" or "." for the app directory itself; a pattern without '/' matches the base name at any depth, such as "*.sh".
	Match string `json:"match" jsonschema:"required,minLength=1"`
	// Type is what the rule applies to: file (default; regular files) or dir (directories).
	Type string `json:"type,omitempty" jsonschema:"enum=file,enum=dir"`
	// Mode is the octal permission mode, quoted: "0755", "0444", "1777".
	Mode string `json:"mode" jsonschema:"required,pattern=^0?[0-7][0-7][0-7][0-7]?$"`
}

// InitSource says where the appliance's /init comes from: set exactly one
// field.
type InitSource struct {
	// File is a prebuilt static linux/amd64 program.
	File string `json:"file,omitempty"`
	// GoPackage is a Go package built into a static linux/amd64 program (CGO off, trimmed paths): an import path resolved in the current directory's module, or a directory starting with ./ or ../ (relative to the spec file).
	GoPackage string `json:"goPackage,omitempty"`
}

// KernelSource says where the kernel comes from: a file, or host and/or
// fetch.
type KernelSource struct {
	// File is a bzImage.
	File string `json:"file,omitempty"`
	// Host takes the build host's kernel (/boot/vmlinuz and the like).
	Host bool `json:"host,omitempty"`
	// Fetch downloads the distribution's kernel and systemd-boot (Debian and Ubuntu, apt-get download) when no kernel is found otherwise.
	Fetch bool `json:"fetch,omitempty"`
}

// BIOSSource is `bios:`: true for the host's syslinux parts, or the parts
// (an empty one is the host's).
type BIOSSource struct {
	// Enabled is true when the file asks for a BIOS boot.
	Enabled bool `json:"-"`
	// Syslinux is the syslinux program (mtools flavour); default /usr/bin/syslinux.
	Syslinux string `json:"syslinux,omitempty"`
	// GPTMBR is gptmbr.bin; default the syslinux-common package's.
	GPTMBR string `json:"gptmbr,omitempty"`
}

// ISOLinuxSource is `isolinux:`: true for the host's isolinux parts, or the
// parts (an empty one is the host's).
type ISOLinuxSource struct {
	// Enabled is true when the file asks for a BIOS-bootable ISO.
	Enabled bool `json:"-"`
	// Loader is isolinux.bin; default the isolinux package's.
	Loader string `json:"loader,omitempty"`
	// LDLinux is ldlinux.c32; default the syslinux-common package's.
	LDLinux string `json:"ldlinux,omitempty"`
	// HybridMBR is isohdpfx.bin, the MBR that boots the ISO from a USB stick; default the isolinux package's.
	HybridMBR string `json:"hybridMBR,omitempty"`
}

// LicenseSource is the license the build issues (see license.License).
type LicenseSource struct {
	// ID names the license; {product} and {epoch} (Unix seconds) are replaced, so "{product}-demo-{epoch}" gives fogdemo-demo-1790000000.
	ID string `json:"id" jsonschema:"required,minLength=1"`
	// Sequence orders one customer's licenses (a higher one supersedes); default 1.
	Sequence uint64 `json:"sequence,omitempty" jsonschema:"minimum=1"`
	// Product must equal the appliance's product; default it.
	Product string `json:"product,omitempty"`
	// Customer is the licensee.
	Customer CustomerSource `json:"customer" jsonschema:"required"`
	// IssuedAt is when the license was made (a date or RFC 3339 time); default the epoch.
	IssuedAt Date `json:"issuedAt,omitempty"`
	// NotBefore is the start of validity; default issuedAt.
	NotBefore Date `json:"notBefore,omitempty"`
	// ExpiresAt ends validity; set it or validFor, or neither for a perpetual license.
	ExpiresAt Date `json:"expiresAt,omitempty"`
	// ValidFor is how long after notBefore the license expires: "2y" (calendar years) or "730d" (days).
	ValidFor Period `json:"validFor,omitempty"`
	// GracePeriodDays is how many days after expiry the license still works, reported as in grace.
	GracePeriodDays int `json:"gracePeriodDays,omitempty" jsonschema:"minimum=0"`
	// UpdatesUntil is the last release date the license covers; default every release.
	UpdatesUntil Date `json:"updatesUntil,omitempty"`
	// Trial marks a trial license.
	Trial bool `json:"trial,omitempty"`
	// Seats is the number of licensed users; 0 (default) means unlimited.
	Seats int `json:"seats,omitempty" jsonschema:"minimum=0"`
	// Features are the enabled feature names.
	Features []string `json:"features,omitempty" jsonschema:"uniqueItems=true"`
	// Limits are named numeric limits, e.g. nodes: 5.
	Limits map[string]int64 `json:"limits,omitempty"`
	// InstanceID binds the license to one installation; default any.
	InstanceID string `json:"instanceId,omitempty"`
	// Metadata is free-form text carried in the license.
	Metadata map[string]string `json:"metadata,omitempty"`
}

// CustomerSource identifies the licensee.
type CustomerSource struct {
	// ID is the customer's id, e.g. ACME-001.
	ID string `json:"id" jsonschema:"required,minLength=1"`
	// Name is the customer's name.
	Name string `json:"name,omitempty"`
}

// FlavourSource is one named hardware variant; an absent field is the
// appliance's.
type FlavourSource struct {
	// CPUs is the number of virtual CPUs.
	CPUs int `json:"cpus,omitempty" jsonschema:"minimum=1"`
	// MemoryMiB is the memory in MiB.
	MemoryMiB int64 `json:"memoryMiB,omitempty" jsonschema:"minimum=1"`
	// DataSize is the data disk's capacity ("20G", or bytes).
	DataSize Size `json:"dataSize,omitempty"`
}

// Size is a byte count written "20G", "512M", "64K", "1T" (powers of
// 1024, as appliance.ParseSize reads them; "GB", "GiB" and lower case too)
// or as plain bytes.
type Size int64

// sizePattern is the written form of a Size, for the schema and Parse.
const sizePattern = `^[0-9]+([KMGTkmgt](i?[Bb])?|[Bb])?$`

var sizeRE = regexp.MustCompile(sizePattern)

func (s *Size) decodeNode(d *decoder, n *yaml.Node, path string) {
	switch n.ShortTag() {
	case "!!int":
		var v int64
		if err := n.Decode(&v); err != nil || v < 1 {
			d.bad(n, path, "want a size such as 20G or a positive number of bytes, got %s", n.Value)
			return
		}
		*s = Size(v)
	case "!!str":
		v, err := appliance.ParseSize(n.Value)
		if !sizeRE.MatchString(n.Value) || err != nil {
			d.bad(n, path, "bad size %q: use a number and K, M, G or T (powers of 1024), e.g. 20G", n.Value)
			return
		}
		*s = Size(v)
	default:
		d.wrongType(n, path, "a size such as 20G")
	}
}

// Epoch is the build time as written: Unix seconds, an RFC 3339 time, or
// "SOURCE_DATE_EPOCH".
type Epoch struct {
	// Time is the time given; zero when FromEnv.
	Time time.Time
	// FromEnv: the file says SOURCE_DATE_EPOCH (see appliance.ParseEpoch).
	FromEnv bool
}

// epochPattern is the written form of a string Epoch (checked fully by
// Parse).
const epochPattern = `^(SOURCE_DATE_EPOCH|[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ].*)$`

func (e *Epoch) decodeNode(d *decoder, n *yaml.Node, path string) {
	switch n.ShortTag() {
	case "!!int":
		var v int64
		if err := n.Decode(&v); err != nil || v < 0 || v > 1<<40 {
			d.bad(n, path, "want Unix seconds (0 or more), an RFC 3339 time or SOURCE_DATE_EPOCH, got %s", n.Value)
			return
		}
		e.Time = time.Unix(v, 0).UTC()
	case "!!str", "!!timestamp":
		if n.Value == "SOURCE_DATE_EPOCH" {
			e.FromEnv = true
			return
		}
		t, err := time.Parse(time.RFC3339, strings.Replace(n.Value, " ", "T", 1))
		if err != nil || t.Unix() < 0 {
			d.bad(n, path, "bad time %q: use Unix seconds, an RFC 3339 time (2026-01-02T15:04:05Z) or SOURCE_DATE_EPOCH", n.Value)
			return
		}
		e.Time = t.UTC()
	default:
		d.wrongType(n, path, "Unix seconds, an RFC 3339 time or SOURCE_DATE_EPOCH")
	}
}

// Date is a point in time written as a date (2028-01-31, midnight UTC) or
// an RFC 3339 time.
type Date struct{ time.Time }

// datePattern is the written form of a Date (checked fully by Parse).
const datePattern = `^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ].*)?$`

func (t *Date) decodeNode(d *decoder, n *yaml.Node, path string) {
	if tag := n.ShortTag(); tag != "!!str" && tag != "!!timestamp" {
		d.wrongType(n, path, "a date such as 2028-01-31")
		return
	}
	v, err := time.Parse(time.DateOnly, n.Value)
	if err != nil {
		v, err = time.Parse(time.RFC3339, strings.Replace(n.Value, " ", "T", 1))
	}
	if err != nil || v.Year() < 1970 {
		d.bad(n, path, "bad date %q: use 2028-01-31 or an RFC 3339 time (2028-01-31T12:00:00Z)", n.Value)
		return
	}
	t.Time = v.UTC()
}

// Period is a length of time in calendar terms: "2y" or "730d".
type Period struct {
	Years, Days int
}

// IsZero reports whether p is absent.
func (p Period) IsZero() bool { return p.Years == 0 && p.Days == 0 }

// AddTo returns t moved forward by p (calendar years, then days).
func (p Period) AddTo(t time.Time) time.Time { return t.AddDate(p.Years, 0, p.Days) }

const periodPattern = `^[1-9][0-9]{0,4}[yd]$`

var periodRE = regexp.MustCompile(periodPattern)

func (p *Period) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.ShortTag() != "!!str" {
		d.wrongType(n, path, `a period such as "2y" or "730d"`)
		return
	}
	if !periodRE.MatchString(n.Value) {
		d.bad(n, path, "bad period %q: use years (2y) or days (730d)", n.Value)
		return
	}
	v, _ := strconv.Atoi(n.Value[:len(n.Value)-1])
	if n.Value[len(n.Value)-1] == 'y' {
		*p = Period{Years: v}
	} else {
		*p = Period{Days: v}
	}
}

func (b *BIOSSource) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		var v bool
		_ = n.Decode(&v)
		*b = BIOSSource{Enabled: v}
		return
	}
	if n.Kind != yaml.MappingNode {
		d.wrongType(n, path, "true, false or {syslinux, gptmbr}")
		return
	}
	d.decodeStruct(n, valueOf(b), path)
	b.Enabled = true
}

func (b *ISOLinuxSource) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		var v bool
		_ = n.Decode(&v)
		*b = ISOLinuxSource{Enabled: v}
		return
	}
	if n.Kind != yaml.MappingNode {
		d.wrongType(n, path, "true, false or {loader, ldlinux, hybridMBR}")
		return
	}
	d.decodeStruct(n, valueOf(b), path)
	b.Enabled = true
}

// describe names a node's kind for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return fmt.Sprintf("the string %q", clip(n.Value))
		case "!!int", "!!float":
			return "the number " + clip(n.Value)
		case "!!bool":
			return n.Value
		case "!!null":
			return "no value"
		case "!!timestamp":
			return "the time " + clip(n.Value)
		}
		return fmt.Sprintf("%s %q", n.ShortTag(), clip(n.Value))
	}
	return "an unexpected value"
}

// clip shortens v for a message.
func clip(v string) string {
	if len(v) > 40 {
		return v[:37] + "..."
	}
	return v
}
