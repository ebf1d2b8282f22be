// Package iso writes and reads hybrid bootable ISO 9660 images: the
// bare-metal and recovery installer of an appliance, which boots as a
// CD-ROM and, written to a USB stick, as a disk, under BIOS and UEFI.
//
// fogkit writes its own rather than using go-diskfs's iso9660 writer,
// because that one lacks the isohybrid MBR and GPT, needs a seekable
// workspace and is not byte-for-byte reproducible.
//
// Write lays the image out from the sizes alone and then streams it to any
// io.Writer without seeking:
//
//	block 0-15   system area: isohybrid MBR (isohdpfx.bin code, at byte 432
//	             the BIOS loader's 512-byte sector, partitions: 1 type 0x00
//	             over the whole image, 2 type 0xEF over the EFI image) and,
//	             with EFI, the primary GPT (a basic data partition from 0
//	             over the ISO data and an EFI System partition on the EFI
//	             image, overlapping as isohybrid --uefi and xorriso write it)
//	16           primary volume descriptor (volume space size = the whole
//	             image, backup GPT included, as xorriso counts it)
//	17           El Torito boot record, then the terminator
//	             boot catalog (not a file), L and M path tables, directories
//	             isolinux.bin, the EFI image, then the other files by path
//	…            zeros up to a whole MiB (xorriso's cylinder alignment),
//	             the backup GPT in the last 33 sectors (with EFI)
//
// The El Torito catalog has the BIOS loader as its default entry (platform
// 0, no emulation, load segment 0 meaning 0x07C0, BIOS.LoadSectors
// sectors) and the EFI image in a final section of platform 0xEF, or the
// EFI image alone as the default entry, as xorriso does. The EFI entry's
// sector count is the image's 512-byte sectors, or 0 when they exceed
// 65535 (an ESP of 32 MiB or more): xorriso writes 0 then, and edk2 (OVMF)
// reads a count below 2 as "up to the end of the volume" (and larger
// counts as 2048-byte blocks), so the FAT file system is always covered.
// The EFI image is also the file DefaultEFIName ("BOOT/EFI.IMG") unless
// Spec.EFI.Name says otherwise; isolinux.bin is DefaultLoaderName, its
// boot info table patched (bytes 8..63: PVD block 16, its block, its
// length, the sum of its 32-bit words from byte 64). The MBR disk
// signature and the GPT GUIDs derive from Options.Seed; every timestamp is
// Options.ModTime.
//
// Names are ISO 9660 level 2 (MapName): upper case, d-characters (others
// become '_'), up to 30 characters for a file's name and extension and 31
// for a directory, version ";1", directory records sorted as ECMA-119
// says. Two names that map to the same identifier, or a name too long, are
// a *NameError. Rock Ridge (RRIP 1.09: NM, PX, TF; SP and ER on the root)
// carries the names as given, mode 0644/0755 and ModTime, so Linux, bsdtar
// and xorriso show "boot/vmlinuz"; isolinux and firmware use the ISO 9660
// names, which isolinux matches in any case. Options.NoRockRidge leaves it
// out. Joliet is not written: Windows shows the ISO 9660 names. Files must
// be below 4 GiB (one extent each).
//
// Open reads an image through an io.ReaderAt: volume descriptors, the
// directory tree (with Rock Ridge names where present), the El Torito
// catalog and the MBR and GPT; Image.Info lists them, Image.Open and
// ReadFile read files by their listed path, their ISO 9660 path or the name
// given to Write. It reads xorriso's images as well as this package's.
// Malformed images are refused with a *FormatError matching ErrMalformed,
// ErrChecksum, ErrTruncated, ErrTooLarge or ErrUnsupported, and the work is
// bounded whatever the image declares: at most 64 volume descriptors,
// 64 MiB of directories, 200000 entries, 64 levels, 8 catalog blocks,
// 1 MiB of GPT entries; a directory reached twice (a loop) is an error.
// Inspect adds the checks Open tolerates: the boot info table, the MBR's
// loader address and partitions against the catalog, the backup GPT, files
// overlapping.
package iso
