package sbom

import (
	"io"
	"time"

	"github.com/fogkit/fogkit/rootfs"
)

// Input describes an appliance build: what the appliance builder knows
// after the other stages ran.
type Input struct {
	// Name and Version of the appliance, e.g. "fogdemo", "1.0.0". Name is
	// required.
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// Supplier is the vendor, "Organization: Acme" or "Person: …"; a bare
	// name gets the "Organization: " prefix. Empty means NOASSERTION.
	Supplier string `json:"supplier,omitempty"`
	// Namespace is the documentNamespace, an absolute URI without
	// fragment. Empty derives one from the name, the version and the
	// digests of the outputs: https://fogkit.dev/spdx/<name>-<version>-<hex>.
	Namespace string `json:"namespace,omitempty"`
	// Created is creationInfo.created, the build epoch; zero means Unix 0.
	Created time.Time `json:"created"`
	// Tool is the creator tool, "fogkit-<version>" if empty.
	Tool string `json:"tool,omitempty"`
	// Outputs are the files the build made (OVA, disks, ISO…). Each
	// becomes a package with its digest, contained by the appliance.
	Outputs []File `json:"outputs,omitempty"`
	// Initramfs, if set, is read once: every regular file in it becomes
	// an SPDX file with its SHA-1 and SHA-256, and Go binaries among them
	// bring their modules.
	Initramfs *Archive `json:"initramfs,omitempty"`
	// Packages are the distribution packages the appliance carries (the
	// kernel, the loaders).
	Packages []Package `json:"packages,omitempty"`
	// Binaries are Go executables outside the initramfs (or to be
	// described whatever their place); each must carry Go build
	// information.
	Binaries []Binary `json:"binaries,omitempty"`
}

// File is an output of the build.
type File struct {
	Name   string `json:"name"` // base name, e.g. "fogdemo.ova"
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // 64 hex digits
}

// Archive is the initramfs: its name and digest as shipped, and a reader
// of its bytes (cpio newc, compressed or not, members joined as the kernel
// accepts them).
type Archive struct {
	File
	R io.Reader `json:"-"`
}

// Package is a distribution package (a .deb the build fetched).
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// Supplier as in Input.Supplier; empty means NOASSERTION.
	Supplier string `json:"supplier,omitempty"`
	// SHA256 of the package file, if known.
	SHA256 string `json:"sha256,omitempty"`
	// FileName of the package file, e.g. "linux-image-6.1.0-26-amd64_6.1.112-1_amd64.deb".
	FileName string `json:"fileName,omitempty"`
	// DownloadLocation is a URL; empty means NOASSERTION.
	DownloadLocation string `json:"downloadLocation,omitempty"`
	// PURL is the package URL, e.g. from DebianPURL.
	PURL string `json:"purl,omitempty"`
}

// Binary is a Go executable read through R (Size bytes).
type Binary struct {
	Name string      `json:"name"` // as it appears in the appliance, e.g. "usr/bin/app"
	R    io.ReaderAt `json:"-"`
	Size int64       `json:"size"`
}

// Options tune Write. nil means the defaults below.
type Options struct {
	// MaxFiles caps the regular files taken from the initramfs (default
	// DefaultMaxFiles).
	MaxFiles int `json:"maxFiles,omitempty"`
	// MaxBinaryBytes caps the size of an ELF file of the initramfs that
	// is held in memory to read its Go build information (default
	// DefaultMaxBinaryBytes); larger ones are hashed, listed in
	// Result.Uninspected and not searched for modules.
	MaxBinaryBytes int64 `json:"maxBinaryBytes,omitempty"`
	// Reader bounds the reading of the initramfs (nil: rootfs defaults).
	Reader *rootfs.ReaderOptions `json:"reader,omitempty"`
	// Progress is called after each initramfs file and binary.
	Progress func(Event) `json:"-"`
}

// Defaults of Options.
const (
	DefaultMaxFiles       = 1_000_000
	DefaultMaxBinaryBytes = 256 << 20
	// MaxDocumentBytes caps what Read reads.
	MaxDocumentBytes = 1 << 30
)

// Event reports progress: Stage "initramfs" (Done files so far, File the
// path) or "binaries" (Done of Total).
type Event struct {
	Stage string `json:"stage"`
	File  string `json:"file,omitempty"`
	Done  int64  `json:"done"`
	Total int64  `json:"total"`
}

// Result describes the document written.
type Result struct {
	Namespace string `json:"namespace"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	Packages  int    `json:"packages"`
	Files     int    `json:"files"`
	// GoBinaries are the initramfs paths and Binaries names with Go build
	// information, sorted.
	GoBinaries []string `json:"goBinaries,omitempty"`
	// Uninspected are ELF files of the initramfs over MaxBinaryBytes.
	Uninspected []string `json:"uninspected,omitempty"`
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.MaxFiles <= 0 {
		r.MaxFiles = DefaultMaxFiles
	}
	if r.MaxBinaryBytes <= 0 {
		r.MaxBinaryBytes = DefaultMaxBinaryBytes
	}
	return r
}
