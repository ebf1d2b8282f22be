package provenance

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The type URIs and media type of what this package writes and accepts.
const (
	// StatementType is the in-toto Statement's _type.
	StatementType = "https://in-toto.io/Statement/v1"
	// PredicateType is the SLSA Provenance v1 predicate's type.
	PredicateType = "https://slsa.dev/provenance/v1"
	// PayloadType is the DSSE envelope's payloadType for in-toto
	// statements.
	PayloadType = "application/vnd.in-toto+json"
	// ApplianceBuildType is the buildType of fogkit's appliance builds.
	ApplianceBuildType = "https://fogkit.dev/appliance-build/v1"
)

// Subject is one output of the build, as an in-toto ResourceDescriptor:
// its name (a slash-separated path relative to the build directory, for
// CheckSubjects) and its digests, algorithm → lower-case hex. A SHA-256
// ("sha256") is required; others may be given.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Dependency is one resolved dependency of the build (kernel, loader,
// init, app tree...): a name, an optional URI where it came from, and its
// digests as for Subject (SHA-256 required).
type Dependency struct {
	Name   string            `json:"name"`
	URI    string            `json:"uri,omitempty"`
	Digest map[string]string `json:"digest"`
}

// Input is what a provenance statement records. Statement turns it into
// canonical JSON; ParseStatement and Verify give it back.
type Input struct {
	// BuildType is a URI naming the kind of build and how to read its
	// parameters, e.g. ApplianceBuildType. Required.
	BuildType string `json:"buildType"`
	// BuilderID is a URI naming the builder (the program and version that
	// ran the build). Required.
	BuilderID string `json:"builderId"`
	// ExternalParameters are the inputs the build's user chose (the spec
	// file's digest and its parameters): any value that encodes to a
	// non-empty JSON object. Required. After parsing it is a
	// map[string]any whose numbers are json.Number.
	ExternalParameters any `json:"externalParameters"`
	// InternalParameters are the builder's own settings; nil, or a value
	// that encodes to a JSON object.
	InternalParameters any `json:"internalParameters,omitempty"`
	// Dependencies are written sorted by name, then URI, then SHA-256;
	// two with the same three are refused.
	Dependencies []Dependency `json:"dependencies,omitempty"`
	// Subjects are written sorted by name; names must be unique. At least
	// one.
	Subjects []Subject `json:"subjects"`
	// StartedOn and FinishedOn are written in UTC with nanoseconds when
	// set; a build uses its build epoch for both, so that the statement
	// is reproducible. Zero leaves them out.
	StartedOn  time.Time `json:"startedOn"`
	FinishedOn time.Time `json:"finishedOn"`
	// InvocationID names this run of the builder; empty leaves it out.
	InvocationID string `json:"invocationId,omitempty"`
}

// The wire form. Field order is the JSON order; encoding/json sorts map
// keys, so nothing depends on map iteration.
type wireStatement struct {
	Type          string        `json:"_type"`
	Subject       []Subject     `json:"subject"`
	PredicateType string        `json:"predicateType"`
	Predicate     wirePredicate `json:"predicate"`
}

type wirePredicate struct {
	BuildDefinition wireBuildDefinition `json:"buildDefinition"`
	RunDetails      wireRunDetails      `json:"runDetails"`
}

type wireBuildDefinition struct {
	BuildType            string       `json:"buildType"`
	ExternalParameters   any          `json:"externalParameters"`
	InternalParameters   any          `json:"internalParameters,omitempty"`
	ResolvedDependencies []Dependency `json:"resolvedDependencies,omitempty"`
}

type wireRunDetails struct {
	Builder  wireBuilder   `json:"builder"`
	Metadata *wireMetadata `json:"metadata,omitempty"`
}

type wireBuilder struct {
	ID string `json:"id"`
}

type wireMetadata struct {
	InvocationID string `json:"invocationId,omitempty"`
	StartedOn    string `json:"startedOn,omitempty"`
	FinishedOn   string `json:"finishedOn,omitempty"`
}

// Limits on what a statement may hold, so that a hostile one costs
// bounded work.
const (
	// MaxPayloadSize caps a statement's encoded size.
	MaxPayloadSize = 8 << 20
	maxName        = 4096
	maxURI         = 4096
	maxDigests     = 8
)

const timeLayout = "2006-01-02T15:04:05.999999999Z07:00" // RFC 3339 with nanoseconds when present

// Statement returns the in-toto Statement v1 with a SLSA Provenance v1
// predicate that in records, as canonical JSON: compact, fields in a fixed
// order, object keys of the parameters and digests sorted, subjects and
// dependencies sorted, times in UTC. The same Input always gives the same
// bytes, and ParseStatement of them gives an Input that encodes to them
// again. in is not modified.
func Statement(in *Input) ([]byte, error) {
	if in == nil {
		return nil, invalid("", "no input")
	}
	return encode(in, ErrInvalid)
}

// encode builds the wire statement; kind is the sentinel of its field
// errors (ErrInvalid for a caller's input, ErrMalformed for a parsed one).
func encode(in *Input, kind error) ([]byte, error) {
	fail := func(field, format string, args ...any) error {
		return &FormatError{Field: field, Reason: fmt.Sprintf(format, args...), Err: kind}
	}
	if err := checkURI(in.BuildType); err != nil {
		return nil, fail("predicate.buildDefinition.buildType", "%s", err)
	}
	if err := checkURI(in.BuilderID); err != nil {
		return nil, fail("predicate.runDetails.builder.id", "%s", err)
	}
	ext, err := canonicalObject(in.ExternalParameters)
	if err != nil {
		return nil, fail("predicate.buildDefinition.externalParameters", "%s", err)
	}
	if ext == nil || len(ext.(map[string]any)) == 0 {
		return nil, fail("predicate.buildDefinition.externalParameters", "must be a non-empty JSON object")
	}
	var internal any
	if in.InternalParameters != nil {
		if internal, err = canonicalObject(in.InternalParameters); err != nil {
			return nil, fail("predicate.buildDefinition.internalParameters", "%s", err)
		}
	}
	if len(in.Subjects) == 0 {
		return nil, fail("subject", "a statement needs at least one subject")
	}
	subjects := make([]Subject, len(in.Subjects))
	for i, s := range in.Subjects {
		field := fmt.Sprintf("subject[%d]", i)
		if err := checkName(s.Name); err != nil {
			return nil, fail(field+".name", "%s", err)
		}
		d, err := checkDigest(s.Digest)
		if err != nil {
			return nil, fail(field+".digest", "%s (subject %q)", err, s.Name)
		}
		subjects[i] = Subject{Name: s.Name, Digest: d}
	}
	slices.SortStableFunc(subjects, func(a, b Subject) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(subjects); i++ {
		if subjects[i].Name == subjects[i-1].Name {
			return nil, fail("subject", "two subjects named %q", subjects[i].Name)
		}
	}
	deps := make([]Dependency, len(in.Dependencies))
	for i, d := range in.Dependencies {
		field := fmt.Sprintf("predicate.buildDefinition.resolvedDependencies[%d]", i)
		if err := checkName(d.Name); err != nil {
			return nil, fail(field+".name", "%s", err)
		}
		if d.URI != "" {
			if err := checkURI(d.URI); err != nil {
				return nil, fail(field+".uri", "%s", err)
			}
		}
		dg, err := checkDigest(d.Digest)
		if err != nil {
			return nil, fail(field+".digest", "%s (dependency %q)", err, d.Name)
		}
		deps[i] = Dependency{Name: d.Name, URI: d.URI, Digest: dg}
	}
	slices.SortStableFunc(deps, func(a, b Dependency) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.URI, b.URI), strings.Compare(a.Digest["sha256"], b.Digest["sha256"]))
	})
	for i := 1; i < len(deps); i++ {
		if a, b := deps[i-1], deps[i]; a.Name == b.Name && a.URI == b.URI && a.Digest["sha256"] == b.Digest["sha256"] {
			return nil, fail("predicate.buildDefinition.resolvedDependencies", "dependency %q is listed twice", a.Name)
		}
	}
	var md *wireMetadata
	if in.InvocationID != "" || !in.StartedOn.IsZero() || !in.FinishedOn.IsZero() {
		md = &wireMetadata{InvocationID: in.InvocationID, StartedOn: formatTime(in.StartedOn), FinishedOn: formatTime(in.FinishedOn)}
		if err := checkText(in.InvocationID, maxURI); err != nil {
			return nil, fail("predicate.runDetails.metadata.invocationId", "%s", err)
		}
		for _, c := range []struct {
			f string
			t time.Time
		}{{"startedOn", in.StartedOn}, {"finishedOn", in.FinishedOn}} {
			if y := c.t.UTC().Year(); !c.t.IsZero() && (y < 1 || y > 9999) {
				return nil, fail("predicate.runDetails.metadata."+c.f, "year %d is outside 0001 to 9999", y)
			}
		}
		if !in.StartedOn.IsZero() && !in.FinishedOn.IsZero() && in.FinishedOn.Before(in.StartedOn) {
			return nil, fail("predicate.runDetails.metadata.finishedOn", "before startedOn")
		}
	}
	w := wireStatement{
		Type:          StatementType,
		Subject:       subjects,
		PredicateType: PredicateType,
		Predicate: wirePredicate{
			BuildDefinition: wireBuildDefinition{
				BuildType:            in.BuildType,
				ExternalParameters:   ext,
				InternalParameters:   internal,
				ResolvedDependencies: deps,
			},
			RunDetails: wireRunDetails{Builder: wireBuilder{ID: in.BuilderID}, Metadata: md},
		},
	}
	b, err := marshal(w)
	if err != nil {
		return nil, fail("", "%s", err)
	}
	if len(b) > MaxPayloadSize {
		return nil, fmt.Errorf("%w: statement of %d bytes (max %d)", ErrTooLarge, len(b), MaxPayloadSize)
	}
	return b, nil
}

// marshal is encoding/json without HTML escaping (so URIs with & stay
// readable) and without the encoder's trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// canonicalObject round-trips v through JSON into map[string]any (numbers
// as json.Number, so they keep their digits), so that whatever Go value
// the caller gives, the statement holds plain JSON with sorted keys.
func canonicalObject(v any) (any, error) {
	b, err := marshal(v)
	if err != nil {
		return nil, fmt.Errorf("does not encode to JSON: %v", err)
	}
	if len(b) > MaxPayloadSize {
		return nil, fmt.Errorf("%d bytes of JSON (max %d)", len(b), MaxPayloadSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("does not encode to JSON: %v", err)
	}
	if _, ok := out.(map[string]any); !ok {
		return nil, fmt.Errorf("must be a JSON object, not %s", bytes.TrimSpace(b[:min(len(b), 16)]))
	}
	return out, nil
}

// checkDigest returns a copy of d after checking it: 1 to 8 algorithms
// named [a-z0-9_-], lower-case hex values of the algorithm's length when
// known, SHA-256 present.
func checkDigest(d map[string]string) (map[string]string, error) {
	if len(d) == 0 {
		return nil, fmt.Errorf("no digest")
	}
	if len(d) > maxDigests {
		return nil, fmt.Errorf("%d digests (max %d)", len(d), maxDigests)
	}
	for _, alg := range slices.Sorted(maps.Keys(d)) {
		v := d[alg]
		if alg == "" || len(alg) > 32 || strings.Trim(alg, "abcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return nil, fmt.Errorf("algorithm %q is not [a-z0-9_-]{1,32}", alg)
		}
		if v == "" || len(v) > 256 || strings.Trim(v, "0123456789abcdef") != "" {
			return nil, fmt.Errorf("%s digest %q is not lower-case hex", alg, v)
		}
		if want, ok := digestHexLen[alg]; ok && len(v) != want {
			return nil, fmt.Errorf("%s digest has %d hex digits, want %d", alg, len(v), want)
		}
	}
	if _, ok := d["sha256"]; !ok {
		return nil, fmt.Errorf("no sha256 digest")
	}
	return maps.Clone(d), nil
}

// digestHexLen holds the lengths in-toto's ResourceDescriptor checks.
var digestHexLen = map[string]int{"sha256": 64, "sha224": 56, "sha384": 96, "sha512": 128, "sha1": 40, "md5": 32, "sha512_224": 56, "sha512_256": 64}

func checkName(s string) error {
	if s == "" {
		return fmt.Errorf("empty name")
	}
	return checkText(s, maxName)
}

func checkURI(s string) error {
	if s == "" {
		return fmt.Errorf("required")
	}
	if err := checkText(s, maxURI); err != nil {
		return err
	}
	if !strings.Contains(s, ":") || strings.ContainsAny(s, " \t") {
		return fmt.Errorf("%q is not an absolute URI", s)
	}
	return nil
}

// checkText refuses what would not survive a JSON round trip unchanged
// (invalid UTF-8) or what hides in a terminal (control characters).
func checkText(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%d bytes (max %d)", len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%q is not valid UTF-8", s)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return fmt.Errorf("%q holds a control character", s)
	}
	return nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}
