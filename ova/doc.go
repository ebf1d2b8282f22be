// Package ova writes, signs, verifies and safely opens OVA archives: the
// single-file form of an OVF package that VMware and VirtualBox import.
//
// An OVA is a tar archive. Write lays it out the way both hypervisors
// require: the .ovf descriptor first, then the .mf manifest and, when
// signing, the .cert, then the files (disks) in the descriptor's References
// order. Headers are plain USTAR, GNU base-256 sizes only for members of
// 8 GiB and more, never PAX; names are plain; owner, mode and time are
// fixed, so the same inputs give the same bytes.
//
// The manifest holds one `SHA256(<name>)= <hex>` line for the descriptor
// and each file (SHA1 and SHA512 on request), written by this package: the
// output of sha256sum --tag or OpenSSL 3 is rejected by VMware. Files come
// with their size and digest when the producer knows them (the vmdk writer
// reports both), or are hashed in a first pass over a re-openable source,
// so no temporary copy is made; Options.ManifestLast puts the .mf and .cert
// at the end for sources that can be read only once.
//
// Signing goes through the sign package: any X.509 signer (a
// *sign.X509Signer wraps any crypto.Signer) signs the exact .mf bytes, and
// the .cert holds `SHA256(<base>.mf)= <hex signature>` and the PEM chain.
//
// Verify checks an OVA in one streaming pass: order, formats, manifest
// coverage against the descriptor's References (read with the ovf
// package), ovf:size, every digest, the signature and the certificate.
// Problems are typed errors naming the member (ErrDigestMismatch with a
// *DigestError, ErrBadSignature, ErrOrder, ErrUnlisted, ErrMissing, …);
// self-signed, expired or not-yet-valid certificates are Findings in the
// Report. Open gives random access to members, and Archive.Extract writes
// them into a directory, refusing anything unsafe or unlisted.
//
// Verify fails closed: an archive without .cert is ErrUnsigned unless
// VerifyOptions.AllowUnsigned is set; give the vendor's certificate or CA
// as VerifyOptions.Roots to decide whom to trust.
//
// Tar headers, padding and the .cert's text are covered by neither the
// manifest nor the signature, and tar readers do not all read a header
// alike (libarchive, the tar of macOS, Windows and FreeBSD, honours
// old-GNU sparse and realsize fields in any header with the GNU magic). So
// Verify, Open and Extract accept by default only what Write writes:
//
//   - every header: the member name NUL-padded, mode "0000644\x00", uid and
//     gid "0000000\x00", empty uname, gname and linkname, type flag '0',
//     the size in 11 zero-padded octal digits and a NUL, magic "ustar\x00"
//     and version "00", devmajor and devminor "0000000\x00", bytes 345–511
//     (prefix and reserved) zero, the checksum as six octal digits, NUL,
//     space; the mtime (Options.ModTime, Unix 0 by default) in 11 octal
//     digits and a NUL, the same on every member;
//   - members of 8 GiB and more only: the GNU magic "ustar  \x00" with a
//     base-256 size (0x80 then 11 big-endian bytes), devmajor, devminor
//     and every GNU field zero;
//   - zero padding after each member, exactly two zero blocks at the end;
//   - a .cert of one `ALG(<name>.mf)= <hex>` line, CERTIFICATE PEM blocks
//     and whitespace.
//
// Anything else is refused; a header is refused with a *HeaderError that
// names the member and the field. VerifyOptions.ForeignHeaders (and
// OpenOptions.ForeignHeaders) accepts OVAs that other tools made, whose
// harmless fields differ (uid, gid, uname, gname, permission bits, mtime,
// number terminators, the GNU magic on any member, zero record padding),
// and still refuses every field another reader could interpret
// differently.
package ova
