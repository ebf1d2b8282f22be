// Package vhd writes and reads VHD disk images (Microsoft's Virtual Hard
// Disk Image Format Specification), the upload format of Azure.
//
// Write and WriteStream turn a raw disk into a fixed or a dynamic VHD,
// sequentially on any io.Writer:
//
//	fixed     raw data (padded to the virtual size) | footer (512 bytes)
//	dynamic   footer copy | dynamic header (1024) | block allocation table |
//	          blocks in disk order (512-byte sector bitmap, all ones, + 2 MiB) | footer
//
// The footer is big-endian: cookie "conectix", features 2, version 1.0,
// data offset (all ones for fixed, 512 for dynamic), timestamp
// (Options.ModTime as seconds since 2000-01-01; zero by default), creator
// "win " (see DefaultCreatorApp for why), original and current size,
// the CHS geometry of the specification's algorithm (GeometryFor), the
// disk type, the checksum (one's complement of the byte sum) and a unique
// ID. The ID derives from the type, size and the content of the non-zero
// blocks unless Options.UniqueID sets it, so the same disk gives the same
// bytes; holes and written zeros give the same output.
//
// Sizes. A VHD's virtual size is a whole number of sectors; a size that is
// not is rounded up, the extra reading as zeros. Azure also wants a whole
// number of MiB: Options.RoundUp rounds up to one and Result.Padding says
// how many bytes it added. A dynamic disk's table has exactly one entry
// per 2 MiB block of the virtual size (Azure's tools refuse larger
// tables). Fixed disks go up to MaxFixedSize, dynamic ones to
// MaxDynamicSize (2040 GiB, the largest qemu reads).
//
// Dynamic disks are written with two passes over an io.ReaderAt (the first
// finds the all-zero blocks, which are not stored); WriteStream writes
// fixed disks only. Fixed output to a fresh *os.File keeps zero blocks as
// holes.
//
// Open reads fixed and dynamic VHDs (this package's, qemu-img's, Hyper-V's)
// as an io.ReaderAt of the virtual disk; a dynamic disk whose last sector
// is lost opens from its leading footer copy. Differencing disks are
// refused (ErrUnsupported). Inspect adds the specification's rules Open
// tolerates as Findings (geometry, footer copy, overlapping blocks, file
// size) and CheckAzure lists every Azure import rule a disk breaks (fixed
// type, whole MiB, file = virtual size + 512, 20 MiB to 32 TiB) before
// an upload.
//
// Limits on input: every size is checked before anything is allocated or
// read: a virtual size at most MaxFixedSize (MaxDynamicSize for dynamic
// disks), block sizes a power of two from 512 bytes to 256 MiB, at most
// 8 Mi table entries, and a table and blocks that lie inside the file. Open
// keeps only the entries mapping the virtual size (4 bytes per block,
// 4 MiB for a 2040 GiB disk), read in 64 KiB chunks; ReadAt allocates
// nothing. Hostile input gets typed errors (*FormatError matching
// ErrMalformed, ErrChecksum, ErrTruncated, ErrUnsupported, ErrTooLarge).
//
// Writers hold one 2 MiB block and, for dynamic disks, the table (4 bytes
// per block).
package vhd
