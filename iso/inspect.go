package iso

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
)

// maxFindings caps the findings of a report.
const maxFindings = 100

// Finding is one problem Inspect found.
type Finding struct {
	Offset int64  `json:"offset"` // byte offset in the image
	Rule   string `json:"rule"`   // the structure at fault
	Detail string `json:"detail"`
}

func (f Finding) String() string { return fmt.Sprintf("%d: %s: %s", f.Offset, f.Rule, f.Detail) }

// Report is the result of Inspect.
type Report struct {
	Size      int64     `json:"size"`           // image size
	Info      *Info     `json:"info,omitempty"` // nil when the image cannot be opened
	Findings  []Finding `json:"findings"`
	Truncated bool      `json:"truncated,omitempty"` // more findings than the report holds
}

// OK says whether the image opens and nothing was found.
func (r *Report) OK() bool { return r.Info != nil && len(r.Findings) == 0 }

func (r *Report) add(off int64, field, format string, args ...any) {
	if len(r.Findings) >= maxFindings {
		r.Truncated = true
		return
	}
	r.Findings = append(r.Findings, Finding{Offset: off, Rule: field, Detail: fmt.Sprintf(format, args...)})
}

// Inspect opens an image of size bytes as Open does and checks what Open
// tolerates: the volume space size against the image size, boot images
// inside the volume, the isolinux boot info table (PVD, LBA, length,
// checksum), the isohybrid MBR's loader address against the BIOS entry,
// the 0xEF partition and the GPT EFI System partition against the EFI
// entry, the backup GPT, and files overlapping each other or the
// structures before them. A problem that stops Open ends the report with a
// finding; the returned error is only for I/O and context errors. At most
// 100 findings are kept.
func Inspect(ctx context.Context, r io.ReaderAt, size int64) (*Report, error) {
	rep := &Report{Size: size, Findings: []Finding{}}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	im, err := Open(r, size)
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			rep.add(fe.Offset, fe.Field, "%s", fe.Error())
			return rep, nil
		}
		return nil, err
	}
	info := im.Info()
	rep.Info = &info
	const pvd = systemArea * blockSize
	if size%blockSize != 0 {
		rep.add(size, "image", "size %d is not a whole number of 2048-byte blocks", size)
	}
	if int64(info.Blocks)*blockSize > size {
		rep.add(pvd+80, "volume space size", "%d blocks, the image has %d", info.Blocks, size/blockSize)
	}
	var bios, efi *BootEntry
	for i := range info.Boot {
		b := &info.Boot[i]
		if b.LBA >= info.Blocks {
			rep.add(int64(info.CatalogLBA)*blockSize, "boot catalog", "boot image %d at block %d beyond the volume of %d", i+1, b.LBA, info.Blocks)
		}
		switch {
		case b.Platform == PlatformBIOS && b.Emulation == 0 && bios == nil:
			bios = b
		case b.Platform == PlatformEFI && efi == nil:
			efi = b
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if bios != nil && bios.File != "" {
		if err := checkBootInfo(im, bios, rep); err != nil {
			return nil, err
		}
	}
	if m := info.MBR; m != nil {
		if m.BootCode && bios != nil && m.BootLBA != bios.LBA*4 {
			rep.add(mbrBootLBAOff, "MBR", "isohybrid loader address %d, the BIOS boot image is at sector %d", m.BootLBA, bios.LBA*4)
		}
		if efi != nil {
			for _, p := range m.Partitions {
				if p.Type == "0xef" && p.Start != int64(efi.LBA)*4 {
					rep.add(mbrTableOff+16*int64(p.Index-1), "MBR partition", "0xEF partition at sector %d, the EFI boot image at %d", p.Start, efi.LBA*4)
				}
			}
		}
	}
	if g := info.GPT; g != nil {
		if !g.BackupOK {
			rep.add(g.BackupLBA*sectorSize, "GPT", "backup header at sector %d missing or invalid", g.BackupLBA)
		}
		if efi != nil {
			for _, p := range g.Partitions {
				if p.Type == GUIDEFISystem && p.Start != int64(efi.LBA)*4 {
					rep.add(sectorSize, "GPT entry", "EFI System partition at sector %d, the EFI boot image at %d", p.Start, efi.LBA*4)
				}
			}
		}
	}
	// Files: inside the volume, after the descriptors, not overlapping.
	var files []FileInfo
	for _, f := range info.Files {
		if !f.Dir && f.Size > 0 {
			files = append(files, f)
		}
	}
	slices.SortFunc(files, func(a, b FileInfo) int { return cmp.Compare(a.LBA, b.LBA) })
	for i, f := range files {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if f.LBA <= systemArea {
			rep.add(int64(f.LBA)*blockSize, "file", "%s starts at block %d, in the system area or descriptors", f.Name, f.LBA)
		}
		end := int64(f.LBA)*blockSize + f.Size
		if end > int64(info.Blocks)*blockSize {
			rep.add(int64(f.LBA)*blockSize, "file", "%s ends beyond the volume", f.Name)
		}
		if i > 0 {
			p := files[i-1]
			if p.LBA != f.LBA && int64(p.LBA)*blockSize+p.Size > int64(f.LBA)*blockSize {
				rep.add(int64(f.LBA)*blockSize, "file", "%s overlaps %s", f.Name, p.Name)
			}
		}
	}
	return rep, nil
}

// checkBootInfo checks a patched boot info table (one whose first field
// is the PVD's block, 16) against the loader's place and bytes.
func checkBootInfo(im *Image, b *BootEntry, rep *Report) error {
	sr, err := im.Open(b.File)
	if err != nil || sr.Size() < 64 || sr.Size() > maxLoader {
		return nil
	}
	data := make([]byte, sr.Size())
	if _, err := io.ReadFull(sr, data); err != nil {
		return fmt.Errorf("iso: read %s: %w", b.File, err)
	}
	if le.Uint32(data[8:]) != systemArea {
		return nil // no boot info table
	}
	off := int64(b.LBA) * blockSize
	if got := le.Uint32(data[12:]); got != b.LBA {
		rep.add(off+12, "boot info table", "loader address %d, it is at %d", got, b.LBA)
	}
	if got := le.Uint32(data[16:]); int64(got) != sr.Size() {
		rep.add(off+16, "boot info table", "loader length %d, it has %d bytes", got, sr.Size())
	}
	if got, want := le.Uint32(data[20:]), bootInfoSum(data); got != want {
		rep.add(off+20, "boot info table", "checksum 0x%08x, the loader sums to 0x%08x", got, want)
	}
	return nil
}
