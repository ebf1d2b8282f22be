// Package rootfs builds deterministic cpio newc archives that the Linux
// kernel unpacks as an initramfs, and reads them back.
//
// A Builder collects entries — regular files (from bytes, a reader of known
// size, an opener, or a host file), directories, symlinks, hard links,
// character and block devices, FIFOs and sockets — from calls to Add…, from
// a host directory (AddHostDir), any fs.FS (AddFS) or a Linux
// usr/gen_init_cpio list (AddSpec). A later add of a path replaces the
// earlier one, so layers apply in order.
//
// Write (and WriteTo) first validates: /init must exist and be executable
// (unless Options.AllowNoInit), names, sizes and device numbers must fit
// newc and the kernel, hard links must name regular files, entries must sit
// below directories. Then it writes entries sorted by path, so parents come
// first, adding missing parents as 0755 root directories (the kernel never
// creates them); inode numbers in order; every mtime from Options.ModTime;
// the TRAILER!!! entry; zero padding to 512 bytes. Output is none, gzip
// (fixed header, compressed in parallel blocks like pigz) or zstd, and the
// bytes depend only on the entries and Options: not on the order of adds,
// the host's time zone, umask or file times, nor on GOMAXPROCS.
//
// Host file content is streamed when the archive is written, so memory
// stays bounded by the compression buffers, not the tree.
//
// Concat joins separately built archives, compressed or not, with the
// alignment the kernel requires; a later archive's file wins. NewReader and
// List read archives back (device numbers and symlink targets included),
// detecting each member's compression, with limits for untrusted input;
// Builder.AddArchive imports one as a base layer.
//
// # Limits on untrusted input
//
// Reading promises memory and time bounded by ReaderOptions, whatever the
// archive; a limit that is hit yields a *LimitError (matching ErrLimit)
// naming the field. The limits, with their defaults:
//
//   - MaxEntries: 1<<20 entries.
//   - MaxBytes: 16 GiB of uncompressed data read over all members
//     (AddArchive: DefaultArchiveMaxBytes, 1 GiB, since it holds file
//     content in memory; each file's buffer is allocated once, after its
//     declared size is checked against what is left of the budget).
//   - MaxPadding: 16 MiB in one run of zero padding between archives or
//     members; padding is skipped a buffer at a time.
//   - MaxNameBytes: 64 MiB of names (paths, stored names, symlink
//     targets) kept by List, Inspect and AddArchive.
//   - MaxOrphans: 1024 orphans listed by Inspect.
//
// Fixed caps: a zstd frame may ask for a window of at most 128 MiB (and
// no more than MaxBytes), which bounds the decoder's history buffer, and
// the decoder's memory is capped at MaxBytes; names are at most 4095 bytes
// plus their NUL and symlink targets at most 4095 bytes, the kernel's
// PATH_MAX; a regular file is under 4 GiB (newc sizes are 32 bits). A
// Reader on its own keeps no names: besides the decompressor it holds two
// 64 KiB buffers.
//
// ParseSpec and AddSpec read lines of at most 64 KiB (longer is a
// *SpecError); the number of lines is bounded only by the input, which is
// the vendor's own file rather than untrusted data.
//
// The newc writer and reader are this package's own: cavaliergopher/cpio
// v1.0.1 neither writes nor reads device numbers and does not write
// symlink targets; the tests use it as an independent reader of names,
// modes, owners and data.
package rootfs
