package disk

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns matches one of them with
// errors.Is (or is a context error, or an I/O error from the destination).
var (
	// ErrInvalidSpec: the Spec or Options contradict themselves (no kernel,
	// unknown loader, bad seed, …).
	ErrInvalidSpec = errors.New("disk: invalid spec")
	// ErrMissingAsset: a host file the Spec names (loader, stub, kernel,
	// initrd, gptmbr.bin, extra file) cannot be opened.
	ErrMissingAsset = errors.New("disk: missing asset")
	// ErrShortInput: a reader gave fewer bytes than its declared size.
	ErrShortInput = errors.New("disk: input shorter than its declared size")
	// ErrESPTooSmall: the EFI System Partition cannot hold its files, or the
	// requested disk size leaves less than the FAT32 minimum for it.
	ErrESPTooSmall = errors.New("disk: EFI system partition too small")
	// ErrTooLarge: a size exceeds what this package builds.
	ErrTooLarge = errors.New("disk: too large")
	// ErrBadKernel: the kernel is neither a PE image nor a bzImage.
	ErrBadKernel = errors.New("disk: kernel is not a PE image or bzImage")
	// ErrBadStub: the UKI stub is not a usable PE32+ EFI application.
	ErrBadStub = errors.New("disk: unusable UKI stub")
	// ErrSyslinux: the syslinux program is missing or failed (BIOS boot).
	ErrSyslinux = errors.New("disk: syslinux")
	// ErrMalformed: the inspector found a damaged partition table or FAT.
	ErrMalformed = errors.New("disk: malformed image")
	// ErrNotFound: the inspector has no such file on the ESP.
	ErrNotFound = errors.New("disk: file not found")
	// ErrCrossLinked: a FAT cluster is claimed twice (by two files, two
	// directories, a file and a directory, or twice in one chain: a loop).
	// The inspector refuses such an image rather than read shared clusters
	// again; the error also matches ErrMalformed.
	ErrCrossLinked = errors.New("disk: cross-linked clusters")
)

// AssetError says which input could not be used.
type AssetError struct {
	What string // "loader", "kernel", "initrd 1", "gptmbr", "extra file EFI/x.efi", …
	Path string // host path, if the input was a host file
	Err  error  // ErrMissingAsset or ErrShortInput, possibly wrapping an *fs.PathError
}

func (e *AssetError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("%s: %s %s", e.Err, e.What, e.Path)
	}
	return fmt.Sprintf("%s: %s", e.Err, e.What)
}

func (e *AssetError) Unwrap() error { return e.Err }

// SizeError reports a partition that is too small for its content.
type SizeError struct {
	Need int64 // bytes the ESP needs (at least)
	Have int64 // bytes the ESP would have
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("%v: need at least %d bytes, have %d", ErrESPTooSmall, e.Need, e.Have)
}

func (e *SizeError) Unwrap() error { return ErrESPTooSmall }

// FormatError explains why a kernel, stub or image was rejected.
type FormatError struct {
	What   string // "kernel", "stub", "gpt", "fat", …
	Reason string
	Err    error // ErrBadKernel, ErrBadStub or ErrMalformed
}

func (e *FormatError) Error() string { return fmt.Sprintf("%v: %s: %s", e.Err, e.What, e.Reason) }
func (e *FormatError) Unwrap() error { return e.Err }

// FATError reports a damaged or hostile FAT file system: the file or
// directory at fault, and why.
type FATError struct {
	Path    string // "/" separated ESP path; "" is the root directory
	Cluster uint32 // the cluster at fault, or 0
	Reason  string
	Err     error // ErrCrossLinked, ErrMalformed or ErrTooLarge
}

func (e *FATError) Error() string {
	return fmt.Sprintf("%v: fat: /%s: %s", e.Err, e.Path, e.Reason)
}

// Unwrap makes a cross-link match ErrMalformed as well.
func (e *FATError) Unwrap() []error {
	if e.Err == ErrCrossLinked {
		return []error{ErrCrossLinked, ErrMalformed}
	}
	return []error{e.Err}
}

// ToolError reports a failed external program (only syslinux).
type ToolError struct {
	Program string
	Err     error  // the exec error
	Output  string // combined output, truncated
}

func (e *ToolError) Error() string {
	s := fmt.Sprintf("%v: %s: %v", ErrSyslinux, e.Program, e.Err)
	if e.Output != "" {
		s += ": " + e.Output
	}
	return s
}

func (e *ToolError) Unwrap() []error { return []error{ErrSyslinux, e.Err} }
