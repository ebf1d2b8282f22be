// Package vhdx writes and reads VHDX disk images ([MS-VHDX]), the disk
// format of Hyper-V and Azure.
//
// Write converts a raw disk (an io.ReaderAt; holes of an *os.File are
// skipped with SEEK_DATA/SEEK_HOLE) into a dynamic VHDX written
// sequentially on any io.Writer, in the layout of a freshly created and
// cleanly closed image:
//
//	0        file type identifier "vhdxfile"
//	64 KiB   header 1 (sequence 0), 128 KiB header 2 (sequence 1), CRC-32C each
//	192 KiB  region table (BAT, metadata), 256 KiB its copy
//	1 MiB    log: 1 MiB, empty (log GUID zero, nothing to replay)
//	2 MiB    metadata: table; file parameters, virtual disk size, page 83
//	         identifier, logical and physical sector sizes from 2 MiB + 64 KiB
//	3 MiB    BAT: payload entries with a sector bitmap entry after every
//	         chunk-ratio of them; blocks holding data are fully present (state 6),
//	         all-zero blocks not present (state 0), sector bitmaps not present
//	…        the payload blocks holding data, whole and in disk order, 1 MiB aligned
//
// A first pass over the input finds the blocks holding data (on
// Options.Workers goroutines, folded in disk order) and fingerprints the
// content, from which the file, data write and virtual disk GUIDs derive:
// the same disk and options give the same bytes, for any number of
// workers. The second pass writes; the Result carries the size and SHA-256
// of the output (Options.NoDigest skips it). When the output is a regular
// file, the all-zero MiB chunks inside present blocks are left as holes
// (seeked over, past the file's original end only), as qemu-img leaves
// them; the bytes read back are the same on any writer. There is no WriteStream: the BAT precedes the data, so
// the zero blocks must be known before writing (spool a stream to a file).
//
// Sizes: the virtual size is the input size rounded up to the logical
// sector size (512 or 4096 bytes); blocks are 1 to 256 MiB (default 32 MiB,
// as qemu-img). qemu reads only 512-byte logical sectors.
//
// Open reads a VHDX (this package's and qemu-img's, dynamic or fixed) as an
// io.ReaderAt of the virtual disk: it takes the valid header with the
// higher sequence number and a valid region table copy, and reads the
// metadata and the BAT; blocks are read on demand, not present, zero and
// unmapped blocks read as zeros. It refuses images whose log must be
// replayed and differencing disks (ErrUnsupported). Inspect reports what
// is wrong with an image (bad copies of the headers or region tables,
// bounds, overlapping blocks and regions) as findings.
//
// Hostile input gets typed errors (ErrMalformed, ErrChecksum,
// ErrUnsupported, ErrTooLarge, ErrTruncated, all as *FormatError with the
// offset and structure) and bounded memory: table entry counts are
// checked against the format's limits, regions must lie inside the file,
// and the BAT is sized from the virtual size, checked against its region
// and capped at MaxBATBytes before it is allocated.
package vhdx
