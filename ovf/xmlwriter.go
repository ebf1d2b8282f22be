package ovf

import (
	"bytes"
	"sort"
	"strconv"
	"strings"
)

// xw writes indented XML by hand so that element order, attribute order,
// namespace prefixes and escaping are fixed: same model, same bytes.
type xw struct {
	b     bytes.Buffer
	depth int
}

func itoa(i int) string { return strconv.Itoa(i) }

func (w *xw) indent() {
	for i := 0; i < w.depth; i++ {
		w.b.WriteString("  ")
	}
}

func (w *xw) attrs(kv []string) {
	for i := 0; i+1 < len(kv); i += 2 {
		w.b.WriteByte(' ')
		w.b.WriteString(kv[i])
		w.b.WriteString(`="`)
		escapeAttr(&w.b, kv[i+1])
		w.b.WriteByte('"')
	}
}

// open writes <name attrs...> and indents what follows.
func (w *xw) open(name string, kv ...string) {
	w.indent()
	w.b.WriteByte('<')
	w.b.WriteString(name)
	w.attrs(kv)
	w.b.WriteString(">\n")
	w.depth++
}

func (w *xw) close(name string) {
	w.depth--
	w.indent()
	w.b.WriteString("</")
	w.b.WriteString(name)
	w.b.WriteString(">\n")
}

// empty writes <name attrs.../>.
func (w *xw) empty(name string, kv ...string) {
	w.indent()
	w.b.WriteByte('<')
	w.b.WriteString(name)
	w.attrs(kv)
	w.b.WriteString("/>\n")
}

// leaf writes <name attrs...>text</name>.
func (w *xw) leaf(name, text string, kv ...string) {
	w.indent()
	w.b.WriteByte('<')
	w.b.WriteString(name)
	w.attrs(kv)
	w.b.WriteByte('>')
	escapeText(&w.b, text)
	w.b.WriteString("</")
	w.b.WriteString(name)
	w.b.WriteString(">\n")
}

// leafIf writes the leaf only for non-empty text.
func (w *xw) leafIf(name, text string) {
	if text != "" {
		w.leaf(name, text)
	}
}

func escapeText(b *bytes.Buffer, s string) {
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\r':
			b.WriteString("&#xD;")
		default:
			b.WriteRune(r)
		}
	}
}

func escapeAttr(b *bytes.Buffer, s string) {
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\t':
			b.WriteString("&#x9;")
		case '\n':
			b.WriteString("&#xA;")
		case '\r':
			b.WriteString("&#xD;")
		default:
			b.WriteRune(r)
		}
	}
}

// validXMLText reports whether s is valid UTF-8 made only of characters
// XML 1.0 allows.
func validXMLText(s string) bool {
	if !utf8Valid(s) {
		return false
	}
	for _, r := range s {
		if !(r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) ||
			(r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)) {
			return false
		}
	}
	return true
}

// singleLine reports whether s has no line breaks and no surrounding white
// space (such values survive a parse unchanged).
func singleLine(s string) bool {
	return !strings.ContainsAny(s, "\r\n\t") && strings.TrimSpace(s) == s
}

func sortStrings(s []string) { sort.Strings(s) }
