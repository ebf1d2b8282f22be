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
// io.ReaderAt of the raw disk. Inspect walks a whole stream and reports the
// header, descriptor, counts, and every violation of the layout rules.
// Hostile input gets typed errors (ErrBadMagic, ErrTruncated, ErrCorrupt,
// ErrUnsupported, ErrTooLarge) and bounded allocation.
package vmdk
