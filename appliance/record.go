package appliance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/license"
	"github.com/fogkit/fogkit/ova"
	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/update"
)

// RecordFormat is the Format of records this package writes.
const RecordFormat = "fogkit-build-v2"

// ErrRecord: a build record is malformed, or an output no longer matches
// it (missing, resized, changed, or failing its own signature check).
var ErrRecord = errors.New("appliance: build record mismatch")

// Artifact is one input or output file of a build.
type Artifact struct {
	Name string `json:"name"`
	// Path is relative to the output directory for outputs; an input's
	// host path.
	Path   string `json:"path,omitempty"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// RecordKeys are the public keys the build signed with, as the image
// carries them, so Verify can check the signatures it records.
type RecordKeys struct {
	OVACertificates string `json:"ovaCertificates"`         // PEM
	UpdatePublic    string `json:"updatePublic"`            // armored OpenPGP
	LicensePublic   string `json:"licensePublic"`           // SPKI PEM
	SupportPublic   string `json:"supportPublic,omitempty"` // armored OpenPGP; support bundles are encrypted to it
	// ProvenancePublic is the key the provenance envelope is signed with
	// (SPKI PEM, Ed25519).
	ProvenancePublic string `json:"provenancePublic,omitempty"`
}

// Record is the build record, build.json: what made the build (spec,
// inputs with digests, every package's options) and what it made
// (outputs with sizes and digests). It holds no timings and no host paths
// of outputs, so two runs with the same inputs write the same record.
type Record struct {
	Format   string         `json:"format"`
	Spec     *Spec          `json:"spec"`
	Bootable bool           `json:"bootable"`
	Notes    []string       `json:"notes,omitempty"`
	Inputs   []Artifact     `json:"inputs"`
	Assets   []Package      `json:"assets,omitempty"`
	Modules  []string       `json:"modules,omitempty"`
	Options  map[string]any `json:"options"`
	Outputs  []Artifact     `json:"outputs"`
	Layout   *disk.Layout   `json:"bootDiskLayout,omitempty"`
	Keys     RecordKeys     `json:"keys"`
}

func newRecord(s *Spec, k *sign.KeySet) *Record {
	return &Record{
		Format: RecordFormat, Spec: s, Options: map[string]any{},
		Keys: RecordKeys{
			OVACertificates:  string(sign.EncodeCertificates(k.OVACertificates())),
			UpdatePublic:     string(k.UpdatePublic),
			LicensePublic:    string(k.LicensePublic),
			SupportPublic:    string(k.SupportPublic),
			ProvenancePublic: string(k.ProvenancePublic),
		},
	}
}

func (r *Record) addOutput(dir, name string) error {
	a, err := hashFile(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	a.Name, a.Path = name, name
	r.Outputs = append(r.Outputs, a)
	return nil
}

func (r *Record) marshal() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// maxRecord bounds the record Load reads.
const maxRecord = 16 << 20

// Load reads a build record.
func Load(path string) (*Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxRecord+1)); err != nil {
		return nil, err
	}
	r, err := parseRecord(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// parseRecord decodes a record of at most maxRecord bytes.
func parseRecord(b []byte) (*Record, error) {
	if len(b) > maxRecord {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrRecord, maxRecord)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRecord, err)
	}
	if r.Format != RecordFormat || r.Spec == nil {
		return nil, fmt.Errorf("%w: not a %s build record", ErrRecord, RecordFormat)
	}
	return &r, nil
}

// Verify re-checks every output in dir against the record: each file is
// there with its recorded size and SHA-256, the OVA's signature verifies
// against the recorded certificate, the license against the recorded
// license key, and each update package against the recorded update key
// and the build's product. The recorded keys come from the record itself,
// so Verify proves the outputs are the ones this build made, not that the
// keys are the vendor's: check those against a trusted copy.
func (r *Record) Verify(ctx context.Context, dir string) error {
	return r.verify(ctx, dir, true)
}

// verify checks every output; with rehash false it skips the size and
// digest check (Build has just hashed what it wrote) and runs only the
// signature checks, each output opened once either way.
func (r *Record) verify(ctx context.Context, dir string, rehash bool) error {
	if r.Spec == nil {
		return fmt.Errorf("%w: no spec", ErrRecord)
	}
	for _, o := range r.Outputs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !filepath.IsLocal(o.Path) || strings.ContainsAny(o.Path, `/\`) {
			return fmt.Errorf("%w: output path %q", ErrRecord, o.Path)
		}
		if err := r.verifyOutput(ctx, filepath.Join(dir, o.Path), o, rehash); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrRecord, o.Path, err)
		}
	}
	return nil
}

func (r *Record) verifyOutput(ctx context.Context, path string, o Artifact, rehash bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if rehash {
		h := sha256.New()
		n, err := io.Copy(h, f)
		if err != nil {
			return err
		}
		if sum := hex.EncodeToString(h.Sum(nil)); n != o.Size || sum != o.SHA256 {
			return fmt.Errorf("%d bytes with sha256 %s, the record says %d bytes, %s", n, sum, o.Size, o.SHA256)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	switch {
	case strings.HasSuffix(o.Path, ".ova"):
		return r.verifyOVA(ctx, f)
	case strings.HasSuffix(o.Path, ".lic"):
		return r.verifyLicense(ctx, f)
	case strings.HasSuffix(o.Path, ".fup"):
		return r.verifyUpdate(ctx, f, st.Size())
	case strings.HasSuffix(o.Path, SBOMSuffix):
		return verifySBOM(f)
	case strings.HasSuffix(o.Path, ProvenanceSuffix):
		return r.verifyProvenance(ctx, f, filepath.Dir(path))
	}
	return verifyDiskFormat(ctx, o.Path, f, st.Size())
}

func (r *Record) verifyOVA(ctx context.Context, f io.Reader) error {
	certs, err := sign.ParseCertificates([]byte(r.Keys.OVACertificates))
	if err != nil {
		return err
	}
	if len(certs) == 0 {
		return errors.New("the record holds no OVA certificate")
	}
	rep, err := ova.Verify(ctx, f, &ova.VerifyOptions{Roots: certs[len(certs)-1:], Now: func() time.Time { return r.Spec.Epoch }})
	if err != nil {
		return err
	}
	if rep.Signer == nil {
		return errors.New("the OVA is not signed")
	}
	return nil
}

// keyring makes a one-key ring from a public key the record holds.
func keyring(pub string, p sign.Purpose) (*sign.Keyring, error) {
	key, err := sign.LoadPublicKey([]byte(pub), p)
	if err != nil {
		return nil, err
	}
	return sign.NewKeyring(key)
}

func (r *Record) verifyLicense(ctx context.Context, f io.Reader) error {
	ring, err := keyring(r.Keys.LicensePublic, sign.PurposeLicense)
	if err != nil {
		return err
	}
	_, err = license.Verify(ctx, f, ring, r.Spec.Product, &license.VerifyOptions{Now: func() time.Time { return r.Spec.Epoch }})
	// A license may start after the build, have expired since, or be bound
	// to an instance: those say nothing of the file. Anything else does.
	if err == nil || errors.Is(err, license.ErrNotYetValid) || errors.Is(err, license.ErrExpired) || errors.Is(err, license.ErrWrongInstance) {
		return nil
	}
	return err
}

func (r *Record) verifyUpdate(ctx context.Context, f io.ReaderAt, size int64) error {
	ring, err := keyring(r.Keys.UpdatePublic, sign.PurposeUpdate)
	if err != nil {
		return err
	}
	_, err = update.Verify(ctx, f, size, &update.VerifyOptions{Keyring: ring, Vendor: r.Spec.Vendor, Product: r.Spec.Product})
	return err
}
