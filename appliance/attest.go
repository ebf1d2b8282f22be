package appliance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/fogkit/fogkit/provenance"
	"github.com/fogkit/fogkit/sbom"
	"github.com/fogkit/fogkit/sign"
)

// The files every build describes itself in.
const (
	SBOMSuffix       = ".spdx.json"    // "<name>.spdx.json", SPDX 2.3
	ProvenanceSuffix = ".intoto.jsonl" // "<name>.intoto.jsonl", in-toto SLSA v1 in DSSE
)

// stageSBOM writes the SPDX 2.3 document of the appliance: every output
// so far with its digest, every file of the initramfs, the distribution
// packages the build fetched and the Go modules linked into its Go
// binaries (the /init at least).
func (b *builder) stageSBOM(ctx context.Context) error {
	in := &sbom.Input{Name: b.s.Name, Version: b.s.Version, Supplier: b.s.Vendor, Created: b.s.Epoch}
	for _, o := range b.rec.Outputs {
		in.Outputs = append(in.Outputs, sbom.File{Name: o.Name, Size: o.Size, SHA256: o.SHA256})
	}
	for _, p := range b.rec.Assets {
		in.Packages = append(in.Packages, sbom.Package{Name: p.Name, Version: p.Version, SHA256: p.SHA256,
			PURL: sbom.DebianPURL(p.Name, p.Version, p.Architecture)})
	}
	f, err := os.Open(b.initrd)
	if err != nil {
		return err
	}
	defer f.Close()
	initrd, err := hashFile(b.initrd)
	if err != nil {
		return err
	}
	in.Initramfs = &sbom.Archive{File: sbom.File{Name: "initrd.img", Size: initrd.Size, SHA256: initrd.SHA256}, R: f}
	name := b.s.Name + SBOMSuffix
	o := &sbom.Options{Progress: func(e sbom.Event) {
		b.event(Event{Stage: "sbom", File: name, Done: e.Done, Total: e.Total})
	}}
	return b.writeOutput(name, func(w io.Writer) error { _, err := sbom.Write(ctx, w, in, o); return err })
}

// stageProvenance writes the build's provenance: an in-toto Statement
// with a SLSA Provenance v1 predicate (the spec as external parameters,
// every input and fetched package as a resolved dependency, every output
// as a subject) in a DSSE envelope signed with the key set's provenance
// key. A key set without one (made before the purpose existed) gets a
// note and no provenance: sign.AddProvenanceKey adds the key.
func (b *builder) stageProvenance(ctx context.Context) error {
	if b.o.Keys.Provenance == nil {
		b.note("no provenance: the key set has no provenance key (sign.AddProvenanceKey adds one)")
		return nil
	}
	spec, err := json.Marshal(b.s)
	if err != nil {
		return err
	}
	in := &provenance.Input{BuildType: provenance.ApplianceBuildType, BuilderID: "https://fogkit.dev/appliance.Build",
		ExternalParameters: json.RawMessage(spec), StartedOn: b.s.Epoch, FinishedOn: b.s.Epoch}
	for _, a := range b.rec.Inputs {
		in.Dependencies = append(in.Dependencies, provenance.Dependency{Name: a.Name, Digest: map[string]string{"sha256": a.SHA256}})
	}
	for _, p := range b.rec.Assets {
		in.Dependencies = append(in.Dependencies, provenance.Dependency{Name: p.Name + "_" + p.Version + "_" + p.Architecture + ".deb",
			URI: sbom.DebianPURL(p.Name, p.Version, p.Architecture), Digest: map[string]string{"sha256": p.SHA256}})
	}
	for _, o := range b.rec.Outputs {
		in.Subjects = append(in.Subjects, provenance.Subject{Name: o.Name, Digest: map[string]string{"sha256": o.SHA256}})
	}
	st, err := provenance.Statement(in)
	if err != nil {
		return err
	}
	return b.writeOutput(b.s.Name+ProvenanceSuffix, func(w io.Writer) error {
		return provenance.Sign(ctx, w, st, b.o.Keys.Provenance, nil)
	})
}

// verifySBOM reads an SBOM output back: Read accepts exactly what
// sbom.Write produces.
func verifySBOM(f io.Reader) error {
	_, err := sbom.Read(f)
	return err
}

// verifyProvenance checks the envelope's signature against the recorded
// provenance key and that every subject in dir still hashes to its
// digest (through an os.Root, so no link leads out of dir).
func (r *Record) verifyProvenance(ctx context.Context, f io.Reader, dir string) error {
	if r.Keys.ProvenancePublic == "" {
		return fmt.Errorf("the record holds no provenance key")
	}
	ring, err := keyring(r.Keys.ProvenancePublic, sign.PurposeProvenance)
	if err != nil {
		return err
	}
	st, err := provenance.Verify(ctx, f, ring, &provenance.VerifyOptions{BuildType: provenance.ApplianceBuildType})
	if err != nil {
		return err
	}
	// Every recorded output but the provenance itself is a subject.
	want := map[string]bool{}
	for _, o := range r.Outputs {
		if !strings.HasSuffix(o.Path, ProvenanceSuffix) {
			want[o.Name] = true
		}
	}
	for _, s := range st.Subjects {
		if !want[s.Name] {
			return fmt.Errorf("provenance subject %q is no output of the record", s.Name)
		}
		delete(want, s.Name)
	}
	for n := range want {
		return fmt.Errorf("output %q is no provenance subject", n)
	}
	root, err := os.OpenRoot(filepath.Clean(dir))
	if err != nil {
		return err
	}
	defer root.Close()
	return st.CheckSubjects(ctx, root.FS(), nil)
}
