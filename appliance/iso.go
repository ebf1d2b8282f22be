package appliance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/iso"
)

// ISOLinux are the legacy BIOS boot parts of FormatISO, from the
// syslinux project (Debian: packages isolinux and syslinux-common).
type ISOLinux struct {
	// Loader is isolinux.bin, the El Torito BIOS boot image.
	Loader string `json:"loader"`
	// Ldlinux is ldlinux.c32, which isolinux.bin loads beside itself.
	Ldlinux string `json:"ldlinux"`
	// HybridMBR is isohdpfx.bin, the MBR boot code that makes the ISO
	// boot from a USB stick under BIOS; "" leaves BIOS USB boot out.
	HybridMBR string `json:"hybridMBR,omitempty"`
}

// Host places HostISOLinux looks in (Debian's isolinux and syslinux-common).
var (
	HostIsolinuxPlaces  = []string{"/usr/lib/ISOLINUX/isolinux.bin", "/usr/lib/syslinux/isolinux.bin"}
	HostLdlinuxPlaces   = []string{"/usr/lib/syslinux/modules/bios/ldlinux.c32"}
	HostHybridMBRPlaces = []string{"/usr/lib/ISOLINUX/isohdpfx.bin", "/usr/lib/syslinux/mbr/isohdpfx.bin"}
)

// HostISOLinux returns the build host's isolinux parts for Spec.ISOLinux,
// or an error with a hint when isolinux.bin or ldlinux.c32 is missing.
func HostISOLinux() (*ISOLinux, error) {
	l := &ISOLinux{Loader: firstExisting(HostIsolinuxPlaces), Ldlinux: firstExisting(HostLdlinuxPlaces),
		HybridMBR: firstExisting(HostHybridMBRPlaces)}
	if l.Loader == "" || l.Ldlinux == "" {
		return nil, errors.New("appliance: a BIOS-bootable ISO needs isolinux.bin and ldlinux.c32 (Debian: apt-get install isolinux syslinux-common)")
	}
	return l, nil
}

// The ISO's own files: the El Torito EFI image is also a file, and the
// BIOS side boots the kernel and initramfs from the ISO 9660 tree.
const (
	isoDir        = "isolinux"
	isoKernel     = "boot/vmlinuz"
	isoInitrd     = "boot/initrd.img"
	isoHybridSize = 432 // bytes of isohdpfx.bin that go into the MBR
)

// stageISO writes the hybrid ISO. Its EFI boot image is a second,
// compact ESP made from the same boot files as the boot disk (the boot
// disk's ESP has room for three versions, which an ISO would carry as
// zeros); under BIOS, isolinux boots the same kernel and initramfs with
// the same command line from the ISO 9660 tree.
func (b *builder) stageISO(ctx context.Context) error {
	if !b.wants(FormatISO) {
		return nil
	}
	if b.bootRaw == "" {
		b.note(fmt.Sprintf("format iso: not written: the appliance is not bootable (%s)", b.why))
		return nil
	}
	espRaw := b.path("iso-esp.raw.partial")
	defer os.Remove(espRaw)
	spec := *b.diskSpec
	spec.BIOS = nil
	spec.Extra = slices.Clone(spec.Extra)
	for i := range spec.Extra {
		spec.Extra[i].R = bytes.NewReader(b.diskExtra[i])
	}
	espOpts := &disk.Options{ModTime: b.s.Epoch, Seed: b.s.Name + "/" + b.s.Version + "/iso"}
	res, err := disk.BuildFile(ctx, &spec, espRaw, espOpts)
	if err != nil {
		return fmt.Errorf("EFI image: %w", err)
	}
	if len(res.Layout.Partitions) != 1 {
		return fmt.Errorf("EFI image: %d partitions, want the ESP alone", len(res.Layout.Partitions))
	}
	part := res.Layout.Partitions[0]
	ef, err := os.Open(espRaw)
	if err != nil {
		return err
	}
	defer ef.Close()

	is := &iso.Spec{VolumeID: isoVolumeID(b.s.Name),
		EFI: &iso.File{R: io.NewSectionReader(ef, part.Offset, part.Size), Size: part.Size}}
	var recISO *ISOLinux
	if l := b.s.ISOLinux; l != nil {
		cfg := isolinuxConfig(b.s.Name+" "+b.s.Version, spec.Cmdline)
		is.Files = []iso.File{
			{Name: isoKernel, Path: b.kernel},
			{Name: isoInitrd, Path: b.initrd},
			{Name: isoDir + "/ldlinux.c32", Path: l.Ldlinux},
			{Name: isoDir + "/isolinux.cfg", R: strings.NewReader(cfg), Size: int64(len(cfg))},
		}
		is.BIOS = &iso.BIOS{Loader: iso.File{Name: isoDir + "/isolinux.bin", Path: l.Loader}}
		if l.HybridMBR != "" {
			mbr, err := os.ReadFile(l.HybridMBR)
			if err != nil {
				return err
			}
			if len(mbr) < isoHybridSize {
				return fmt.Errorf("%s: %d bytes, not an isohybrid MBR", l.HybridMBR, len(mbr))
			}
			is.BIOS.HybridMBR = mbr[:isoHybridSize]
		}
		for _, in := range []struct{ name, path string }{{"isolinux.bin", l.Loader}, {"ldlinux.c32", l.Ldlinux}, {"isohdpfx.bin", l.HybridMBR}} {
			if in.path != "" {
				if err := b.input(in.name, in.path); err != nil {
					return err
				}
			}
		}
		recISO = &ISOLinux{Loader: "isolinux.bin", Ldlinux: "ldlinux.c32"}
		if l.HybridMBR != "" {
			recISO.HybridMBR = "isohdpfx.bin"
		}
	} else {
		b.note("format iso: UEFI only (no Spec.ISOLinux for the BIOS half)")
	}
	name := b.s.Name + ".iso"
	o := &iso.Options{ModTime: b.s.Epoch, Seed: b.s.Name + "/" + b.s.Version,
		Progress: func(e iso.Event) { b.event(Event{Stage: "iso", File: name, Done: e.Done, Total: e.Total}) }}
	b.rec.Options["isoEFI"] = espOpts
	b.rec.Options["iso"] = o
	b.rec.Options["isoSpec"] = struct {
		VolumeID string    `json:"volumeID"`
		ISOLinux *ISOLinux `json:"isolinux,omitempty"`
	}{is.VolumeID, recISO}
	return b.writeOutput(name, func(w io.Writer) error { _, err := iso.Write(ctx, w, is, o); return err })
}

// isoVolumeID makes the volume label from the appliance name: ISO 9660
// d-characters (upper-case letters, digits, '_'), at most 32.
func isoVolumeID(name string) string {
	var sb strings.Builder
	for _, r := range strings.ToUpper(name) {
		if sb.Len() == 32 {
			break
		}
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			sb.WriteRune(r)
		} else {
			sb.WriteByte('_')
		}
	}
	return sb.String()
}

// isolinuxConfig boots the one entry at once: an appliance has nothing
// to choose between, and a prompt would stop an unattended install.
func isolinuxConfig(title, cmdline string) string {
	return fmt.Sprintf("DEFAULT fogkit\nPROMPT 0\nTIMEOUT 0\nSAY Booting %s\nLABEL fogkit\n  KERNEL /%s\n  INITRD /%s\n  APPEND %s\n",
		title, isoKernel, isoInitrd, cmdline)
}
