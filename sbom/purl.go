package sbom

import (
	"strings"
)

// Package URLs (github.com/package-url/purl-spec) name packages in a
// form scanners match against vulnerability databases.

// GoPURL is the purl of a Go module: pkg:golang/<module path>@<version>.
func GoPURL(path, version string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = purlEscape(s)
	}
	p := "pkg:golang/" + strings.Join(segs, "/")
	if version != "" {
		p += "@" + purlEscape(version)
	}
	return p
}

// DebianPURL is the purl of a Debian package:
// pkg:deb/debian/<name>@<version>?arch=<arch>.
func DebianPURL(name, version, arch string) string {
	p := "pkg:deb/debian/" + purlEscape(name)
	if version != "" {
		p += "@" + purlEscape(version)
	}
	if arch != "" {
		p += "?arch=" + purlEscape(arch)
	}
	return p
}

// purlEscape percent-encodes all but the unreserved characters, as the
// purl specification asks (an epoch's ':' and a version's '+' included).
func purlEscape(s string) string {
	const hexd = "0123456789ABCDEF"
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_', c == '~':
			sb.WriteByte(c)
		default:
			sb.WriteByte('%')
			sb.WriteByte(hexd[c>>4])
			sb.WriteByte(hexd[c&15])
		}
	}
	return sb.String()
}
