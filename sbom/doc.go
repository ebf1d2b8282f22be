// Package sbom writes and reads the software bill of materials of an
// appliance: an SPDX 2.3 JSON document.
//
// Write describes one appliance build from plain values the appliance
// builder has (Input): the outputs (OVA, disks, ISO) with their SHA-256,
// the initramfs, the distribution packages the build fetched (kernel,
// loaders) with versions, digests and package URLs, and fogkit itself as
// the build tool. The initramfs is read once as a stream with the rootfs
// reader: every regular file becomes an SPDX file with its SHA-1 and
// SHA-256, hashed file by file (hard-linked names share the data of the
// name that carries it; a later entry of a path replaces an earlier one,
// as the kernel unpacks them). ELF files up to Options.MaxBinaryBytes are
// held in memory one at a time and read with debug/buildinfo: a Go binary
// brings its main module, every dependency module (the replacement when
// replaced) and the standard library as packages with pkg:golang purls.
//
// The document is shaped as follows:
//
//	SPDXRef-DOCUMENT  DESCRIBES       the appliance package
//	appliance         CONTAINS        each output, each distribution package,
//	                                  the initramfs package, each Input.Binaries file
//	initramfs         CONTAINS        each of its files (filesAnalyzed, with
//	                                  its package verification code)
//	Go binary file    GENERATED_FROM  its main module (the source it was built from)
//	Go binary file    STATIC_LINK     each dependency module and stdlib
//	fogkit            BUILD_TOOL_OF   the appliance
//
// STATIC_LINK rather than the looser DEPENDS_ON or CONTAINS: Go links a
// module's code into the executable, so a vulnerable module version is a
// vulnerable binary, and no file of the module is beside it. Licenses and
// copyrights are NOASSERTION: the build does not know them, and SPDX asks
// not to guess. A go.sum hash (h1:…) is a digest of a module's file tree,
// not of a file, so it goes in the package comment, not in checksums.
//
// Output is deterministic: elements are sorted by SPDXID; an SPDXID is
// "SPDXRef-<Kind>-<name>-<12 hex digits of SHA-256 of kind and name>";
// the only time is Input.Created; the default namespace is derived from
// the name, version and output digests. Every problem with the input is
// reported before the first byte is written, as a typed error (an
// *InputError, a *LimitError on Options.MaxFiles, ErrInitramfs wrapping
// the rootfs error, a *BinaryError for an Input.Binaries entry that is not
// a Go binary); the document itself is encoded element by element, never
// held as one buffer.
//
// Read is the checker of what Write produces, for verifiers: strict
// decoding of that subset, SPDXIDs, checksums, relationships and package
// verification codes; its errors are *FormatError values.
package sbom
