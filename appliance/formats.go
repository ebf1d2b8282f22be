package appliance

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/fogkit/fogkit/gce"
	"github.com/fogkit/fogkit/qcow2"
	"github.com/fogkit/fogkit/vhd"
	"github.com/fogkit/fogkit/vhdx"
)

// Format is one kind of output an appliance is shipped in.
type Format string

// The output formats of Spec.Formats. Every format is written from the
// same raw boot disk (and data disk), so each holds the same bytes.
const (
	// FormatOVA is the signed OVA (VMware, VirtualBox, AWS) with its two
	// VMDKs: "<name>.ova", "<name>-boot.vmdk", "<name>-data.vmdk".
	FormatOVA Format = "ova"
	// FormatQCOW2 is a qcow2 v3 boot and data disk for KVM, Proxmox and
	// OpenStack: "<name>-boot.qcow2", "<name>-data.qcow2".
	FormatQCOW2 Format = "qcow2"
	// FormatVHD is a fixed VHD boot disk, its size a whole MiB as Azure
	// requires (Hyper-V generation 2, Azure, Xen), and a dynamic VHD data
	// disk: "<name>-boot.vhd", "<name>-data.vhd". On Azure, attach an
	// empty managed disk instead: the appliance formats a blank disk.
	FormatVHD Format = "vhd"
	// FormatVHDX is a VHDX boot and data disk for Hyper-V:
	// "<name>-boot.vhdx", "<name>-data.vhdx".
	FormatVHDX Format = "vhdx"
	// FormatGCE is the boot disk as a Google Compute Engine image,
	// "<name>-gce.tar.gz" (disk.raw in an old-GNU tar, gzip'd). Attach an
	// empty persistent disk for data: the appliance formats a blank disk.
	FormatGCE Format = "gce"
	// FormatISO is a hybrid ISO for bare metal and recovery, "<name>.iso":
	// it boots as a CD-ROM or written to a USB stick, under UEFI, and
	// under BIOS too when Spec.ISOLinux is set.
	FormatISO Format = "iso"
)

// Formats lists every Format in the order Build writes them.
var Formats = []Format{FormatOVA, FormatQCOW2, FormatVHD, FormatVHDX, FormatGCE, FormatISO}

// ParseFormats reads a comma-separated list such as "ova,qcow2,iso", as
// the pipeline's -formats flag takes it.
func ParseFormats(s string) ([]Format, error) {
	var out []Format
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		if !slices.Contains(Formats, Format(f)) {
			return nil, fmt.Errorf("%w: unknown format %q (use %s)", ErrSpec, f, formatList())
		}
		if !slices.Contains(out, Format(f)) {
			out = append(out, Format(f))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no format in %q", ErrSpec, s)
	}
	return out, nil
}

func formatList() string {
	var s []string
	for _, f := range Formats {
		s = append(s, string(f))
	}
	return strings.Join(s, ", ")
}

// wants reports whether the spec asks for format f.
func (b *builder) wants(f Format) bool { return slices.Contains(b.s.Formats, f) }

// stageFormats writes the boot and data disks in every disk format the
// spec asks for besides the OVA's VMDKs.
func (b *builder) stageFormats(ctx context.Context) error {
	type disk struct {
		role string // "boot" or "data"
		path string
		size int64
	}
	var disks []disk
	if b.bootRaw != "" {
		disks = append(disks, disk{"boot", b.bootRaw, 0})
	}
	disks = append(disks, disk{"data", b.dataRaw, 0})
	for _, f := range []Format{FormatQCOW2, FormatVHD, FormatVHDX, FormatGCE} {
		if !b.wants(f) {
			continue
		}
		if b.bootRaw == "" {
			b.note(fmt.Sprintf("format %s: not written: the appliance is not bootable (%s)", f, b.why))
			continue
		}
		for _, d := range disks {
			if f == FormatGCE && d.role == "data" {
				continue // a cloud attaches an empty disk, which the appliance formats
			}
			if err := b.writeDiskFormat(ctx, f, d.role, d.path); err != nil {
				return fmt.Errorf("%s %s disk: %w", f, d.role, err)
			}
		}
	}
	return nil
}

// writeDiskFormat writes the raw disk at path as format f.
func (b *builder) writeDiskFormat(ctx context.Context, f Format, role, path string) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	name := fmt.Sprintf("%s-%s.%s", b.s.Name, role, f)
	progress := func(done, total int64) {
		b.event(Event{Stage: string(f), File: name, Done: done, Total: total})
	}
	key := string(f) + strings.ToUpper(role[:1]) + role[1:] // "qcow2Boot", "vhdData"...
	switch f {
	case FormatQCOW2:
		// The boot disk's clusters are zlib-compressed (every qemu reads
		// them, and the download shrinks to the data); the data disk is
		// an empty file system, nearly all unallocated either way. No
		// digest: writeOutput hashes the file it wrote.
		o := &qcow2.Options{Workers: b.o.Workers, NoDigest: true,
			Progress: func(e qcow2.Event) { progress(e.Done, e.Total) }}
		if role == "boot" {
			o.Compression = qcow2.CompressionZlib
		}
		b.rec.Options[key] = o
		return b.writeOutput(name, func(w io.Writer) error { _, err := qcow2.Write(ctx, w, src, size, o); return err })
	case FormatVHD:
		// The boot disk is fixed (the type Azure imports, and the one
		// Hyper-V and Xen take everywhere); the mostly empty data disk is
		// dynamic, or it would ship its whole capacity.
		o := &vhd.Options{Type: vhd.TypeFixed, RoundUp: true, ModTime: b.s.Epoch,
			Progress: func(e vhd.Event) { progress(e.Done, e.Total) }}
		if role == "data" {
			o.Type = vhd.TypeDynamic
		}
		b.rec.Options[key] = o
		return b.writeOutput(name, func(w io.Writer) error { _, err := vhd.Write(ctx, w, src, size, o); return err })
	case FormatVHDX:
		// writeOutput hashes the file it wrote: the writer's own digest
		// would be a second SHA-256 of the same bytes. 1 MiB blocks, as
		// Microsoft advises for Linux guests: ext4 spreads its metadata
		// over the disk, and each touched 32 MiB block (the default)
		// would be stored whole.
		o := &vhdx.Options{BlockSize: 1 << 20, Workers: b.o.Workers, NoDigest: true, FileName: name,
			Progress: func(e vhdx.Event) { progress(e.Done, e.Total) }}
		b.rec.Options[key] = o
		return b.writeOutput(name, func(w io.Writer) error { _, err := vhdx.Write(ctx, w, src, size, o); return err })
	case FormatGCE:
		name = b.s.Name + "-gce.tar.gz"
		o := &gce.Options{ModTime: b.s.Epoch,
			Progress: func(e gce.Event) { b.event(Event{Stage: string(f), File: name, Done: e.Done, Total: e.Total}) }}
		b.rec.Options["gce"] = o
		return b.writeOutput(name, func(w io.Writer) error { _, err := gce.Write(ctx, w, src, size, o); return err })
	}
	return fmt.Errorf("format %q has no disk writer", f)
}
