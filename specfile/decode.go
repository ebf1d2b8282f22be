package specfile

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// The decoder walks the YAML node tree against the Document types by
// reflection, so the keys it accepts and the constraints it checks are the
// very ones the JSON Schema is generated from. It never stops at the first
// problem: each is recorded with the node's position and the walk goes on.

// Limits on hostile input. yaml.v3 does not expand aliases when it builds
// a node tree, so the walk counts every node it visits, aliases included,
// and stops past maxNodes (a billion-laughs document costs at most that).
const (
	// MaxFileSize caps a spec file; Load refuses larger ones unread.
	MaxFileSize = 1 << 20
	// maxNodes bounds the nodes visited, aliases expanded.
	maxNodes = 100_000
	// maxProblems bounds the list kept (the count goes on).
	maxProblems = 100
)

// nodeDecoder is a Document type that reads its own node (a size, a time,
// "true or a mapping").
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
}

type decoder struct {
	file     string
	problems []Problem
	dropped  int
	// keys maps each dotted path present in the file to its key node (for
	// positions of problems found after the walk).
	keys map[string]*yaml.Node
	// vals maps each dotted path present to its value node (list items
	// too: "previous[0]").
	vals   map[string]*yaml.Node
	budget int
	over   bool
	// covered are paths a problem already stands for (a misspelt key's
	// "did you mean"), so no second problem is reported for them.
	covered map[string]bool
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, keys: map[string]*yaml.Node{}, vals: map[string]*yaml.Node{}, covered: map[string]bool{}, budget: maxNodes}
}

// bad records a problem at n's position.
func (d *decoder) bad(n *yaml.Node, path, format string, a ...any) {
	if len(d.problems) >= maxProblems {
		d.dropped++
		return
	}
	var line, col int
	if n != nil {
		line, col = n.Line, n.Column
	}
	d.add(Problem{File: d.file, Line: line, Column: col, Field: path, Message: fmt.Sprintf(format, a...)})
}

func (d *decoder) add(p Problem) {
	if len(d.problems) >= maxProblems {
		d.dropped++
		return
	}
	d.problems = append(d.problems, p)
}

// wrongType records "want X, got Y".
func (d *decoder) wrongType(n *yaml.Node, path, want string) {
	d.bad(n, path, "want %s, got %s", want, describe(n))
}

// at returns the key node of path, or of its nearest present parent, for
// problems found after the walk.
func (d *decoder) at(path string) *yaml.Node {
	for path != "" {
		if n, ok := d.keys[path]; ok {
			return n
		}
		i := max(strings.LastIndexAny(path, ".["), 0)
		path = path[:i]
	}
	return nil
}

// atValue returns the value node of path, else what at returns: for
// problems with a value found after the walk.
func (d *decoder) atValue(path string) *yaml.Node {
	if n, ok := d.vals[path]; ok {
		return n
	}
	return d.at(path)
}

// has reports whether the file sets path.
func (d *decoder) has(path string) bool { _, ok := d.keys[path]; return ok }

// resolve follows aliases and charges the visit to the budget; false when
// the budget is spent.
func (d *decoder) resolve(n *yaml.Node, path string) (*yaml.Node, bool) {
	for hops := 0; n != nil && n.Kind == yaml.AliasNode; hops++ {
		if n.Alias == nil || hops > 100 {
			d.bad(n, path, "broken alias")
			return nil, false
		}
		n = n.Alias
	}
	if n == nil {
		return nil, false
	}
	if d.budget--; d.budget < 0 {
		if !d.over {
			// Kept past maxProblems: it says why the list stops.
			d.over = true
			d.problems = append(d.problems, Problem{File: d.file, Line: n.Line, Column: n.Column, Field: path,
				Message: fmt.Sprintf("the file expands to more than %d values (aliases counted): refusing to read on", maxNodes)})
		}
		return nil, false
	}
	return n, true
}

// tags are the constraints of a field's `jsonschema` tag that Parse
// checks too.
type tags struct {
	required, unique bool
	enum             []string
	minimum          *int64
	minLength        int
	pattern          *regexp.Regexp
}

func parseTags(tag string) tags {
	var t tags
	for _, part := range strings.Split(tag, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "required":
			t.required = true
		case "uniqueItems":
			t.unique = v == "true"
		case "enum":
			t.enum = append(t.enum, v)
		case "minimum":
			if m, err := strconv.ParseInt(v, 10, 64); err == nil {
				t.minimum = &m
			}
		case "minLength":
			t.minLength, _ = strconv.Atoi(v)
		case "pattern":
			t.pattern = regexp.MustCompile(v)
		}
	}
	return t
}

type field struct {
	name  string
	index int
	tags  tags
}

var fieldCache sync.Map // reflect.Type → []field

// fieldsOf lists a struct's keys in declaration order.
func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	var fs []field
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" || !sf.IsExported() {
			continue
		}
		fs = append(fs, field{name: name, index: i, tags: parseTags(sf.Tag.Get("jsonschema"))})
	}
	fieldCache.Store(t, fs)
	return fs
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// valueOf is the settable struct behind a pointer.
func valueOf(p any) reflect.Value { return reflect.ValueOf(p).Elem() }

// key checks a mapping key: a plain string scalar.
func (d *decoder) key(k *yaml.Node, path string) (string, bool) {
	k, ok := d.resolve(k, path)
	if !ok {
		return "", false
	}
	if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
		d.bad(k, path, "merge keys (<<) are not supported: write the keys out, or use an alias (*name) for a whole value")
		return "", false
	}
	if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
		d.bad(k, path, "want a key name, got %s", describe(k))
		return "", false
	}
	return k.Value, true
}

// decodeStruct reads a mapping into a Document struct: unknown keys,
// duplicates and missing required keys are problems.
func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	fields := fieldsOf(v.Type())
	if n.Kind != yaml.MappingNode {
		names := make([]string, 0, len(fields))
		for _, f := range fields {
			names = append(names, f.name)
		}
		d.wrongType(n, path, "a mapping (keys: "+strings.Join(names, ", ")+")")
		return
	}
	seen := map[string]*yaml.Node{}
	suggested := map[string]bool{} // a misspelt key's "did you mean"
	for i := 0; i+1 < len(n.Content) && !d.over; i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		name, ok := d.key(k, path)
		if !ok {
			continue
		}
		p := join(path, name)
		if first, dup := seen[name]; dup {
			d.bad(k, p, "key given twice (first at line %d)", first.Line)
			continue
		}
		seen[name] = k
		j := slices.IndexFunc(fields, func(f field) bool { return f.name == name })
		if j < 0 && len(d.problems) >= maxProblems {
			d.dropped++
			continue
		}
		if j < 0 {
			names := make([]string, len(fields))
			for i, f := range fields {
				names[i] = f.name
			}
			msg := "unknown key"
			if s := suggest(name, names); s != "" {
				msg += fmt.Sprintf("; did you mean %s?", s)
				suggested[s] = true
				d.covered[join(path, s)] = true
			} else if path == "" {
				msg += " (see appliance.schema.json for the keys)"
			} else {
				msg += " (keys here: " + strings.Join(names, ", ") + ")"
			}
			d.bad(k, p, "%s", msg)
			continue
		}
		d.keys[p] = k
		f := fields[j]
		d.decodeValue(val, v.Field(f.index), p, f.tags)
	}
	for _, f := range fields {
		// A required key that a misspelt one stands for is not reported
		// missing as well.
		if f.tags.required && seen[f.name] == nil && !suggested[f.name] && !d.over {
			d.bad(n, join(path, f.name), "missing (required)")
		}
	}
}

var nodeDecoderType = reflect.TypeFor[nodeDecoder]()

// decodeValue reads n into v, checking the field's tags.
func (d *decoder) decodeValue(n *yaml.Node, v reflect.Value, path string, t tags) {
	n, ok := d.resolve(n, path)
	if !ok {
		return
	}
	d.vals[path] = n
	if v.CanAddr() && v.Addr().Type().Implements(nodeDecoderType) {
		if n.Kind != yaml.ScalarNode && n.Kind != yaml.MappingNode {
			d.wrongType(n, path, "a single value")
			return
		}
		v.Addr().Interface().(nodeDecoder).decodeNode(d, n, path)
		return
	}
	switch v.Kind() {
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			want := "a string"
			if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
				want += fmt.Sprintf(` (quote it: "%s")`, clip(n.Value))
			}
			d.wrongType(n, path, want)
			return
		}
		if len(t.enum) > 0 && !slices.Contains(t.enum, n.Value) {
			msg := fmt.Sprintf("%q is not one of %s", clip(n.Value), strings.Join(t.enum, ", "))
			if s := suggest(n.Value, t.enum); s != "" {
				msg += fmt.Sprintf("; did you mean %s?", s)
			}
			d.bad(n, path, "%s", msg)
			return
		}
		if len(n.Value) < t.minLength {
			d.bad(n, path, "must not be empty")
			return
		}
		if t.pattern != nil && !t.pattern.MatchString(n.Value) {
			d.bad(n, path, "%q does not have the form %s", clip(n.Value), t.pattern)
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			d.wrongType(n, path, "true or false")
			return
		}
		var b bool
		_ = n.Decode(&b)
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Uint64:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			d.wrongType(n, path, "a whole number")
			return
		}
		var i int64
		if err := n.Decode(&i); err != nil || (v.Kind() != reflect.Uint64 && v.OverflowInt(i)) {
			d.bad(n, path, "%s is out of range", clip(n.Value))
			return
		}
		if t.minimum != nil && i < *t.minimum {
			d.bad(n, path, "%d is too small: use %d or more", i, *t.minimum)
			return
		}
		if v.Kind() == reflect.Uint64 {
			if i < 0 {
				d.bad(n, path, "%d is negative", i)
				return
			}
			v.SetUint(uint64(i))
		} else {
			v.SetInt(i)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.wrongType(n, path, "a list")
			return
		}
		out := reflect.MakeSlice(v.Type(), 0, len(n.Content))
		seen := map[string]int{}
		for i, item := range n.Content {
			if d.over {
				return
			}
			p := fmt.Sprintf("%s[%d]", path, i)
			e := reflect.New(v.Type().Elem()).Elem()
			before := len(d.problems) + d.dropped
			d.decodeValue(item, e, p, tags{enum: t.enum, minLength: 1})
			if len(d.problems)+d.dropped != before {
				continue // reported; a bad item is left out
			}
			if e.Kind() == reflect.String && t.unique {
				if j, dup := seen[e.String()]; dup && e.String() != "" {
					d.bad(item, p, "%q is listed twice (first as item %d)", e.String(), j)
					continue
				}
				seen[e.String()] = i
			}
			out = reflect.Append(out, e)
		}
		v.Set(out)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.wrongType(n, path, "a mapping")
			return
		}
		out := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content) && !d.over; i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			name, ok := d.key(k, path)
			if !ok {
				continue
			}
			p := join(path, name)
			if first, dup := seen[name]; dup {
				d.bad(k, p, "key given twice (first at line %d)", first.Line)
				continue
			}
			seen[name] = k
			d.keys[p] = k
			e := reflect.New(v.Type().Elem()).Elem()
			d.decodeValue(val, e, p, tags{})
			out.SetMapIndex(reflect.ValueOf(name), e)
		}
		v.Set(out)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Pointer:
		e := reflect.New(v.Type().Elem())
		d.decodeValue(n, e.Elem(), path, t)
		v.Set(e)
	default:
		d.bad(n, path, "internal: no decoder for %s", v.Type())
	}
}
