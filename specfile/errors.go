package specfile

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrSpec: the spec file is not valid YAML, breaks the schema (unknown
// key, wrong type, impossible value, missing field) or describes an
// appliance that appliance.Spec.Validate refuses. Every such error is an
// *Error listing all the problems at once.
var ErrSpec = errors.New("specfile: invalid spec file")

// Problem is one thing wrong in a spec file, at the position of the key
// (or value) it concerns.
type Problem struct {
	// File is the name the file was parsed under.
	File string `json:"file"`
	// Line and Column are 1-based; zero when the problem has no position
	// (an empty file, a file too large to read).
	Line   int `json:"line"`
	Column int `json:"column"`
	// Field is the dotted path of the key, "license.customer.id",
	// "formats[1]", "flavours.small.cpus"; empty for the whole file.
	Field string `json:"field,omitempty"`
	// Message says what is wrong and what to write instead.
	Message string `json:"message"`
}

// String formats p as "file:line:col: field: message", leaving out the
// parts p lacks.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteString(":")
	}
	if p.Line > 0 {
		fmt.Fprintf(&b, "%d:%d:", p.Line, p.Column)
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error lists every problem of a spec file, in file order. It matches
// ErrSpec with errors.Is.
type Error struct {
	Problems []Problem `json:"problems"`
}

// Error returns one problem per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	if len(lines) == 0 {
		return ErrSpec.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap makes errors.Is(err, ErrSpec) hold.
func (e *Error) Unwrap() error { return ErrSpec }

// sortProblems orders problems by position (positionless ones first),
// keeping the order of problems at the same place.
func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if c := cmp.Compare(a.Line, b.Line); c != 0 {
			return c
		}
		return cmp.Compare(a.Column, b.Column)
	})
}
