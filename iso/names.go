package iso

import (
	"strings"
	"unicode/utf8"
)

// ISO 9660 level 2 limits: a file identifier holds at most 30 characters
// of name and extension (plus "." and ";1"), a directory identifier 31.
const (
	maxFileIdent = 30
	maxDirIdent  = 31
	maxDepth     = 64 // directory levels Write accepts and Open follows
)

// dchars maps s to d-characters: ASCII letters upper-cased, digits and '_'
// kept, everything else (each rune) '_'.
func dchars(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// mapFile returns the identifier of a file component ("NAME.EXT;1") and its
// visible form ("NAME.EXT", or "NAME" without an extension).
func mapFile(c string) (ident, visible, reason string) {
	base, ext := c, ""
	if i := strings.LastIndexByte(c, '.'); i >= 0 {
		base, ext = c[:i], c[i+1:]
	}
	base, ext = dchars(base), dchars(ext)
	if base == "" && ext == "" {
		return "", "", "empty name"
	}
	visible = base
	if ext != "" {
		visible += "." + ext
	}
	if len(base)+len(ext) > maxFileIdent {
		return "", visible, "longer than 30 characters"
	}
	return base + "." + ext + ";1", visible, ""
}

// mapDir returns the identifier of a directory component.
func mapDir(c string) (ident, reason string) {
	d := dchars(c)
	if len(d) > maxDirIdent {
		return d, "directory name longer than 31 characters"
	}
	return d, ""
}

// splitName checks a slash path and returns its components.
func splitName(name string) ([]string, string) {
	if !utf8.ValidString(name) {
		return nil, "not UTF-8"
	}
	parts := strings.Split(strings.TrimPrefix(name, "/"), "/")
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return nil, "empty, \".\" or \"..\" component"
		}
	}
	if len(parts) > maxDepth {
		return nil, "too deep"
	}
	return parts, ""
}

// MapName returns the ISO 9660 path under which Write stores name, as
// Image.Info lists it and as Linux (lower-cased), bsdtar and isolinux see
// it: each component upper-cased, characters other than A-Z, 0-9 and '_'
// replaced by '_' (in directories also '.'), the last '.' of a file
// separating its extension. "boot/vmlinuz-6.1" is "BOOT/VMLINUZ_6.1".
func MapName(name string) (string, error) {
	parts, reason := splitName(name)
	if reason != "" {
		return "", &NameError{Name: name, Reason: reason}
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		if i == len(parts)-1 {
			_, vis, r := mapFile(p)
			if r != "" {
				return "", &NameError{Name: name, ISO: vis, Reason: r}
			}
			out[i] = vis
			continue
		}
		d, r := mapDir(p)
		if r != "" {
			return "", &NameError{Name: name, ISO: d, Reason: r}
		}
		out[i] = d
	}
	return strings.Join(out, "/"), nil
}

// visibleName turns a stored identifier into the name Info lists: the
// version (";1") and a trailing '.' removed.
func visibleName(ident string) string {
	if i := strings.LastIndexByte(ident, ';'); i >= 0 {
		ident = ident[:i]
	}
	return strings.TrimSuffix(ident, ".")
}
