// Package qcow2 writes and reads qcow2 disk images, qemu's native format,
// version 3 (compat 1.1) as qemu writes it.
//
// Write (an io.ReaderAt) and WriteStream (an io.Reader) convert a raw disk
// into a qcow2 image written strictly sequentially on any io.Writer:
//
//	cluster 0      header (header_length 112, 16-bit refcounts), end-of-extensions marker
//	clusters 1…    refcount table, refcount blocks, L1 table, L2 tables
//	…              data clusters in ascending guest order; all-zero clusters are not
//	               stored (L2 entry 0); compressed clusters are packed back to back
//
// The header comes first and points at metadata that depends on every
// cluster, so the metadata is laid out before the data is written:
// uncompressed Write scans src once for all-zero clusters (the sparse map)
// and reads the clusters holding data again, straight into its output
// buffers; compressed Write and WriteStream
// read their input once and spool the data area (never all-zero clusters)
// to a temporary file in Options.TempDir, removed before they return. All
// paths give the same bytes for the same disk and options.
//
// Clusters are 64 KiB by default (Options.ClusterBits). Compression is
// optional: "zlib" (raw deflate with a 4 KiB window, which qemu requires)
// or "zstd" (the header's compression type 1, incompatible feature bit 3).
// A cluster that does not compress below the cluster size is stored as it
// is, as qemu does. Clusters are classified and compressed on
// Options.Workers goroutines; the output is byte-identical for any number
// of workers and memory stays bounded (at most 16 MiB of clusters in
// flight and four output buffers of 512 KiB or one cluster, plus the L2
// tables of the stored clusters: 8 bytes per cluster of a 512 MiB span
// that holds data).
//
// The virtual size is the input size rounded up to a multiple of 512 (qemu
// counts sectors); the extra bytes read as zeros.
//
// Open reads any qcow2 v2 or v3 image without a backing file, encryption,
// external data file or extended L2 entries (those fail with
// ErrUnsupported), including qemu-img's plain, zlib- and zstd-compressed
// output; Image.ReadAt returns the guest bytes. Inspect checks the
// structure: header fields, L1/L2 entries within the file and well-formed,
// no cluster used twice, and refcounts equal to the references counted
// (leaks included), as findings in a Report.
//
// Bad input: every header field that sizes an allocation (l1_size,
// refcount_table_clusters, cluster_bits, header_length) is checked against
// qemu's limits and the file size before anything is allocated; compressed
// clusters inflate into exactly one cluster. Malformed images fail with
// *FormatError values that match ErrMalformed, ErrTruncated, ErrTooLarge or
// ErrUnsupported.
package qcow2
