// Package gce writes and checks Google Compute Engine image archives: the
// `.tar.gz` that Compute Engine imports as a disk image.
//
// Google's import documents one layout: a gzip-compressed tar in the old
// GNU format (`tar --format=oldgnu -Sczf image.tar.gz disk.raw`) holding a
// single member named disk.raw, a raw disk whose size is a whole number of
// GiB. Write produces exactly that from a raw disk of any size:
//
//	gzip( old GNU header of disk.raw  (magic "ustar  \x00", typeflag 'S',
//	                                   the sparse map: 4 entries in the header,
//	                                   21 per extension block, real size)
//	      the data regions, back to back, padded to 512 bytes
//	      two zero blocks, zeros to a 10 KiB record )
//
// disk.raw is the input padded with zeros to a whole GiB (Result.Padding
// says how much). Write reads its io.ReaderAt twice: the first pass maps
// data and holes (64 KiB runs of zeros are holes, as GNU tar's -S finds
// them), the second copies the data, so neither holes nor the padding are
// stored or compressed. A disk too fragmented for a 256 Ki-region map is
// written dense. WriteStream takes an io.Reader and writes a dense
// (typeflag '0') member, still old GNU. The gzip stream is klauspost's
// (Options.Level) with an empty header; the tar entry's mtime is
// Options.ModTime (Unix 0 by default), owner root. Same input, same bytes.
//
// Check reads a .tar.gz and lists every import rule it breaks (gce.gzip,
// gce.members, gce.name, gce.format, gce.type, gce.size.zero,
// gce.size.gib) before an upload; damaged archives (bad header checksums,
// sparse maps out of order, truncated data, a bad gzip trailer) fail with
// a *FormatError matching ErrMalformed. It walks the tar itself without
// expanding holes or keeping the sparse map, in constant memory (a 64 KiB
// read buffer and the gzip window) on any input.
package gce
