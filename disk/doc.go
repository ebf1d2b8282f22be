// Package disk lays out bootable appliance disks: a raw image with a GPT
// (and protective MBR) whose one partition is a FAT32 EFI System Partition
// holding \EFI\BOOT\BOOTX64.EFI, the kernel and the initrds, so UEFI
// firmware boots it with no NVRAM entry. The vmdk package turns the image
// into a streamOptimized VMDK.
//
// # Loaders
//
//   - SystemdBoot: the caller's systemd-bootx64.efi becomes BOOTX64.EFI;
//     loader/loader.conf says "timeout 0", names the default entry and turns
//     the editor off; loader/entries/<title>.conf names the kernel, the
//     initrds and the command line.
//   - UKI: one unified kernel image, built in pure Go from the caller's
//     linuxx64.efi.stub with .osrel, .cmdline, .initrd (the initrds
//     concatenated, each padded to 4 bytes) and .linux sections placed the
//     way ukify and objcopy place them: virtual addresses after the stub's
//     last section, aligned to the section alignment (and at least 4 KiB),
//     raw data aligned to the file alignment, SizeOfImage, SizeOfHeaders and
//     the PE checksum updated. The command line cannot be edited at boot. A
//     stub without room for four more section headers is refused (ErrBadStub).
//
// Loaders hand the kernel the initrds concatenated, and the kernel finds an
// uncompressed cpio member only at a 4-byte-aligned offset, so every initrd
// but the last is padded with zeros to a multiple of 4 bytes on the ESP (and
// in the UKI's .initrd section); the kernel skips the zeros.
//
// The kernel must be a PE image or an x86 bzImage ("HdrS" at 0x202); only
// its head is checked, so a truncated kernel is not detected here.
//
// # BIOS hybrid
//
// With Spec.BIOS, the same disk also boots under legacy BIOS: gptmbr.bin
// goes into bytes 0–439, the ESP gets the legacy-BIOS-bootable attribute
// (GPT attribute bit 2), syslinux.cfg boots the same kernel, initrds and
// command line, and the caller's syslinux program (mtools flavour, no root,
// no loop device) runs as "syslinux --install --offset 1048576 --directory
// / <image>". That is the only external program this package ever runs; it
// is off unless asked for, and its absence is an ErrSyslinux error.
//
// # Sizes
//
// The ESP starts at 1 MiB and ends 1 MiB before the end of the disk.
// Options.DiskSize (rounded up to 1 MiB) fixes the disk size; zero sizes
// the ESP to its content, at least 33 MiB (MinESPSize). github.com/diskfs/
// go-diskfs v1.9.4, which formats the FAT32, writes an invalid file system
// for some sizes (64, 129, 194, 259, 505–507, 762–763, 1018–1020 MiB,
// 4 GiB, …): GoodESPSize detects them and the ESP (and with it the disk)
// grows by whole MiBs to the next good size, so Result.Layout.Size can
// exceed the DiskSize asked for.
//
// # Reproducibility
//
// The same Spec and Options give the same bytes: the disk and partition
// GUIDs and the FAT volume ID derive from Options.Seed (or, without one,
// from the Spec's names, sizes and command line), go-diskfs runs in its
// Reproducible mode, and every FAT directory entry is stamped with
// Options.ModTime after go-diskfs (and syslinux's mtools) wrote wall-clock
// times. The same pass sets ".." entries that point at the root to cluster
// 0 and fills in the FSInfo free-cluster count, so fsck.fat finds nothing to
// fix.
//
// # Output
//
// go-diskfs works on files. BuildFile writes a sparse image file in place;
// Build writes in place when its destination is an *os.File, and otherwise
// builds a sparse temporary file and copies it, skipping all-zero blocks,
// to the io.WriterAt.
//
// # Inspection
//
// Open, Inspect and InspectFile read an image back with this package's own
// bounds-checked GPT and FAT32 readers (not go-diskfs): the layout, every
// ESP file with its sha256, and any file's content. Build returns the same
// report for what it wrote. They read any GPT disk with a FAT32 ESP (one
// formatted by mkfs.fat and filled by mtools, say), not only this
// package's. Image.ESP is the ESP as an fs.FS (exact names, fs.ValidPath
// only), so a built disk's boot tree feeds update.Tree or fs.WalkDir
// directly.
//
// The readers are safe on hostile images: their work and memory are bounded
// by the image, however its entries are arranged.
//
//   - The GPT header must check out (CRCs, at most 1024 entries of at most
//     1 KiB) and every partition lie inside the disk; the FAT32 boot sector
//     must describe a file system inside its partition, with a FAT of at
//     most 64 MiB (16 M clusters), which is read into memory.
//   - The directory tree is walked once per Image (Files, OpenFile and
//     ReadFile share the walk). Every cluster of every directory and every
//     file chain is claimed once: a cluster claimed twice (two files, two
//     directories, a file and a directory, or a chain or a subdirectory
//     entry looping back to a directory above) is refused with an
//     ErrCrossLinked error, so no byte is read or hashed twice. "." and
//     ".." entries are never followed.
//   - So the directory bytes scanned and the file bytes hashed are each at
//     most the partition size; both are checked as well.
//   - A file's chain must have exactly the clusters its size needs; a chain
//     that leaves the cluster range is refused.
//   - At most 65536 entries per directory and 65536 entries in the whole
//     tree, at most 32 directories deep (ErrTooLarge).
//   - Names holding "/", "\" or NUL, and empty names, are refused: they
//     would make one file pose as another.
//
// Such errors are *FATError values naming the file or directory at fault
// and matching ErrMalformed (cross-links too), ErrCrossLinked or
// ErrTooLarge. ReadFile refuses files over 1 GiB; a file it reads has
// already been checked against its chain, so its buffer never outgrows the
// partition.
package disk
