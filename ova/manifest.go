package ova

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// Digest names a manifest digest algorithm, spelled as in manifest lines.
type Digest string

// The manifest algorithms OVA consumers accept. SHA256 is the default;
// SHA1 is for vSphere releases older than 5.1; SHA512 is optional.
const (
	SHA1   Digest = "SHA1"
	SHA256 Digest = "SHA256"
	SHA512 Digest = "SHA512"
)

// Valid reports whether d is a known algorithm.
func (d Digest) Valid() bool { return d == SHA1 || d == SHA256 || d == SHA512 }

// New returns a fresh hash for d (nil for an unknown algorithm).
func (d Digest) New() hash.Hash {
	switch d {
	case SHA1:
		return sha1.New()
	case SHA256:
		return sha256.New()
	case SHA512:
		return sha512.New()
	}
	return nil
}

// Size is the digest length in bytes (0 for an unknown algorithm).
func (d Digest) Size() int {
	switch d {
	case SHA1:
		return sha1.Size
	case SHA256:
		return sha256.Size
	case SHA512:
		return sha512.Size
	}
	return 0
}

// crypto returns the crypto.Hash of d.
func (d Digest) crypto() crypto.Hash {
	switch d {
	case SHA1:
		return crypto.SHA1
	case SHA256:
		return crypto.SHA256
	case SHA512:
		return crypto.SHA512
	}
	return 0
}

// ManifestLine is one `ALG(name)= hex` line of a .mf file.
type ManifestLine struct {
	Algorithm Digest `json:"algorithm"`
	Name      string `json:"name"`
	Digest    string `json:"digest"` // lower-case hex
}

// MaxManifestSize caps the .mf and .cert files Verify and Open read.
const MaxManifestSize = 1 << 20

// FormatManifest returns the exact manifest bytes for lines: one
// `ALG(name)= hex\n` line each, in the given order. It is the format VMware
// and VirtualBox accept; sha256sum --tag and openssl output are not.
func FormatManifest(lines []ManifestLine) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(string(l.Algorithm))
		b.WriteByte('(')
		b.WriteString(l.Name)
		b.WriteString(")= ")
		b.WriteString(strings.ToLower(l.Digest))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ParseManifest parses a .mf file strictly: every line (the last may lack
// its newline) is `ALG(name)= hex` with ALG one of SHA1, SHA256, SHA512 and
// hex of that algorithm's length; names are unique. Upper-case hex is
// accepted and returned in lower case. Errors match ErrManifest,
// ErrDuplicate or ErrTooLarge.
func ParseManifest(data []byte) ([]ManifestLine, error) {
	if len(data) > MaxManifestSize {
		return nil, fileErr("", ErrTooLarge, "manifest of %d bytes exceeds %d", len(data), MaxManifestSize)
	}
	text := string(data)
	text = strings.TrimSuffix(text, "\n")
	if text == "" {
		return nil, fileErr("", ErrManifest, "empty manifest")
	}
	var out []ManifestLine
	seen := map[string]bool{}
	for i, line := range strings.Split(text, "\n") {
		l, err := parseDigestLine(line)
		if err != nil {
			return nil, fileErr("", ErrManifest, "line %d: %v", i+1, err)
		}
		if len(l.Digest) != 2*l.Algorithm.Size() {
			return nil, fileErr(l.Name, ErrManifest, "line %d: %s digest has %d hex digits, want %d", i+1, l.Algorithm, len(l.Digest), 2*l.Algorithm.Size())
		}
		if seen[l.Name] {
			return nil, fileErr(l.Name, ErrDuplicate, "manifest line %d repeats the name", i+1)
		}
		seen[l.Name] = true
		out = append(out, l)
	}
	return out, nil
}

// parseDigestLine parses `ALG(name)= hex` (used by .mf and .cert lines).
func parseDigestLine(line string) (ManifestLine, error) {
	open := strings.IndexByte(line, '(')
	if open < 0 {
		return ManifestLine{}, fmt.Errorf("no `ALG(name)= hex` form in %q", clipString(line))
	}
	alg := Digest(line[:open])
	if !alg.Valid() {
		return ManifestLine{}, fmt.Errorf("unknown algorithm %q (want SHA1, SHA256 or SHA512, no spaces)", clipString(string(alg)))
	}
	rest := line[open+1:]
	close := strings.LastIndex(rest, ")= ")
	if close < 0 {
		return ManifestLine{}, fmt.Errorf("no `)= ` in %q", clipString(line))
	}
	name, hx := rest[:close], rest[close+3:]
	if err := checkName(name); err != nil {
		return ManifestLine{}, err
	}
	if hx == "" || len(hx)%2 != 0 {
		return ManifestLine{}, fmt.Errorf("digest %q is not hex", clipString(hx))
	}
	if _, err := hex.DecodeString(hx); err != nil {
		return ManifestLine{}, fmt.Errorf("digest %q is not hex", clipString(hx))
	}
	return ManifestLine{Algorithm: alg, Name: name, Digest: strings.ToLower(hx)}, nil
}

// checkName accepts the plain member names an OVA may hold: 1 to 100 bytes
// of printable characters, no directory part, not "." or "..", nothing that
// would make a manifest line ambiguous.
func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name")
	case len(name) > 100:
		return fmt.Errorf("name %q longer than 100 bytes", clipString(name))
	case name == "." || name == "..":
		return fmt.Errorf("name %q is not a file name", name)
	case strings.ContainsAny(name, `/\`):
		return fmt.Errorf("name %q has a directory part", clipString(name))
	case strings.Contains(name, ")="):
		return fmt.Errorf("name %q contains \")=\"", clipString(name))
	}
	for _, c := range []byte(name) {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("name %q has a control character", clipString(name))
		}
	}
	return nil
}

func clipString(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
