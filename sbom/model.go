package sbom

// The SPDX 2.3 JSON model: the subset of the specification that Write
// produces and Read accepts. JSON names are the specification's own (so
// "SPDXID" keeps its capitals), and field order is the order of the
// specification's sections, which is the order Write emits.

// Version strings of the documents this package writes.
const (
	SPDXVersion = "SPDX-2.3"
	DataLicense = "CC0-1.0"
	// NoAssertion is the SPDX value for "not known, nothing claimed".
	NoAssertion = "NOASSERTION"
	// DocumentID is the SPDXID of the document itself.
	DocumentID = "SPDXRef-DOCUMENT"
)

// Document is an SPDX 2.3 document as Write writes it.
type Document struct {
	SPDXVersion       string         `json:"spdxVersion"`
	DataLicense       string         `json:"dataLicense"`
	SPDXID            string         `json:"SPDXID"`
	Name              string         `json:"name"`
	DocumentNamespace string         `json:"documentNamespace"`
	CreationInfo      CreationInfo   `json:"creationInfo"`
	Packages          []SPDXPackage  `json:"packages"`
	Files             []SPDXFile     `json:"files"`
	Relationships     []Relationship `json:"relationships"`
}

// CreationInfo says who made the document and when.
type CreationInfo struct {
	Created  string   `json:"created"` // RFC 3339, UTC, seconds: 2006-01-02T15:04:05Z
	Creators []string `json:"creators"`
}

// Checksum is one digest of a package or file.
type Checksum struct {
	Algorithm     string `json:"algorithm"` // "SHA1", "SHA256"
	ChecksumValue string `json:"checksumValue"`
}

// ExternalRef is a package's external reference; Write uses only purls
// (category PACKAGE-MANAGER, type purl).
type ExternalRef struct {
	ReferenceCategory string `json:"referenceCategory"`
	ReferenceType     string `json:"referenceType"`
	ReferenceLocator  string `json:"referenceLocator"`
}

// VerificationCode is a package's verification code: the SHA-1 of the
// sorted SHA-1 digests of its files (SPDX 2.3 §7.9).
type VerificationCode struct {
	Value string `json:"packageVerificationCodeValue"`
}

// SPDXPackage is an SPDX package: the appliance, an output, the
// initramfs, a distribution package, a Go module, fogkit.
type SPDXPackage struct {
	SPDXID                string            `json:"SPDXID"`
	Name                  string            `json:"name"`
	VersionInfo           string            `json:"versionInfo,omitempty"`
	PackageFileName       string            `json:"packageFileName,omitempty"`
	Supplier              string            `json:"supplier,omitempty"`
	DownloadLocation      string            `json:"downloadLocation"`
	FilesAnalyzed         bool              `json:"filesAnalyzed"`
	VerificationCode      *VerificationCode `json:"packageVerificationCode,omitempty"`
	Checksums             []Checksum        `json:"checksums,omitempty"`
	LicenseConcluded      string            `json:"licenseConcluded"`
	LicenseDeclared       string            `json:"licenseDeclared"`
	CopyrightText         string            `json:"copyrightText"`
	Comment               string            `json:"comment,omitempty"`
	ExternalRefs          []ExternalRef     `json:"externalRefs,omitempty"`
	PrimaryPackagePurpose string            `json:"primaryPackagePurpose,omitempty"`
}

// SPDXFile is an SPDX file: a regular file of the initramfs.
type SPDXFile struct {
	SPDXID             string     `json:"SPDXID"`
	FileName           string     `json:"fileName"` // "./init"
	FileTypes          []string   `json:"fileTypes,omitempty"`
	Checksums          []Checksum `json:"checksums"`
	LicenseConcluded   string     `json:"licenseConcluded"`
	LicenseInfoInFiles []string   `json:"licenseInfoInFiles"`
	CopyrightText      string     `json:"copyrightText"`
}

// Relationship links two elements by SPDXID.
type Relationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

// Relationship types Write uses.
const (
	// The document describes the appliance.
	RelDescribes = "DESCRIBES"
	// The appliance contains its outputs and distribution packages; the
	// initramfs contains its files.
	RelContains = "CONTAINS"
	// A Go binary is generated from the source of its main module.
	RelGeneratedFrom = "GENERATED_FROM"
	// A Go binary statically links every dependency module and the Go
	// standard library: STATIC_LINK is the kind of DEPENDS_ON that says
	// the code is inside the binary, not needed beside it.
	RelStaticLink = "STATIC_LINK"
	// fogkit is the tool that built the appliance.
	RelBuildToolOf = "BUILD_TOOL_OF"
)
