package update

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fogkit/fogkit/update/delta"
)

// FormatVersion is the package format this code writes and reads.
const FormatVersion = 1

// Kind is a package kind.
type Kind string

// The package kinds.
const (
	// KindFull carries every file of the new tree; it applies to any
	// installed version of the product, and installs into an empty target.
	KindFull Kind = "full"
	// KindDiff carries per-file BSDIFF40 patches from one exact version.
	KindDiff Kind = "diff"
	// KindBundle carries sequential diffs; the applier starts at the step
	// whose base is installed.
	KindBundle Kind = "bundle"
	// KindNested carries other products' packages unchanged, and optionally
	// a full tree of its own.
	KindNested Kind = "nested"
)

// Op says how a file of a step's tree is produced.
type Op string

// File operations.
const (
	OpData  Op = "data"  // the payload carries the file whole
	OpPatch Op = "patch" // the payload carries a patch (File.PatchFormat) of the base file at the same path
	OpKeep  Op = "keep"  // the base file at the same path is reused unchanged
)

// Manifest is the signed description of a package. Its canonical encoding
// (Marshal) is compact JSON with fields in declaration order; a package
// whose manifest bytes are not canonical is rejected.
type Manifest struct {
	Format   int    `json:"format"`
	Vendor   string `json:"vendor"`
	Product  string `json:"product"`
	Channel  string `json:"channel"`
	Version  string `json:"version"`
	Sequence uint64 `json:"sequence"`
	Kind     Kind   `json:"kind"`
	// Tree is the digest (TreeDigest) of the tree the package produces;
	// empty for a nested package without a tree of its own.
	Tree string `json:"tree,omitempty"`
	// Steps produce the tree: one for full and diff, one per version for
	// a bundle.
	Steps  []Step   `json:"steps,omitempty"`
	Nested []Nested `json:"nested,omitempty"`
	// Payload describes the payload member, as stored (encrypted or not).
	Payload Payload `json:"payload"`
	// SpaceNeeded is the free space, in bytes, an apply may use.
	SpaceNeeded int64 `json:"spaceNeeded"`
	// Requires lists what the package needs beyond FormatVersion, sorted
	// by feature, each with the package format revision that added it,
	// so an applier that does not know a feature can refuse the package
	// before writing anything and say what it lacks (FormatError).
	// Absent when the package needs nothing new: such packages stay
	// readable by appliers that predate this field.
	Requires []Requirement `json:"requires,omitempty"`
}

// Requirement is a feature a package needs from its applier.
type Requirement struct {
	// Feature is "patchFormat:<name>" for a patch format.
	Feature string `json:"feature"`
	// Since is the fogkit package format revision that added it, as
	// "<FormatVersion>.<revision>".
	Since string `json:"since"`
}

// Patch formats. BSDIFF40 is the original format (File.PatchFormat empty);
// PatchFormatDelta is package delta's streaming format for large files.
const (
	PatchFormatBsdiff = "bsdiff40"
	PatchFormatDelta  = "fkdelta1"
)

// FormatRevision is the revision of package format FormatVersion this
// code writes and reads: 1.0 is the original, 1.1 added Requires and the
// fkdelta1 patch format.
const FormatRevision = "1.1"

// knownFeatures are the features this applier implements, with the
// revision that added them.
var knownFeatures = map[string]string{
	"patchFormat:" + PatchFormatDelta: "1.1",
}

func patchFeature(format string) string { return "patchFormat:" + format }

// Step turns one tree into the next.
type Step struct {
	// From is the base the step applies to; nil for a full step.
	From    *Base  `json:"from,omitempty"`
	Version string `json:"version"`
	Tree    string `json:"tree"`
	// Files is the whole resulting tree, sorted by path.
	Files []File `json:"files"`
	// Deleted lists base paths absent from the result, sorted.
	Deleted []string `json:"deleted,omitempty"`
}

// Base is an exact installed version a step applies from.
type Base struct {
	Version  string     `json:"version"`
	Sequence uint64     `json:"sequence"`
	Tree     string     `json:"tree"`
	Files    []BaseFile `json:"files"`
}

// BaseFile is a regular file of a base tree.
type BaseFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// File is an entry of a step's resulting tree and how to produce it.
type File struct {
	Entry
	Op Op `json:"op,omitempty"` // files only
	// DataSize and DataSHA256 describe the payload member (whole file or
	// patch) for OpData and OpPatch.
	DataSize   int64  `json:"dataSize,omitempty"`
	DataSHA256 string `json:"dataSha256,omitempty"`
	// PatchFormat is the format of an OpPatch member: empty for BSDIFF40
	// (every fogkit applier reads it), PatchFormatDelta for fkdelta1.
	PatchFormat string `json:"patchFormat,omitempty"`
}

// Nested is another product's package carried unchanged.
type Nested struct {
	Name     string `json:"name"` // member name under nested/
	Product  string `json:"product"`
	Version  string `json:"version"`
	Sequence uint64 `json:"sequence"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
}

// Payload describes the payload member.
type Payload struct {
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	Encrypted bool   `json:"encrypted,omitempty"`
}

// Marshal returns the canonical encoding of m.
func (m *Manifest) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ParseManifest decodes canonical manifest bytes strictly (no unknown
// fields, no trailing data, canonical form) and validates them.
func ParseManifest(b []byte, lim *Limits) (*Manifest, error) {
	l := lim.orDefault()
	if int64(len(b)) > l.MaxManifestSize {
		return nil, &EntryError{Name: MemberManifest, Reason: "manifest too large", Err: ErrTooLarge}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, malformed("manifest: %v", err)
	}
	if dec.More() {
		return nil, malformed("manifest: trailing data")
	}
	again, err := m.Marshal()
	if err != nil || !bytes.Equal(again, b) {
		return nil, malformed("manifest is not in canonical form")
	}
	if err := m.Validate(lim); err != nil {
		return nil, err
	}
	return &m, nil
}

func checkLabel(field, v string, required bool) error {
	if v == "" && !required {
		return nil
	}
	if v == "" || len(v) > 128 {
		return malformed("%s must be 1 to 128 characters", field)
	}
	for _, c := range v {
		if c < 0x20 || c == 0x7f || c == '/' || c == '\\' {
			return malformed("%s %q holds a control character or slash", field, v)
		}
	}
	return nil
}

func checkDigest(field, d string) error {
	if !strings.HasPrefix(d, "sha256:") || !isHex64(d[7:]) {
		return malformed("%s %q is not sha256:<hex>", field, d)
	}
	return nil
}

// Validate checks a manifest's internal consistency: labels, kinds, the
// step chain, every tree listing and its digest, ops against bases, and
// sizes against lim.
func (m *Manifest) Validate(lim *Limits) error {
	l := lim.orDefault()
	if m.Format != FormatVersion {
		return malformed("format %d (want %d)", m.Format, FormatVersion)
	}
	// Unknown features first: an applier must name what it lacks rather
	// than report whatever else it cannot understand about the package.
	for i, r := range m.Requires {
		if _, ok := knownFeatures[r.Feature]; !ok {
			return &FormatError{Feature: r.Feature, Since: r.Since}
		}
		if i > 0 && m.Requires[i-1].Feature >= r.Feature {
			return malformed("requirements duplicated or out of order")
		}
		if r.Since != knownFeatures[r.Feature] {
			return malformed("requirement %s since %q (it came with %s)", r.Feature, r.Since, knownFeatures[r.Feature])
		}
	}
	for _, f := range []struct{ n, v string }{{"vendor", m.Vendor}, {"product", m.Product}, {"channel", m.Channel}, {"version", m.Version}} {
		if err := checkLabel(f.n, f.v, true); err != nil {
			return err
		}
	}
	if m.Sequence == 0 {
		return malformed("sequence must be at least 1")
	}
	switch m.Kind {
	case KindFull, KindDiff:
		if len(m.Steps) != 1 {
			return malformed("%s package needs exactly one step", m.Kind)
		}
	case KindBundle:
		if len(m.Steps) < 1 {
			return malformed("bundle needs steps")
		}
	case KindNested:
		if len(m.Steps) > 1 || len(m.Nested) == 0 {
			return malformed("nested package needs nested packages and at most one step")
		}
	default:
		return malformed("unknown kind %q", m.Kind)
	}
	if len(m.Steps) > l.MaxSteps {
		return &EntryError{Name: "steps", Reason: fmt.Sprintf("%d steps (max %d)", len(m.Steps), l.MaxSteps), Err: ErrTooLarge}
	}
	if m.Payload.Size < 0 || m.Payload.Size > l.MaxPayloadSize {
		return &EntryError{Name: MemberPayload, Reason: fmt.Sprintf("payload size %d out of range", m.Payload.Size), Err: ErrTooLarge}
	}
	if err := checkDigest("payload digest", m.Payload.SHA256); err != nil {
		return err
	}
	if m.SpaceNeeded < 0 {
		return malformed("negative space needed")
	}
	used := map[string]bool{}
	for i := range m.Steps {
		s := &m.Steps[i]
		if err := s.validate(m.Kind, l, m.Requires, used); err != nil {
			return fmt.Errorf("step %d: %w", i, err)
		}
		if i > 0 && (s.From.Version != m.Steps[i-1].Version || s.From.Tree != m.Steps[i-1].Tree) {
			return malformed("step %d does not start where step %d ends", i, i-1)
		}
	}
	for _, r := range m.Requires {
		if !used[r.Feature] {
			return malformed("requirement %s unused", r.Feature)
		}
	}
	if len(m.Steps) > 0 {
		last := m.Steps[len(m.Steps)-1]
		if m.Tree != last.Tree || m.Version != last.Version {
			return malformed("manifest tree/version differ from the last step's")
		}
	} else if m.Tree != "" {
		return malformed("tree without steps")
	}
	seen := map[string]bool{}
	for _, n := range m.Nested {
		if err := checkLabel("nested name", n.Name, true); err != nil {
			return err
		}
		if seen[n.Name] {
			return &EntryError{Name: n.Name, Reason: "duplicate nested package", Err: ErrUnsafeEntry}
		}
		seen[n.Name] = true
		if err := checkLabel("nested product", n.Product, true); err != nil {
			return err
		}
		if err := checkLabel("nested version", n.Version, true); err != nil {
			return err
		}
		if n.Size < 0 || n.Size > l.MaxPayloadSize {
			return &EntryError{Name: n.Name, Reason: "nested package size out of range", Err: ErrTooLarge}
		}
		if err := checkDigest("nested digest", n.SHA256); err != nil {
			return err
		}
	}
	return nil
}

func (s *Step) validate(kind Kind, l Limits, req []Requirement, used map[string]bool) error {
	if err := checkLabel("step version", s.Version, true); err != nil {
		return err
	}
	if err := checkDigest("step tree", s.Tree); err != nil {
		return err
	}
	full := kind == KindFull || kind == KindNested
	if full != (s.From == nil) {
		return malformed("%s step with wrong base presence", kind)
	}
	if len(s.Files) > l.MaxEntries {
		return &EntryError{Name: "files", Reason: fmt.Sprintf("%d entries (max %d)", len(s.Files), l.MaxEntries), Err: ErrTooLarge}
	}
	entries := make([]Entry, len(s.Files))
	for i, f := range s.Files {
		entries[i] = f.Entry
	}
	if err := checkTree(entries, l.MaxFileSize); err != nil {
		return err
	}
	if TreeDigest(entries) != s.Tree {
		return malformed("step tree digest does not match its file list")
	}
	base := map[string]BaseFile{}
	if s.From != nil {
		if err := checkLabel("base version", s.From.Version, true); err != nil {
			return err
		}
		if err := checkDigest("base tree", s.From.Tree); err != nil {
			return err
		}
		if len(s.From.Files) > l.MaxEntries {
			return &EntryError{Name: "base files", Reason: "too many base files", Err: ErrTooLarge}
		}
		for i, b := range s.From.Files {
			if err := checkPath(b.Path); err != nil {
				return err
			}
			if i > 0 && s.From.Files[i-1].Path >= b.Path {
				return &EntryError{Name: b.Path, Reason: "base files duplicated or out of order", Err: ErrMalformed}
			}
			if b.Size < 0 || b.Size > l.MaxFileSize || !isHex64(b.SHA256) {
				return &EntryError{Name: b.Path, Reason: "bad base file size or hash", Err: ErrMalformed}
			}
			base[b.Path] = b
		}
	}
	for _, f := range s.Files {
		if f.Type != TypeFile {
			if f.Op != "" || f.DataSize != 0 || f.DataSHA256 != "" || f.PatchFormat != "" {
				return &EntryError{Name: f.Path, Reason: "operation on a non-file", Err: ErrMalformed}
			}
			continue
		}
		switch f.Op {
		case OpData:
			if f.DataSize != f.Size || f.DataSHA256 != f.SHA256 || f.PatchFormat != "" {
				return &EntryError{Name: f.Path, Reason: "whole-file data must match the file", Err: ErrMalformed}
			}
		case OpPatch:
			b, ok := base[f.Path]
			if !ok {
				return &EntryError{Name: f.Path, Reason: "patch without a base file", Err: ErrMalformed}
			}
			switch f.PatchFormat {
			case "":
				if f.DataSize <= 0 || f.DataSize > 2*f.Size+1<<20 || !isHex64(f.DataSHA256) {
					return &EntryError{Name: f.Path, Reason: "bad patch size or hash", Err: ErrMalformed}
				}
				// BSDIFF40 patches are applied in memory.
				if b.Size > l.MaxPatchFileSize || f.Size > l.MaxPatchFileSize {
					return &EntryError{Name: f.Path, Reason: "patched file above the patch size cap", Err: ErrTooLarge}
				}
			case PatchFormatDelta:
				// Header, per-segment framing and at worst every byte
				// stored raw with its control data.
				if f.DataSize <= 0 || f.DataSize > 2*f.Size+1<<20 || !isHex64(f.DataSHA256) {
					return &EntryError{Name: f.Path, Reason: "bad patch size or hash", Err: ErrMalformed}
				}
				if b.Size > l.MaxDeltaFileSize || f.Size > l.MaxDeltaFileSize {
					return &EntryError{Name: f.Path, Reason: "patched file above the delta size cap", Err: ErrTooLarge}
				}
			default:
				since := "an unknown revision"
				for _, r := range req {
					if r.Feature == patchFeature(f.PatchFormat) {
						since = r.Since
					}
				}
				return &FormatError{File: f.Path, Feature: patchFeature(f.PatchFormat), Since: since}
			}
			if f.PatchFormat != "" {
				feat := patchFeature(f.PatchFormat)
				declared := false
				for _, r := range req {
					declared = declared || r.Feature == feat
				}
				if !declared {
					return &EntryError{Name: f.Path, Reason: "patch format " + f.PatchFormat + " not in the manifest's requirements", Err: ErrMalformed}
				}
				used[feat] = true
			}
		case OpKeep:
			b, ok := base[f.Path]
			if !ok || b.SHA256 != f.SHA256 || b.Size != f.Size || f.DataSize != 0 || f.DataSHA256 != "" || f.PatchFormat != "" {
				return &EntryError{Name: f.Path, Reason: "kept file differs from its base", Err: ErrMalformed}
			}
		default:
			return &EntryError{Name: f.Path, Reason: fmt.Sprintf("op %q", f.Op), Err: ErrMalformed}
		}
		if full && f.Op != OpData {
			return &EntryError{Name: f.Path, Reason: "full step may only carry data", Err: ErrMalformed}
		}
	}
	for i, d := range s.Deleted {
		if err := checkPath(d); err != nil {
			return err
		}
		if i > 0 && s.Deleted[i-1] >= d {
			return &EntryError{Name: d, Reason: "deleted list duplicated or out of order", Err: ErrMalformed}
		}
	}
	return nil
}

// Limits bound what a reader accepts. Zero fields take the defaults.
type Limits struct {
	MaxManifestSize  int64 `json:"maxManifestSize,omitempty"`  // default 32 MiB
	MaxPayloadSize   int64 `json:"maxPayloadSize,omitempty"`   // default 64 GiB
	MaxFileSize      int64 `json:"maxFileSize,omitempty"`      // default 16 GiB
	MaxPatchFileSize int64 `json:"maxPatchFileSize,omitempty"` // default 512 MiB: BSDIFF40-patched files are held in memory
	MaxDeltaFileSize int64 `json:"maxDeltaFileSize,omitempty"` // default 4 GiB - 1 (delta.MaxInputSize): fkdelta1 streams
	MaxEntries       int   `json:"maxEntries,omitempty"`       // default 1,000,000 per step
	MaxSteps         int   `json:"maxSteps,omitempty"`         // default 64
	MaxSignatures    int   `json:"maxSignatures,omitempty"`    // default 8
}

func (l *Limits) orDefault() Limits {
	var o Limits
	if l != nil {
		o = *l
	}
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxManifestSize, 32<<20)
	def(&o.MaxPayloadSize, 64<<30)
	def(&o.MaxFileSize, 16<<30)
	def(&o.MaxPatchFileSize, 512<<20)
	def(&o.MaxDeltaFileSize, delta.MaxInputSize)
	if o.MaxEntries <= 0 {
		o.MaxEntries = 1_000_000
	}
	if o.MaxSteps <= 0 {
		o.MaxSteps = 64
	}
	if o.MaxSignatures <= 0 {
		o.MaxSignatures = 8
	}
	return o
}

// members returns the payload members a manifest implies, in order.
func (m *Manifest) members() []member {
	var out []member
	for i, s := range m.Steps {
		for j, f := range s.Files {
			if f.Op == OpData || f.Op == OpPatch {
				out = append(out, member{name: stepMember(i, f.Path), size: f.DataSize, sha: f.DataSHA256, step: i, file: j})
			}
		}
	}
	for _, n := range m.Nested {
		out = append(out, member{name: "nested/" + n.Name, size: n.Size, sha: strings.TrimPrefix(n.SHA256, "sha256:"), step: -1, file: -1})
	}
	return out
}

type member struct {
	name       string
	size       int64
	sha        string
	step, file int
}

func stepMember(step int, p string) string { return fmt.Sprintf("%d/%s", step, p) }
