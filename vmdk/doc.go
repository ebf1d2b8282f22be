// Package vmdk writes and reads streamOptimized VMDK disk images, the disk
// format of OVA appliances.
//
// Write (an io.ReaderAt, holes of an *os.File skipped with
// SEEK_DATA/SEEK_HOLE), WriteStream (an io.Reader) and WriteEmpty (no input)
// produce the layout VMware, VirtualBox and qemu accept, sequentially on any
// io.Writer:
//
//	sector 0       header: "KDMV", version 3, flags 0x00030001, gdOffset = GDAtEnd
//	sectors 1–20   descriptor (createType="streamOptimized")
//	up to 127      zeros (overHead 128)
//	…              zlib grain records in ascending LBA order (all-zero grains skipped),
//	               a grain table after each 512-grain block that has grains
//	               grain directory marker + directory
//	last 3 sectors footer marker, footer (header with the real gdOffset), end-of-stream
//
// Grains are compressed on Options.Workers goroutines with pooled
// klauspost/compress zlib writers; the output is byte-identical for any
// number of workers and memory stays bounded (a fixed number of grain
// batches in flight) for any disk size. The CID and ddb.longContentID derive
// from the content, so the same disk gives the same bytes. The Result
// carries the size and SHA-256 of the output, computed while writing.
//
// Capacity: a VMDK's capacity is a whole number of 512-byte sectors; a size
// that is not a multiple of 512 is rounded up and the extra bytes read as
// zeros. Result.Capacity is the rounded size in bytes.
//
// Failure: the footer and end-of-stream marker are written last. Output of a
// failed or cancelled write ends without them, and since the header's
// gdOffset says "at end", no reader (this package, qemu, VMware) accepts it
// as complete.
//
// Open reads a streamOptimized VMDK (this package's, qemu-img's, and the
// footer-less layout with the directory offset in the header) as an
// io.ReaderAt of the raw disk. Verify walks a whole stream and reports the
// header, descriptor, counts, and every violation of the layout rules.
// Hostile input gets typed errors (ErrBadMagic, ErrTruncated, ErrCorrupt,
// ErrUnsupported, ErrTooLarge) and bounded allocation.
//
// Limits. Every size a file claims is checked before anything is
// allocated or read for it:
//
//   - capacity: at most MaxCapacity (64 TiB), for the writers and the
//     readers (ErrTooLarge); 0 is ErrCorrupt.
//   - grainSize: a power of two from 8 to 2048 sectors (4 KiB to 1 MiB);
//     numGTEsPerGT: 1 to 4096 (ErrCorrupt otherwise).
//   - grain directory: at most 32 MiB, i.e. 8 Mi grain tables (ErrTooLarge
//     above). Open holds it in memory, decoded in 64 KiB chunks, and only
//     after checking it lies inside the file; Verify reads it in 64 KiB
//     chunks and keeps one entry per grain table it has seen, whatever the
//     capacity claims. A grain-directory marker may announce at most
//     32 MiB + one sector, a grain-table marker at most 2048 sectors
//     (ErrCorrupt).
//   - a compressed grain: at most grain + grain/8 + 4 KiB bytes, and it
//     must inflate to at most one grain (ErrCorrupt).
//   - descriptor: at most 2048 sectors (1 MiB) in Open and ParseDescriptor.
//     Verify reads a descriptor only at an offset up to 2^20 sectors and
//     fails on overHead or a footer-marker value above 2^20 sectors
//     (512 MiB of filler).
//   - Verify keeps at most VerifyOptions.MaxFindings findings (100 by
//     default) and counts the rest; it checks its context every 64
//     records and every 1 MiB it skips or drains after the end-of-stream
//     marker, so an endless stream stops on cancellation.
//   - writers: Options.Workers at most 256, file names at most 1024 bytes
//     (ErrInvalid); at most 256 grains (16 MiB in, 16 MiB compressed) in
//     flight whatever the disk size.
//
// So Open holds at most the directory (proportional to the file), one
// grain table, and one grain with its compressed form (about 2.2 MiB);
// Verify a 256 KiB read buffer, one grain and grain record, one grain
// table, and a few bytes per grain table read.
package vmdk
