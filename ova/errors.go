package ova

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns matches one of them
// with errors.Is (several at once when Verify found several problems).
var (
	// ErrDigestMismatch: a member's digest differs from its manifest line
	// (see DigestError).
	ErrDigestMismatch = errors.New("ova: digest mismatch")
	// ErrBadSignature: the .cert signature does not verify over the .mf
	// with the certificate's key, or the signing key does not match the
	// certificate.
	ErrBadSignature = errors.New("ova: bad signature")
	// ErrOrder: members are out of the order OVA consumers require (.ovf
	// first, then .mf and .cert, then files in References order; or .mf and
	// .cert at the very end).
	ErrOrder = errors.New("ova: members out of order")
	// ErrUnlisted: a member (or a manifest line) that the descriptor's
	// References or the manifest do not list.
	ErrUnlisted = errors.New("ova: member not listed")
	// ErrMissing: a file the descriptor or manifest lists is not in the
	// archive (or has no manifest line).
	ErrMissing = errors.New("ova: member missing")
	// ErrFormat: the tar stream is not plain USTAR/GNU with regular files
	// (PAX headers, GNU long names, directories, bad checksums, truncation).
	ErrFormat = errors.New("ova: bad archive format")
	// ErrSizeMismatch: a member's size differs from the descriptor's
	// ovf:size or from the size the caller declared.
	ErrSizeMismatch = errors.New("ova: size mismatch")
	// ErrManifest: the .mf is not made of `ALG(name)= hex` lines.
	ErrManifest = errors.New("ova: malformed manifest")
	// ErrCertificate: the .cert is malformed or its certificate unusable.
	ErrCertificate = errors.New("ova: malformed certificate file")
	// ErrUntrusted: the certificate does not chain to the caller's roots.
	ErrUntrusted = errors.New("ova: certificate not trusted")
	// ErrUnsigned: a signature was required and the archive has no .cert.
	ErrUnsigned = errors.New("ova: archive not signed")
	// ErrDescriptor: the .ovf could not be parsed by the ovf package.
	ErrDescriptor = errors.New("ova: bad descriptor")
	// ErrUnsafePath: a member name that is absolute, has a directory part
	// or "..", or a link or device entry.
	ErrUnsafePath = errors.New("ova: unsafe member")
	// ErrDuplicate: two members (or two manifest lines) with one name.
	ErrDuplicate = errors.New("ova: duplicate member")
	// ErrTooLarge: an input exceeds a size or count limit.
	ErrTooLarge = errors.New("ova: too large")
	// ErrInvalid: bad arguments or options to Write (names, sizes, missing
	// Open functions, a signer without certificates).
	ErrInvalid = errors.New("ova: invalid input")
	// ErrUnsupported: a feature this package does not implement (chunked
	// files, a digest or key algorithm it does not know).
	ErrUnsupported = errors.New("ova: unsupported")
	// ErrDiskMismatch: a VMDK's own header and descriptor disagree with
	// what the OVF descriptor says about it (extent file name, capacity,
	// adapter type against the disk's controller), or a file the OVF calls
	// a VMDK is not a sparse VMDK (see DiskMismatchError).
	ErrDiskMismatch = errors.New("ova: disk does not match the descriptor")
)

// DiskMismatchError says which VMDK disagrees with the OVF descriptor, in
// which field ("name", "capacity", "adapterType", "extent" or "format"),
// and both sides' values. It matches ErrDiskMismatch.
type DiskMismatchError struct {
	File  string // the member name (References/File href)
	Field string
	OVF   string // what the OVF descriptor says
	VMDK  string // what the VMDK's header and descriptor say
}

func (e *DiskMismatchError) Error() string {
	return fmt.Sprintf("ova: disk does not match the descriptor: %s: %s: OVF says %s, VMDK has %s", e.File, e.Field, e.OVF, e.VMDK)
}

// Is makes a DiskMismatchError match ErrDiskMismatch.
func (e *DiskMismatchError) Is(target error) bool { return target == ErrDiskMismatch }

// DigestError says which member failed its manifest digest. It matches
// ErrDigestMismatch.
type DigestError struct {
	File      string
	Algorithm Digest // the manifest line's algorithm
	Want      string // hex digest from the manifest
	Got       string // hex digest of the member's bytes
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("ova: digest mismatch: %s: %s manifest says %s, data has %s", e.File, e.Algorithm, e.Want, e.Got)
}

// Is makes a DigestError match ErrDigestMismatch.
func (e *DigestError) Is(target error) bool { return target == ErrDigestMismatch }

// FileError names the member (or input file) an error concerns. It matches
// its Err sentinel.
type FileError struct {
	File   string
	Err    error // one of the sentinels
	Detail string
}

func (e *FileError) Error() string {
	s := e.Err.Error()
	if e.File != "" {
		s += ": " + e.File
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *FileError) Unwrap() error { return e.Err }

// HeaderError says which field of which member's tar header was refused:
// one that Write would not have written (or, with ForeignHeaders, one that
// another tar reader could read differently). It matches its Err sentinel
// (ErrFormat; ErrUnsafePath for links, devices and unsafe names;
// ErrTooLarge for absurd sizes).
type HeaderError struct {
	File   string // the member name as the header spells it; may be empty
	Offset int64  // of the header in the archive
	Field  string // "name", "mode", "size", "magic", "typeflag", "realsize", …
	Err    error  // one of the sentinels
	Detail string
}

func (e *HeaderError) Error() string {
	s := e.Err.Error()
	if e.File != "" {
		s += ": " + e.File
	}
	return fmt.Sprintf("%s: tar header at offset %d: field %s: %s", s, e.Offset, e.Field, e.Detail)
}

func (e *HeaderError) Unwrap() error { return e.Err }

func fileErr(file string, err error, format string, args ...any) *FileError {
	return &FileError{File: file, Err: err, Detail: fmt.Sprintf(format, args...)}
}
