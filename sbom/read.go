package sbom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Read parses and checks an SPDX 2.3 JSON document of the subset Write
// produces: no unknown fields, every required field present, SPDXIDs
// well-formed and unique, every checksum of a known algorithm and of the
// right length in lower-case hex, every relationship between elements of
// the document, the document describing at least one package, and every
// package verification code matching the files the package contains. It
// reads at most MaxDocumentBytes.
//
// Problems are *FormatError values matching ErrMalformed or ErrChecksum.
func Read(r io.Reader) (*Document, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxDocumentBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxDocumentBytes {
		return nil, &LimitError{Limit: "MaxDocumentBytes", Max: MaxDocumentBytes}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var doc Document
	if err := dec.Decode(&doc); err != nil {
		return nil, formatErr("", ErrMalformed, "%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, formatErr("", ErrMalformed, "data after the document")
	}
	if err := check(&doc); err != nil {
		return nil, err
	}
	return &doc, nil
}

var checksumHexLen = map[string]int{
	"SHA1": 40, "SHA224": 56, "SHA256": 64, "SHA384": 96, "SHA512": 128, "MD5": 32,
	"SHA3-256": 64, "SHA3-384": 96, "SHA3-512": 128, "BLAKE2b-256": 64, "BLAKE2b-384": 96, "BLAKE2b-512": 128,
}

var purposes = map[string]bool{
	"": true, "APPLICATION": true, "FRAMEWORK": true, "LIBRARY": true, "CONTAINER": true,
	"OPERATING-SYSTEM": true, "DEVICE": true, "FIRMWARE": true, "SOURCE": true, "ARCHIVE": true,
	"FILE": true, "INSTALL": true, "OTHER": true,
}

var relTypes = map[string]bool{
	RelDescribes: true, RelContains: true, RelGeneratedFrom: true, RelStaticLink: true,
	RelBuildToolOf: true, "DESCRIBED_BY": true, "CONTAINED_BY": true, "DEPENDS_ON": true,
	"DEPENDENCY_OF": true, "GENERATES": true, "DYNAMIC_LINK": true, "OTHER": true,
}

func check(d *Document) error {
	switch {
	case d.SPDXVersion != SPDXVersion:
		return formatErr("spdxVersion", ErrMalformed, "%q, want %q", d.SPDXVersion, SPDXVersion)
	case d.DataLicense != DataLicense:
		return formatErr("dataLicense", ErrMalformed, "%q, want %q", d.DataLicense, DataLicense)
	case d.SPDXID != DocumentID:
		return formatErr("SPDXID", ErrMalformed, "%q, want %q", d.SPDXID, DocumentID)
	case d.Name == "":
		return formatErr("name", ErrMalformed, "empty")
	}
	if err := checkNamespace(d.DocumentNamespace); err != nil {
		return formatErr("documentNamespace", ErrMalformed, "%v", err)
	}
	if _, err := time.Parse("2006-01-02T15:04:05Z", d.CreationInfo.Created); err != nil {
		return formatErr("creationInfo.created", ErrMalformed, "%q is not YYYY-MM-DDThh:mm:ssZ", d.CreationInfo.Created)
	}
	if len(d.CreationInfo.Creators) == 0 {
		return formatErr("creationInfo.creators", ErrMalformed, "none")
	}
	for i, c := range d.CreationInfo.Creators {
		if !hasAnyPrefix(c, "Tool: ", "Organization: ", "Person: ") {
			return formatErr(fmt.Sprintf("creationInfo.creators[%d]", i), ErrMalformed, "%q is not Tool:, Organization: or Person:", c)
		}
	}

	ids := map[string]bool{DocumentID: true}
	addID := func(path, id string) error {
		if !validID(id) {
			return formatErr(path, ErrMalformed, "%q is not SPDXRef-[A-Za-z0-9.-]+", id)
		}
		if ids[id] {
			return formatErr(path, ErrMalformed, "duplicate %q", id)
		}
		ids[id] = true
		return nil
	}
	sha1Of := map[string]string{}
	for i := range d.Files {
		f := &d.Files[i]
		p := fmt.Sprintf("files[%d]", i)
		if err := addID(p+".SPDXID", f.SPDXID); err != nil {
			return err
		}
		if !strings.HasPrefix(f.FileName, "./") {
			return formatErr(p+".fileName", ErrMalformed, "%q does not start with ./", f.FileName)
		}
		if f.LicenseConcluded == "" || f.CopyrightText == "" {
			return formatErr(p, ErrMalformed, "licenseConcluded or copyrightText empty")
		}
		if err := checkChecksums(p+".checksums", f.Checksums); err != nil {
			return err
		}
		for _, c := range f.Checksums {
			if c.Algorithm == "SHA1" {
				sha1Of[f.SPDXID] = c.ChecksumValue
			}
		}
		if sha1Of[f.SPDXID] == "" {
			return formatErr(p+".checksums", ErrChecksum, "no SHA1 (SPDX 2.3 requires one for files)")
		}
	}
	for i := range d.Packages {
		pk := &d.Packages[i]
		p := fmt.Sprintf("packages[%d]", i)
		if err := addID(p+".SPDXID", pk.SPDXID); err != nil {
			return err
		}
		switch {
		case pk.Name == "":
			return formatErr(p+".name", ErrMalformed, "empty")
		case pk.DownloadLocation == "":
			return formatErr(p+".downloadLocation", ErrMalformed, "empty")
		case pk.LicenseConcluded == "" || pk.LicenseDeclared == "" || pk.CopyrightText == "":
			return formatErr(p, ErrMalformed, "licenseConcluded, licenseDeclared or copyrightText empty")
		case pk.Supplier != "" && pk.Supplier != NoAssertion && !hasAnyPrefix(pk.Supplier, "Organization: ", "Person: "):
			return formatErr(p+".supplier", ErrMalformed, "%q is not Organization:, Person: or NOASSERTION", pk.Supplier)
		case !purposes[pk.PrimaryPackagePurpose]:
			return formatErr(p+".primaryPackagePurpose", ErrMalformed, "unknown %q", pk.PrimaryPackagePurpose)
		case pk.FilesAnalyzed != (pk.VerificationCode != nil):
			return formatErr(p+".packageVerificationCode", ErrMalformed, "present if and only if filesAnalyzed")
		}
		if pk.VerificationCode != nil && !isLowerHex(pk.VerificationCode.Value, 40) {
			return formatErr(p+".packageVerificationCode", ErrChecksum, "%q is not 40 lower-case hex digits", pk.VerificationCode.Value)
		}
		if err := checkChecksums(p+".checksums", pk.Checksums); err != nil {
			return err
		}
		for j, r := range pk.ExternalRefs {
			rp := fmt.Sprintf("%s.externalRefs[%d]", p, j)
			switch {
			case r.ReferenceCategory != "PACKAGE-MANAGER" && r.ReferenceCategory != "SECURITY" && r.ReferenceCategory != "PERSISTENT-ID" && r.ReferenceCategory != "OTHER":
				return formatErr(rp+".referenceCategory", ErrMalformed, "unknown %q", r.ReferenceCategory)
			case r.ReferenceType == "" || r.ReferenceLocator == "":
				return formatErr(rp, ErrMalformed, "empty type or locator")
			case r.ReferenceType == "purl" && !strings.HasPrefix(r.ReferenceLocator, "pkg:"):
				return formatErr(rp+".referenceLocator", ErrMalformed, "%q is not a package URL", r.ReferenceLocator)
			}
		}
	}

	described := false
	contains := map[string][]string{}
	for i, r := range d.Relationships {
		p := fmt.Sprintf("relationships[%d]", i)
		switch {
		case !relTypes[r.Type]:
			return formatErr(p+".relationshipType", ErrMalformed, "unknown %q", r.Type)
		case !ids[r.Element]:
			return formatErr(p+".spdxElementId", ErrMalformed, "%q is no element of the document", r.Element)
		case !ids[r.Related]:
			return formatErr(p+".relatedSpdxElement", ErrMalformed, "%q is no element of the document", r.Related)
		}
		if r.Element == DocumentID && r.Type == RelDescribes {
			described = true
		}
		if r.Type == RelContains && sha1Of[r.Related] != "" {
			contains[r.Element] = append(contains[r.Element], sha1Of[r.Related])
		}
	}
	if !described {
		return formatErr("relationships", ErrMalformed, "the document describes nothing")
	}
	for i := range d.Packages {
		pk := &d.Packages[i]
		if pk.VerificationCode == nil {
			continue
		}
		if got := verificationCode(contains[pk.SPDXID]); got != pk.VerificationCode.Value {
			return formatErr(fmt.Sprintf("packages[%d].packageVerificationCode", i), ErrChecksum, "%s, its files give %s", pk.VerificationCode.Value, got)
		}
	}
	return nil
}

func checkChecksums(path string, cs []Checksum) error {
	seen := map[string]bool{}
	for i, c := range cs {
		p := fmt.Sprintf("%s[%d]", path, i)
		n, ok := checksumHexLen[c.Algorithm]
		if !ok {
			return formatErr(p+".algorithm", ErrChecksum, "unknown %q", c.Algorithm)
		}
		if seen[c.Algorithm] {
			return formatErr(p+".algorithm", ErrChecksum, "second %s", c.Algorithm)
		}
		seen[c.Algorithm] = true
		if !isLowerHex(c.ChecksumValue, n) {
			return formatErr(p+".checksumValue", ErrChecksum, "%q is not %d lower-case hex digits", c.ChecksumValue, n)
		}
	}
	return nil
}

func isLowerHex(s string, n int) bool {
	return isHex(s, n) && strings.ToLower(s) == s
}

func validID(id string) bool {
	rest, ok := strings.CutPrefix(id, "SPDXRef-")
	if !ok || rest == "" {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) && len(s) > len(p) {
			return true
		}
	}
	return false
}
