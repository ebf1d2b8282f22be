package ovf

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// node is a small, bounded DOM used by the parsers: element name with its
// namespace, attributes, character data and children in document order.
type node struct {
	name     xml.Name
	attr     []xml.Attr
	text     strings.Builder
	children []*node
	line     int
}

// treeLimits bound the work done on hostile input.
type treeLimits struct {
	maxBytes      int64
	maxElements   int
	maxDepth      int
	maxAttrs      int // per element
	maxTotalAttrs int
}

// readTree reads one XML document into a node tree. Input beyond
// maxBytes, more than maxElements elements, deeper nesting than maxDepth,
// or more attributes than maxAttrs on one element or maxTotalAttrs in all
// yield ErrTooLarge; syntax errors and duplicate attributes ErrMalformed.
func readTree(r io.Reader, lim treeLimits) (*node, error) {
	data, err := io.ReadAll(io.LimitReader(r, lim.maxBytes+1))
	if err != nil {
		return nil, &ParseError{Msg: "read: " + err.Error(), Err: ErrMalformed}
	}
	if int64(len(data)) > lim.maxBytes {
		return nil, &ParseError{Msg: fmt.Sprintf("more than %d bytes", lim.maxBytes), Err: ErrTooLarge}
	}
	// encoding/xml builds an element's whole attribute list before it
	// returns the element (6.7 million attributes on one element cost
	// 1.3 GB), so attributes are counted in the raw text first.
	if err := scanAttributes(data, lim); err != nil {
		return nil, err
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	// Only UTF-8 (and its US-ASCII subset) is accepted; other charsets are
	// reported instead of silently mis-decoded.
	dec.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return in, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q", label)
	}
	var (
		root  *node
		stack []*node
		count int
	)
	line := func() int {
		l, _ := dec.InputPos()
		return l
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, &ParseError{Line: se.Line, Msg: se.Msg, Err: ErrMalformed}
			}
			return nil, &ParseError{Line: line(), Msg: err.Error(), Err: ErrMalformed}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			count++
			if count > lim.maxElements {
				return nil, &ParseError{Line: line(), Msg: fmt.Sprintf("more than %d elements", lim.maxElements), Err: ErrTooLarge}
			}
			if len(stack) >= lim.maxDepth {
				return nil, &ParseError{Line: line(), Msg: fmt.Sprintf("nesting deeper than %d", lim.maxDepth), Err: ErrTooLarge}
			}
			if err := checkDuplicates(t.Attr); err != nil {
				return nil, &ParseError{Line: line(), Element: t.Name.Local, Msg: err.Error(), Err: ErrMalformed}
			}
			n := &node{name: t.Name, attr: t.Copy().Attr, line: line()}
			if len(stack) == 0 {
				if root != nil {
					return nil, &ParseError{Line: n.line, Msg: "more than one root element", Err: ErrMalformed}
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
	if root == nil {
		return nil, &ParseError{Msg: "no root element", Err: ErrMalformed}
	}
	return root, nil
}

// checkDuplicates refuses an element that repeats an attribute (by
// namespace and local name, so a:x and b:x with one namespace count as
// the same), as XML and its namespaces require.
func checkDuplicates(attrs []xml.Attr) error {
	if len(attrs) < 2 {
		return nil
	}
	dup := func(a xml.Attr) error {
		return fmt.Errorf("duplicate attribute %s", clipID(strings.TrimPrefix(a.Name.Space+":"+a.Name.Local, ":")))
	}
	if len(attrs) <= 16 {
		for i := range attrs {
			for j := range i {
				if attrs[i].Name == attrs[j].Name {
					return dup(attrs[i])
				}
			}
		}
		return nil
	}
	seen := make(map[xml.Name]bool, len(attrs))
	for _, a := range attrs {
		if seen[a.Name] {
			return dup(a)
		}
		seen[a.Name] = true
	}
	return nil
}

// scanAttributes counts the attributes of every start tag in data, the
// way encoding/xml will read them, and fails with ErrTooLarge past the
// limits.
func scanAttributes(data []byte, lim treeLimits) error {
	total := 0
	return eachStartTag(data, func(pos, n int) error {
		msg := ""
		if n > lim.maxAttrs {
			msg = fmt.Sprintf("an element with more than %d attributes", lim.maxAttrs)
		} else if total += n; total > lim.maxTotalAttrs {
			msg = fmt.Sprintf("more than %d attributes", lim.maxTotalAttrs)
		} else {
			return nil
		}
		return &ParseError{Line: 1 + bytes.Count(data[:pos], []byte{'\n'}), Msg: msg, Err: ErrTooLarge}
	})
}

// eachStartTag calls fn with the offset and attribute count of each start
// tag in data, in order, skipping comments, CDATA sections, processing
// instructions, directives and end tags as encoding/xml does. Only
// counting matters here: markup the decoder rejects is rejected there,
// and the walk stops no later than the decoder would.
func eachStartTag(data []byte, fn func(pos, n int) error) error {
	i := 0
	for {
		j := bytes.IndexByte(data[i:], '<')
		if j < 0 {
			return nil
		}
		start := i + j
		i = start + 1
		rest := data[i:]
		var skip int // bytes after '<' to the end of this markup, -1: unterminated
		switch {
		case bytes.HasPrefix(rest, []byte("!--")):
			// The decoder ends a comment at the first "--", which must be
			// followed by '>'.
			k := bytes.Index(rest[3:], []byte("--"))
			if k < 0 || 3+k+2 >= len(rest) || rest[3+k+2] != '>' {
				return nil
			}
			skip = 3 + k + 3
		case bytes.HasPrefix(rest, []byte("![CDATA[")):
			skip = endAfter(rest, "]]>")
		case bytes.HasPrefix(rest, []byte("?")):
			skip = endAfter(rest, "?>")
		case bytes.HasPrefix(rest, []byte("!")):
			skip = directiveEnd(rest)
		case bytes.HasPrefix(rest, []byte("/")):
			skip = endAfter(rest, ">")
		default:
			n, k := tagAttributes(rest)
			if err := fn(start, n); err != nil {
				return err
			}
			skip = k
		}
		if skip < 0 {
			return nil
		}
		i += skip
	}
}

// endAfter returns the length of b up to and including the first end, or
// -1.
func endAfter(b []byte, end string) int {
	k := bytes.Index(b, []byte(end))
	if k < 0 {
		return -1
	}
	return k + len(end)
}

// tagAttributes counts the attributes of a start tag (b follows its '<'):
// each has exactly one '=' outside quotes. It returns the count and the
// length to the closing '>' (-1 if there is none).
func tagAttributes(b []byte) (n, end int) {
	var quote byte
	for k, c := range b {
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '=':
			n++
		case c == '>':
			return n, k + 1
		}
	}
	return n, -1
}

// directiveEnd finds the end of a <!DOCTYPE ...> style directive (b
// follows its '<') as encoding/xml does: quoted text and nested <!-- -->
// comments do not count, other nested angle brackets do. The decoder takes
// the first byte after "<!" verbatim, without looking at it (so in `<!">`
// the quote opens nothing and '>' ends the directive): the walk starts
// after it too.
func directiveEnd(b []byte) int {
	var quote byte
	depth := 0
	for k := 2; k < len(b); k++ {
		c := b[k]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			if depth == 0 {
				return k + 1
			}
			depth--
		case c == '<':
			if bytes.HasPrefix(b[k+1:], []byte("!--")) {
				e := bytes.Index(b[k+4:], []byte("--"))
				if e < 0 || k+4+e+2 >= len(b) || b[k+4+e+2] != '>' {
					return -1
				}
				k += 4 + e + 2
				continue
			}
			depth++
		}
	}
	return -1
}

// Text returns the element's character data with surrounding white space
// removed.
func (n *node) Text() string { return strings.TrimSpace(n.text.String()) }

// is reports whether the element's local name is local (namespaces are
// checked by callers only where two vocabularies share a local name).
func (n *node) is(local string) bool { return n.name.Local == local }

// child returns the first child with the local name, or nil.
func (n *node) child(local string) *node {
	if n == nil {
		return nil
	}
	for _, c := range n.children {
		if c.name.Local == local {
			return c
		}
	}
	return nil
}

// all returns every child with the local name.
func (n *node) all(local string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, c := range n.children {
		if c.name.Local == local {
			out = append(out, c)
		}
	}
	return out
}

// childRaw is the untrimmed text of the first child named local (free
// text such as annotations keeps its white space).
func (n *node) childRaw(local string) string {
	if c := n.child(local); c != nil {
		return c.text.String()
	}
	return ""
}

// childText is the trimmed text of the first child named local.
func (n *node) childText(local string) string {
	if c := n.child(local); c != nil {
		return c.Text()
	}
	return ""
}

// get returns the attribute with the local name in the given namespace,
// or else one without a namespace: real-world descriptors mix ovf:href and
// href.
func (n *node) get(space, local string) (string, bool) {
	if n == nil {
		return "", false
	}
	var fallback *xml.Attr
	for i := range n.attr {
		a := &n.attr[i]
		if a.Name.Local != local || a.Name.Space == "xmlns" {
			continue
		}
		if a.Name.Space == space {
			return a.Value, true
		}
		if a.Name.Space == "" {
			fallback = a
		}
	}
	if fallback != nil {
		return fallback.Value, true
	}
	return "", false
}

// attrOf returns the attribute value or "".
func (n *node) attrOf(space, local string) string {
	v, _ := n.get(space, local)
	return v
}
