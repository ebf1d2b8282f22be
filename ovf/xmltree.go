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
	maxBytes    int64
	maxElements int
	maxDepth    int
}

// readTree reads one XML document into a node tree. Input beyond
// maxBytes, more than maxElements elements or deeper nesting than maxDepth
// yield ErrTooLarge; syntax errors ErrMalformed.
func readTree(r io.Reader, lim treeLimits) (*node, error) {
	data, err := io.ReadAll(io.LimitReader(r, lim.maxBytes+1))
	if err != nil {
		return nil, &ParseError{Msg: "read: " + err.Error(), Err: ErrMalformed}
	}
	if int64(len(data)) > lim.maxBytes {
		return nil, &ParseError{Msg: fmt.Sprintf("more than %d bytes", lim.maxBytes), Err: ErrTooLarge}
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
