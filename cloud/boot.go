package cloud

import (
	"errors"
	"io"
	"strings"

	"github.com/fogkit/fogkit/disk"
)

// FallbackLoader is the UEFI removable-media boot path for x86-64 (UEFI
// 2.x, section 3.5.1.1). A VM imported into a cloud starts with empty
// firmware variables, so no boot entry names the OS loader: the firmware
// boots this file or nothing.
const FallbackLoader = `\EFI\BOOT\BOOTX64.EFI`

// inspectBoot reads the virtual disk's MBR and GPT and, through the disk
// package's bounds-checked reader, the ESP's FAT. problem is non-empty
// when a GPT or ESP is there but damaged.
func inspectBoot(r io.ReaderAt, size int64) (b *Boot, problem string) {
	b = &Boot{PartitionTable: "none"}
	if size < 512 {
		return b, ""
	}
	sec := make([]byte, 1024)
	n, _ := r.ReadAt(sec[:min(size, 1024)], 0)
	sec = sec[:n]
	if len(sec) < 512 {
		return b, ""
	}
	sig := sec[510] == 0x55 && sec[511] == 0xaa
	if sig {
		b.PartitionTable = "mbr"
		b.BIOSBootCode = !allZero(sec[:440])
	}
	if len(sec) < 1024 || string(sec[512:520]) != "EFI PART" {
		return b, ""
	}
	b.PartitionTable = "gpt"
	im, err := disk.Open(r, size)
	if err != nil {
		var fe *disk.FormatError
		if errors.As(err, &fe) && fe.What == "gpt" && strings.Contains(fe.Reason, "no EFI System Partition") {
			return b, ""
		}
		return b, err.Error()
	}
	b.ESP = true
	_, n64, err := im.OpenFile(FallbackLoader)
	switch {
	case err == nil:
		b.Fallback = n64 > 0
	case errors.Is(err, disk.ErrNotFound):
	default:
		return b, err.Error()
	}
	return b, ""
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// boot inspects the virtual disk and applies the firmware rules.
//
// UEFI (AWS --boot-mode uefi, Azure Gen2, GCP UEFI_COMPATIBLE) needs a GPT
// with an EFI System Partition holding the fallback loader:
//   - AWS: https://docs.aws.amazon.com/vm-import/latest/userguide/prerequisites.html
//     (UEFI boot volumes are GPT-partitioned) and
//     https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ami-boot.html
//     (an OS not set up for UEFI does not launch);
//   - Azure: https://learn.microsoft.com/azure/virtual-machines/generation-2
//     (Gen2 VMs boot UEFI from a GPT OS disk; Gen1 boot BIOS);
//   - GCP: https://cloud.google.com/compute/docs/import/import-existing-image
//     and https://cloud.google.com/compute/docs/images/create-custom#guest-os-features
//     (UEFI_COMPATIBLE: the image boots with UEFI firmware), and
//     https://cloud.google.com/solutions/image-management-best-practices
//     (a bootable image has a partition table, MBR or GPT, and a bootable
//     partition).
//
// The fallback loader: on every cloud the firmware variables start empty,
// so UEFI boots \EFI\BOOT\BOOTX64.EFI (UEFI 2.x §3.5.1.1) or nothing.
// BIOS needs boot code in the MBR.
func (c *checker) boot(img *image) error {
	if img.disk == nil {
		if img.unchecked != "" {
			c.rep.Unchecked = append(c.rep.Unchecked, "boot: "+img.unchecked)
		}
		c.rep.Firmware = c.opts.Firmware
		return nil
	}
	c.progress("boot", img.member, 0)
	b, problem := inspectBoot(img.disk, img.size)
	if err := c.fail(nil); err != nil {
		return err
	}
	if sp, ok := img.disk.(*spool); ok && sp.missed() {
		c.rep.Unchecked = append(c.rep.Unchecked, "boot: the ESP lies beyond the first "+mibString(spoolBudget)+
			" of data of disk.raw that Check keeps in memory; check the raw disk instead")
		c.rep.Boot = b
		c.rep.Firmware = c.opts.Firmware
		return nil
	}
	if qe := diskReadError(img.disk); qe != nil {
		// The format reader failed inside the virtual disk: a damaged
		// image, not a damaged (or missing) partition table; the boot
		// rules cannot be judged.
		c.add("image", "%s: reading the virtual disk: %v", img.format, qe)
		c.rep.Firmware = c.opts.Firmware
		return nil
	}
	c.rep.Boot = b
	fw := c.opts.Firmware
	if fw == "" {
		switch {
		case b.ESP:
			fw = UEFI
		case b.BIOSBootCode:
			fw = BIOS
		}
	}
	c.rep.Firmware = fw
	gen := ""
	if c.t == Azure {
		gen = map[string]string{UEFI: " (Gen2)", BIOS: " (Gen1)"}[fw]
	}
	if problem != "" {
		c.add("partition", "%s", problem)
	}
	switch fw {
	case "":
		if problem == "" {
			c.add("boot", "no EFI System Partition and no BIOS boot code in the MBR: the disk cannot boot")
		}
	case UEFI:
		switch {
		case b.PartitionTable != "gpt":
			c.add("uefi.gpt", "UEFI boot%s needs a GPT with an EFI System Partition; the disk has %s", gen, tableName(b.PartitionTable))
		case problem != "":
		case !b.ESP:
			c.add("uefi.esp", "UEFI boot%s needs an EFI System Partition; the GPT has none", gen)
		case !b.Fallback:
			c.add("uefi.fallback", "the ESP has no %s: with the empty boot entries of an imported VM, UEFI%s finds no loader", FallbackLoader, gen)
		}
	case BIOS:
		if !b.BIOSBootCode {
			c.add("bios.bootcode", "BIOS boot%s needs boot code in the MBR; its first 440 bytes are zero or it has no 0x55AA signature", gen)
		}
	}
	return nil
}

func tableName(t string) string {
	switch t {
	case "mbr":
		return "an MBR partition table"
	case "none":
		return "no partition table"
	}
	return t
}

func mibString(n int64) string {
	return itoa(n>>20) + " MiB"
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// diskReadError is the last read error of a format reader's virtual
// disk, when Check wrapped it to watch (see watchDisk).
func diskReadError(r io.ReaderAt) error {
	if w, ok := r.(*watchedDisk); ok {
		return w.err
	}
	return nil
}

// watchedDisk records the first error a format reader returns for the
// virtual disk (a damaged qcow2 L2 table, a bad VMDK grain), so that it is
// told apart from a damaged partition table.
type watchedDisk struct {
	r   io.ReaderAt
	err error
}

func (w *watchedDisk) ReadAt(p []byte, off int64) (int, error) {
	n, err := w.r.ReadAt(p, off)
	if err != nil && err != io.EOF && w.err == nil {
		w.err = err
	}
	return n, err
}

// Size limits.
const (
	tib = int64(1) << 40
	gib = int64(1) << 30

	// AWSMaxVolume is the largest EBS volume; a boot volume with an MBR
	// is limited to AWSMaxMBRBoot.
	// https://docs.aws.amazon.com/ebs/latest/userguide/volume_constraints.html
	AWSMaxVolume  = 64 * tib
	AWSMaxMBRBoot = 2 * tib
	// AWSMaxObject is the largest S3 object, the uploaded image file.
	// https://docs.aws.amazon.com/AmazonS3/latest/userguide/upload-objects.html
	AWSMaxObject = 5 * tib
	// AzureMaxOSDiskGen2 is the largest managed OS disk (4095 GiB);
	// Gen1 VMs boot from at most AzureMaxOSDiskGen1.
	// https://learn.microsoft.com/azure/virtual-machines/managed-disks-overview
	// and https://learn.microsoft.com/azure/virtual-machines/generation-2
	// ("OS disk > 2 TB": Gen2 only).
	AzureMaxOSDiskGen2 = 4095 * gib
	AzureMaxOSDiskGen1 = 2 * tib
)

// sizes applies the size limits that the format checks do not already
// cover (vhd.CheckAzure has Azure's VHD sizes, gce.Check the GiB rule).
func (c *checker) sizes(img *image) {
	if img.disk == nil && img.size == 0 {
		return
	}
	v := img.size
	switch c.t {
	case AWS:
		if v > AWSMaxVolume {
			c.add("size.max", "virtual size %d above the 64 TiB EBS volume limit", v)
		}
		if c.rep.Boot != nil && c.rep.Boot.PartitionTable != "gpt" && v > AWSMaxMBRBoot {
			c.add("size.mbr", "virtual size %d above 2 TiB on a boot volume without a GPT", v)
		}
		if c.size > AWSMaxObject {
			c.add("size.file", "file of %d bytes above the 5 TiB S3 object limit", c.size)
		}
	case Azure:
		if c.rep.Firmware == BIOS && v > AzureMaxOSDiskGen1 {
			c.add("size.os", "virtual size %d above 2 TiB: a Gen1 (BIOS) VM cannot boot from it", v)
		} else if v > AzureMaxOSDiskGen2 {
			c.add("size.os", "virtual size %d above 4095 GiB, the largest managed OS disk", v)
		}
	}
}
