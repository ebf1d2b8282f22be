// Package delta creates and applies fkdelta1 patches, fogkit's delta
// format for large files (GiB-sized initramfs and disk images): a differ
// that holds the old file, an index of a quarter to once its size and a
// few segments in flight (peak RSS 1.8 times a 480 MiB old file, 1.5
// times a 1 GiB one, within 1.5 times plus 256 MiB), parallel and
// deterministic, and a streaming applier whose memory is a few MiB
// whatever the file sizes (about 32 MiB peak RSS for a whole process). The update package uses it for files above
// its BSDIFF40 threshold; BSDIFF40 (package bsdiff) stays for small files
// and for bspatch compatibility.
//
// # Design, and why
//
// bsdiff finds matches with a suffix array of the old file (about 17
// times its size in memory with the 64-bit arrays large files need) and
// its patch format interleaves three bzip2 streams, so an applier holds
// the whole patch or seeks in it. That is the part that does not scale;
// its encoding is good. fkdelta1 keeps bsdiff's encoding and replaces the
// rest:
//
//   - Matching: a hash index instead of a suffix array. Every 4th byte
//     position of the old file (8th above 128 MiB, 16th above 768 MiB) is
//     hashed over 16 bytes into a table of 32-bit positions in 16-way
//     buckets, one slot per indexed position: the index costs the old
//     file's size up to 128 MiB, half of it up to 768 MiB and a quarter
//     above, and is kept off the Go heap (anonymous mmap) with the old
//     file so the garbage collector's target stays small. The differ
//     scans the new file with a rolling hash, first tries to continue the
//     current match at the same offset (the common case in updated
//     files), then the bucket's candidates, keeps the longest, and
//     extends it exactly forwards and backwards. A match of more than
//     16+step bytes is always found; exact matches under 16 bytes, or
//     that the current offset explains within 8 bytes, are not worth an
//     operation.
//   - Encoding: bsdiff's. Between two matches, the earlier one is
//     extended forwards and the later one backwards approximately
//     (keeping runs where at least half the bytes agree), so code whose
//     addresses shifted is one long "add" region whose diff bytes are
//     mostly zero. Each operation is (add, literal, seek) as varints; add
//     bytes are old+diff, literal bytes are new data. This is what keeps
//     patches within a few per cent of bsdiff's, where pure copy/insert
//     formats (xdelta3, zstd --patch-from) lose on recompiled binaries.
//   - Segments: the new file is cut into 4 MiB segments that are diffed
//     and compressed independently (matches may come from anywhere in
//     the old file; the old position restarts at 0 in each segment).
//     Segments are processed by a pool of workers and written in order,
//     so the patch is byte-identical for any worker count, and the
//     applier holds one segment's streams at a time.
//   - Compression: per segment, the control, diff and literal streams are
//     each stored raw or as one zstd frame (klauspost/compress); a sparse
//     diff stream is also tried with bzip2 and the smaller kept: block
//     sorting models the scattered changed bytes of relocated code far
//     better than LZ matching (on a stripped Go binary, 50 KB against
//     69 KB).
//
// Suffix-array matching (bsdiff's and HDiffPatch's approach) finds
// slightly more short matches but costs 5 to 9 times the old file in
// memory; zstd with the old file as a window (--patch-from) has no
// approximate matches and needs the window in memory to apply;
// content-defined chunking finds nothing below a chunk. The hash index is
// the one that meets the memory budget at GiB sizes; its cost is a pass
// over each file and the table fill, which goes through cache-sized bins
// so random writes into a table of hundreds of MiB do not miss every
// cache and TLB.
//
// # Format
//
// A 92-byte header: Magic "FKDELTA1" (the last byte is the version), old
// size, new size (uint64 big-endian), the segment size (uint32, 4 MiB),
// SHA-256 of the old file, SHA-256 of the new file. Then one record per
// segment: uvarint new length; for each of the control, diff and literal
// streams uvarint raw length, uvarint stored length, a method byte (0 raw,
// 1 zstd, 2 bzip2); the three stored streams. Nothing follows the last
// segment.
//
// # Limits, enforced before the work or allocation they bound
//
//   - Diff: each input at most MaxInputSize (4 GiB - 1; positions are
//     32-bit), ErrTooLarge above.
//   - Apply: the header's new size at most ApplyOptions.MaxNewSize; the
//     old file's size and SHA-256 must match the header (ErrWrongBase)
//     before a byte is written; each segment at most 4 MiB and no longer
//     than what is left; control stream at most the segment length + 64;
//     diff + literal lengths equal the segment length; stored length at
//     most the raw length; zstd frames decoded with a 4 MiB window and a
//     4 MiB + 64 output cap, bzip2 read up to the declared length + 1, and
//     every stream must decode to exactly its declared length
//     (ErrTooLarge for a stream that expands further: decompression
//     bombs); every operation within the segment, the streams and the old
//     file; at most 16 empty operations in a row; every stream used up;
//     nothing after the last segment; the new SHA-256 checked at the end
//     (ErrDigest). Memory while applying: one segment's stored and
//     decoded streams and its output, about 20 MiB at most, reused.
//
// Apply writes as it goes: a caller must treat what it wrote as
// unverified until Apply returns nil (the update package writes into a
// staging slot and checks the file's digest before committing).
package delta
