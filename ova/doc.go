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
package ova
