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
// The newc writer and reader are this package's own: cavaliergopher/cpio
// v1.0.1 neither writes nor reads device numbers and does not write
// symlink targets; the tests use it as an independent reader of names,
// modes, owners and data.
package rootfs
