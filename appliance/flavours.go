package appliance

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/fogkit/fogkit/ext4"
	"github.com/fogkit/fogkit/ova"
	"github.com/fogkit/fogkit/ovf"
	"github.com/fogkit/fogkit/vmdk"
)

// Flavour is one named hardware variant of the appliance, such as small,
// medium or large. A zero field is the spec's own.
type Flavour struct {
	// Name names the flavour and its OVA, "<name>-<flavour>.ova": 1-64
	// letters, digits, '.', '_' and '-', not "flavours".
	Name      string `json:"name"`
	CPUs      int    `json:"cpus,omitempty"`
	MemoryMiB int64  `json:"memoryMiB,omitempty"`
	// DataSize is the data disk's capacity, 16 MiB to 32 TiB.
	DataSize int64 `json:"dataSize,omitempty"`
}

// CombinedOVASuffix ends the name of the OVA that offers every flavour as
// a deployment option: "<name>-flavours.ova".
const CombinedOVASuffix = "-flavours.ova"

// FlavourOVA is the file name of one flavour's OVA.
func FlavourOVA(name, flavour string) string { return name + "-" + flavour + ".ova" }

// checkFlavours fills each flavour's zero fields from the spec and
// reports every problem of the flavour fields.
func (c *Spec) checkFlavours(bad func(string, ...any)) {
	if len(c.Flavours) == 0 {
		if c.FlavourOVAs != nil {
			bad("FlavourOVAs: the spec has no Flavours")
		}
		if c.CombinedOVA {
			bad("CombinedOVA: the spec has no Flavours")
		}
		return
	}
	if !slices.Contains(c.Formats, FormatOVA) {
		bad("Flavours: flavours are OVAs; add %q to Formats", FormatOVA)
	}
	fl := make([]Flavour, len(c.Flavours))
	seen := map[string]bool{}
	for i, f := range c.Flavours {
		switch {
		case !safeComponent(f.Name):
			bad("Flavours[%d] (%s): name %q: use 1-64 letters, digits, '.', '_' and '-', not starting with '.' or '-'", i, f.Name, f.Name)
		case f.Name == "flavours":
			bad("Flavours[%d] (%s): the name %q is taken by the combined OVA (%s)", i, f.Name, f.Name, c.Name+CombinedOVASuffix)
		case seen[f.Name]:
			bad("Flavours[%d] (%s): listed twice", i, f.Name)
		}
		seen[f.Name] = true
		if f.CPUs == 0 {
			f.CPUs = c.CPUs
		}
		if f.MemoryMiB == 0 {
			f.MemoryMiB = c.MemoryMiB
		}
		if f.DataSize == 0 {
			f.DataSize = c.DataSize
		}
		if f.CPUs < 0 || f.MemoryMiB < 0 || f.DataSize < 0 {
			bad("Flavours[%d] (%s): CPUs, MemoryMiB and DataSize must not be negative", i, f.Name)
		} else if f.DataSize < ext4.MinSize || f.DataSize > ext4.MaxSize {
			bad("Flavours[%d] (%s): DataSize %d: the data disk is formatted as ext4, which takes %d MiB to %d TiB", i, f.Name, f.DataSize, ext4.MinSize>>20, ext4.MaxSize>>40)
		} else if f.DataSize%512 != 0 {
			bad("Flavours[%d] (%s): DataSize %d is not a whole number of 512-byte sectors", i, f.Name, f.DataSize)
		}
		fl[i] = f
	}
	c.Flavours = fl
	for i, n := range c.FlavourOVAs {
		if !seen[n] {
			bad("FlavourOVAs[%d]: no flavour %q (the spec has %v)", i, n, c.flavourNames())
		}
	}
	c.FlavourOVAs = slices.Clone(c.FlavourOVAs)
}

func (c *Spec) flavourNames() []string {
	n := make([]string, len(c.Flavours))
	for i, f := range c.Flavours {
		n[i] = f.Name
	}
	return n
}

// ovaFile is one disk of an OVA: its name inside the archive, where it is
// now and what the VMDK writer reported.
type ovaFile struct {
	name, path string
	res        *vmdk.Result
}

// stageFlavours writes one OVA per flavour asked for and, with
// CombinedOVA, the OVA that offers them all. Every flavour shares the boot
// disk; a flavour whose data disk has the spec's size shares the data VMDK
// too, any other gets its own, formatted as the spec's is (same label and
// seed), written beside the outputs and removed once in its OVA.
func (b *builder) stageFlavours(ctx context.Context) error {
	for _, f := range b.s.Flavours {
		if b.s.FlavourOVAs != nil && !slices.Contains(b.s.FlavourOVAs, f.Name) {
			continue
		}
		if err := b.writeFlavourOVA(ctx, f); err != nil {
			return fmt.Errorf("flavour %s: %w", f.Name, err)
		}
	}
	if b.s.CombinedOVA {
		return b.writeCombinedOVA(ctx)
	}
	return nil
}

func (b *builder) writeFlavourOVA(ctx context.Context, f Flavour) error {
	data := ovaFile{b.s.Name + "-data.vmdk", b.path(b.s.Name + "-data.vmdk"), b.data}
	if f.DataSize != b.s.DataSize {
		var err error
		if data.path, data.res, err = b.flavourDataVMDK(ctx, f); err != nil {
			return err
		}
		defer os.Remove(data.path)
	}
	vs := b.virtualSystem()
	vs.CPUs, vs.MemoryMiB = f.CPUs, f.MemoryMiB
	vs.Annotation = fmt.Sprintf("%s %s (%s), built with fogkit", b.s.Name, b.s.Version, f.Name)
	vs.Disks[1].FileSize, vs.Disks[1].Capacity = data.res.Size, data.res.Capacity
	desc, err := b.descriptor(vs, true)
	if err != nil {
		return err
	}
	boot := ovaFile{b.s.Name + "-boot.vmdk", b.path(b.s.Name + "-boot.vmdk"), b.boot}
	return b.writeOVA(ctx, FlavourOVA(b.s.Name, f.Name), b.s.Name+"-"+f.Name, desc, []ovaFile{boot, data})
}

// flavourDataVMDK formats a data disk of the flavour's size and writes
// its VMDK to a temporary file in the output directory.
func (b *builder) flavourDataVMDK(ctx context.Context, f Flavour) (string, *vmdk.Result, error) {
	raw := b.path(b.s.Name + "-" + f.Name + "-data.raw.partial")
	out := b.path(b.s.Name + "-" + f.Name + "-data.vmdk.partial")
	b.intermediates = append(b.intermediates, raw, out)
	defer os.Remove(raw)
	rf, err := os.OpenFile(raw, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", nil, err
	}
	defer rf.Close()
	if err := rf.Truncate(f.DataSize); err != nil {
		return "", nil, err
	}
	if _, err := ext4.Format(ctx, rf, f.DataSize, &ext4.Options{Label: b.s.DataLabel, Seed: b.s.Name, ModTime: b.s.Epoch}); err != nil {
		return "", nil, err
	}
	wf, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", nil, err
	}
	name := b.s.Name + "-data.vmdk"
	progress := func(e vmdk.Event) { b.event(Event{Stage: "flavours", File: name, Done: e.Done, Total: e.Total}) }
	res, err := vmdk.Write(ctx, wf, rf, f.DataSize, &vmdk.Options{FileName: name, Workers: b.o.Workers, Progress: progress})
	if cerr := wf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		return "", nil, err
	}
	return out, res, nil
}

// writeCombinedOVA writes "<name>-flavours.ova": the boot disk, and one
// configuration per flavour with its CPUs, memory and a blank data disk
// of its size. A disk in an OVA has its capacity baked into its image, so
// the only way one descriptor can offer several data-disk sizes is a
// blank disk per configuration, which the importer creates at the chosen
// size and the appliance formats at first boot, as it does any blank data
// disk (with the same label and seed as the shipped one).
func (b *builder) writeCombinedOVA(ctx context.Context) error {
	vs := b.virtualSystem()
	vs.Annotation = fmt.Sprintf("%s %s (flavours %v), built with fogkit", b.s.Name, b.s.Version, b.s.flavourNames())
	vs.Disks = vs.Disks[:1]
	for _, f := range b.s.Flavours {
		vs.Configurations = append(vs.Configurations, ovf.Configuration{ID: f.Name, Label: f.Name,
			Description: fmt.Sprintf("%d virtual CPU(s), %d MiB of memory, a %s data disk", f.CPUs, f.MemoryMiB, FormatSize(f.DataSize)),
			CPUs:        f.CPUs, MemoryMiB: f.MemoryMiB})
		vs.Disks = append(vs.Disks, ovf.Disk{ID: "data-" + f.Name, Capacity: f.DataSize, Configurations: []string{f.Name}})
	}
	desc, err := b.descriptor(vs, false)
	if err != nil {
		return err
	}
	boot := ovaFile{b.s.Name + "-boot.vmdk", b.path(b.s.Name + "-boot.vmdk"), b.boot}
	return b.writeOVA(ctx, b.s.Name+CombinedOVASuffix, b.s.Name+"-flavours", desc, []ovaFile{boot})
}

// descriptor validates and writes the descriptor of vs. A portable one
// imports in VMware and VirtualBox (with the VirtualBox machine section
// for EFI). The combined OVA's is for vSphere, whose wizard offers its
// deployment options: VirtualBox ignores them (and would attach every
// flavour's blank disk), and its machine section describes one fixed
// machine, so that descriptor has the VMware profile.
func (b *builder) descriptor(vs *ovf.VirtualSystem, portable bool) ([]byte, error) {
	opts := &ovf.Options{Profile: ovf.Portable, VirtualBoxMachine: vs.Firmware == ovf.EFI}
	if !portable {
		opts = &ovf.Options{Profile: ovf.VMware}
	}
	if err := ovf.Validate(vs, opts); err != nil {
		return nil, err
	}
	return ovf.MarshalBytes(vs, opts)
}

// writeOVA writes one signed OVA of a descriptor and its disks, whose
// digests the VMDK writer computed.
func (b *builder) writeOVA(ctx context.Context, name, base string, desc []byte, disks []ovaFile) error {
	var files []ova.File
	total := int64(len(desc))
	for _, d := range disks {
		// The VMDK writer's digest goes to the manifest as it is: no
		// second pass over the disk, no hex round trip.
		f, err := ova.PathFile(d.name, d.path, d.res.SHA256)
		if err != nil {
			return err
		}
		files = append(files, f)
		total += f.Size
	}
	done := map[string]int64{}
	opts := &ova.Options{Name: base, ModTime: b.s.Epoch, Signer: b.o.Keys.OVA,
		Progress: func(e ova.Event) {
			if e.Stage == ova.StageWrite {
				done[e.File] = e.Done
				var d int64
				for _, v := range done {
					d += v
				}
				b.event(Event{Stage: "ova", File: name, Done: min(d, total), Total: total})
			}
		}}
	if base == b.s.Name {
		b.rec.Options["ova"] = opts
	}
	return b.writeOutput(name, func(w io.Writer) error {
		_, err := ova.Write(ctx, w, desc, files, opts)
		return err
	})
}
