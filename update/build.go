package update

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/update/bsdiff"
	"github.com/fogkit/fogkit/update/delta"
)

// Tree is one version of a product's tree, as input to Build.
type Tree struct {
	Version  string `json:"version"`
	Sequence uint64 `json:"sequence"`
	// FS holds the tree; it should implement fs.ReadLinkFS (os.DirFS
	// does) so symbolic links are carried.
	FS fs.FS `json:"-"`
}

// NestedInput is another product's package to carry in a nested package.
type NestedInput struct {
	Name string      `json:"name"`
	Data io.ReaderAt `json:"-"`
	Size int64       `json:"size"`
}

// BuildOptions configure Build. Vendor, Product, Version and Sequence are
// required; Channel defaults to "stable"; Kind to KindFull.
type BuildOptions struct {
	Vendor   string `json:"vendor"`
	Product  string `json:"product"`
	Channel  string `json:"channel,omitempty"`
	Version  string `json:"version"`
	Sequence uint64 `json:"sequence"`
	Kind     Kind   `json:"kind,omitempty"`
	// MaxPatchFileSize: files above it are not patched with BSDIFF40
	// (default 256 MiB; the differ holds both versions and a suffix array
	// in memory, the applier both versions and the patch).
	MaxPatchFileSize int64 `json:"maxPatchFileSize,omitempty"`
	// DeltaThreshold: a changed file whose old or new version is at least
	// this large is patched with fkdelta1 (package delta: streaming
	// apply, about 1.5 times the old file to build) instead of BSDIFF40
	// (default 64 MiB). Packages holding an fkdelta1 patch need an
	// applier of package format 1.1 or later (Manifest.Requires).
	DeltaThreshold int64 `json:"deltaThreshold,omitempty"`
	// MaxDeltaFileSize: files above it are carried whole (default and
	// maximum delta.MaxInputSize, 4 GiB - 1).
	MaxDeltaFileSize int64 `json:"maxDeltaFileSize,omitempty"`
	// PatchFormat forces one format for every patch: PatchFormatBsdiff
	// (packages every fogkit applier reads; files above MaxPatchFileSize
	// are carried whole) or PatchFormatDelta. Empty picks by
	// DeltaThreshold.
	PatchFormat string `json:"patchFormat,omitempty"`
	// TryBoth diffs files below DeltaThreshold with both formats and keeps
	// the smaller patch (BSDIFF40 on a tie).
	TryBoth bool `json:"tryBoth,omitempty"`
	// Workers diff an fkdelta1 file in parallel (delta.Options.Workers,
	// default GOMAXPROCS); the package is the same for any value.
	Workers int `json:"workers,omitempty"`
	// PatchRatio: a patch is used only if it is at most this fraction of
	// the file's size (default 0.9).
	PatchRatio float64 `json:"patchRatio,omitempty"`
	// FullIfLarger makes Build write a full package when a diff or bundle
	// payload would be larger than a full one.
	FullIfLarger bool `json:"fullIfLarger,omitempty"`
	// Nested packages to carry (KindNested).
	Nested []NestedInput `json:"nested,omitempty"`
	// Encrypt, when set, encrypts the payload (for example to the
	// product's OpenPGP key through sign.Encrypt).
	Encrypt Encrypter `json:"-"`
	// ModTime is the modification time of the tar members (zero: Unix 0).
	ModTime time.Time `json:"modTime,omitzero"`
	// TempDir, when set, spools the payload to a temporary file there
	// instead of memory.
	TempDir  string      `json:"tempDir,omitempty"`
	Progress func(Event) `json:"-"`
}

// BuildReport says what Build wrote.
type BuildReport struct {
	Manifest *Manifest
	Size     int64 // bytes written to w
	// FullSize is the payload size a full package of the target would
	// have (unencrypted); LargerThanFull is set when a diff or bundle
	// payload exceeds it.
	FullSize       int64
	LargerThanFull bool
	// BuiltFull is set when FullIfLarger replaced the requested kind.
	BuiltFull                     bool
	Whole, Patched, Kept, Deleted int
}

// Build writes a signed package that turns the trees in from (oldest
// first; none for full, one for diff, several for bundle) into to. Every
// signer must have purpose sign.PurposeUpdate; several signers produce
// several signatures (key rotation). Output is deterministic unless the
// encrypter is randomised.
func Build(ctx context.Context, w io.Writer, signers []sign.Signer, to Tree, from []Tree, o *BuildOptions) (*BuildReport, error) {
	if o == nil {
		o = &BuildOptions{}
	}
	opt := *o
	if opt.Channel == "" {
		opt.Channel = "stable"
	}
	if opt.Kind == "" {
		opt.Kind = KindFull
	}
	if opt.MaxPatchFileSize <= 0 {
		opt.MaxPatchFileSize = 256 << 20
	}
	if opt.PatchRatio <= 0 {
		opt.PatchRatio = 0.9
	}
	if opt.DeltaThreshold <= 0 {
		opt.DeltaThreshold = 64 << 20
	}
	if opt.MaxDeltaFileSize <= 0 || opt.MaxDeltaFileSize > delta.MaxInputSize {
		opt.MaxDeltaFileSize = delta.MaxInputSize
	}
	switch opt.PatchFormat {
	case "", PatchFormatBsdiff, PatchFormatDelta:
	default:
		return nil, fmt.Errorf("%w: unknown patch format %q", ErrUnsupported, opt.PatchFormat)
	}
	if len(signers) == 0 {
		return nil, fmt.Errorf("%w: no signer", ErrSignature)
	}
	for _, s := range signers {
		if s.Purpose() != sign.PurposeUpdate {
			return nil, fmt.Errorf("%w: key %s has purpose %q, not %q", ErrSignature, s.KeyID(), s.Purpose(), sign.PurposeUpdate)
		}
	}
	switch opt.Kind {
	case KindFull, KindNested:
		from = nil
	case KindDiff:
		if len(from) != 1 {
			return nil, fmt.Errorf("%w: a diff package needs exactly one base tree", ErrNotApplicable)
		}
	case KindBundle:
		if len(from) < 1 {
			return nil, fmt.Errorf("%w: a bundle needs base trees", ErrNotApplicable)
		}
	}
	if opt.Kind == KindNested {
		if len(opt.Nested) == 0 {
			return nil, fmt.Errorf("%w: a nested package needs nested packages", ErrNotApplicable)
		}
	}
	switch opt.Kind {
	case KindFull, KindDiff, KindBundle, KindNested:
	default:
		return nil, fmt.Errorf("%w: unknown kind %q", ErrMalformed, opt.Kind)
	}
	b := &builder{ctx: ctx, o: &opt}
	rep, err := b.build(signers, to, from, w)
	if err != nil {
		return nil, err
	}
	return rep, nil
}

type builder struct {
	ctx      context.Context
	o        *BuildOptions
	requires map[string]bool
}

type scanned struct {
	t       Tree
	entries []Entry
}

func (b *builder) build(signers []sign.Signer, to Tree, from []Tree, w io.Writer) (*BuildReport, error) {
	o := b.o
	var trees []scanned
	for _, t := range append(append([]Tree(nil), from...), to) {
		if t.FS == nil && o.Kind != KindNested {
			return nil, fmt.Errorf("%w: tree %q has no FS", ErrNotApplicable, t.Version)
		}
		if t.FS == nil {
			trees = append(trees, scanned{t: t})
			continue
		}
		emit(o.Progress, Event{Stage: "scan", File: t.Version})
		e, err := ScanTree(t.FS)
		if err != nil {
			return nil, err
		}
		trees = append(trees, scanned{t: t, entries: e})
	}
	target := trees[len(trees)-1]
	var fullSize int64
	for _, e := range target.entries {
		fullSize += e.Size
	}

	m := &Manifest{Format: FormatVersion, Vendor: o.Vendor, Product: o.Product, Channel: o.Channel,
		Version: o.Version, Sequence: o.Sequence, Kind: o.Kind}
	rep := &BuildReport{Manifest: m, FullSize: fullSize}

	spool, cleanup, err := b.spool()
	if err != nil {
		return nil, err
	}
	defer cleanup()
	tw := tar.NewWriter(spool)
	if target.t.FS != nil {
		if len(trees) == 1 {
			s, err := b.fullStep(tw, target, rep)
			if err != nil {
				return nil, err
			}
			m.Steps = []Step{s}
		} else {
			for i := 0; i+1 < len(trees); i++ {
				s, err := b.diffStep(tw, i, trees[i], trees[i+1], rep)
				if err != nil {
					return nil, err
				}
				m.Steps = append(m.Steps, s)
			}
		}
		m.Tree = m.Steps[len(m.Steps)-1].Tree
	}
	for _, n := range o.Nested {
		nm, err := b.nested(tw, n)
		if err != nil {
			return nil, err
		}
		m.Nested = append(m.Nested, nm)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	plainSize, err := spool.size()
	if err != nil {
		return nil, err
	}
	if (o.Kind == KindDiff || o.Kind == KindBundle) && plainSize > fullSize {
		rep.LargerThanFull = true
		if o.FullIfLarger {
			full := *o
			full.Kind, full.FullIfLarger = KindFull, false
			r2, err := (&builder{ctx: b.ctx, o: &full}).build(signers, to, nil, w)
			if err != nil {
				return nil, err
			}
			r2.LargerThanFull, r2.BuiltFull = true, true
			return r2, nil
		}
	}
	var feats []string
	for f := range b.requires {
		feats = append(feats, f)
	}
	sort.Strings(feats)
	for _, f := range feats {
		m.Requires = append(m.Requires, Requirement{Feature: f, Since: knownFeatures[f]})
	}
	// Space: every step's tree may exist at once with its predecessor.
	for _, s := range m.Steps {
		for _, f := range s.Files {
			m.SpaceNeeded += f.Size + 4096
		}
	}
	payload := spool
	if o.Encrypt != nil {
		enc, cleanup2, err := b.spool()
		if err != nil {
			return nil, err
		}
		defer cleanup2()
		src, err := spool.reader()
		if err != nil {
			return nil, err
		}
		if err := o.Encrypt(b.ctx, enc, src); err != nil {
			return nil, fmt.Errorf("update: encrypting payload: %w", err)
		}
		payload = enc
		m.Payload.Encrypted = true
	}
	if m.Payload.Size, err = payload.size(); err != nil {
		return nil, err
	}
	src, err := payload.reader()
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, src); err != nil {
		return nil, err
	}
	m.Payload.SHA256 = "sha256:" + hex.EncodeToString(h.Sum(nil))
	if err := m.Validate(nil); err != nil {
		return nil, fmt.Errorf("update: built an invalid manifest: %w", err)
	}
	mb, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	var sigs [][]byte
	for _, s := range signers {
		sig, err := s.Sign(b.ctx, mb)
		if err != nil {
			return nil, fmt.Errorf("update: signing manifest: %w", err)
		}
		sigs = append(sigs, sig)
	}
	cw := &countWriter{w: w}
	out := tar.NewWriter(cw)
	put := func(name string, size int64, r io.Reader) error {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: o.ModTime, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
		if o.ModTime.IsZero() {
			hdr.ModTime = time.Unix(0, 0)
		}
		if size >= 8<<30 {
			hdr.Format = tar.FormatGNU
		}
		if err := out.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := io.Copy(out, r)
		return err
	}
	if err := put(MemberMarker, int64(len(Marker)), bytes.NewReader([]byte(Marker))); err != nil {
		return nil, err
	}
	if err := put(MemberManifest, int64(len(mb)), bytes.NewReader(mb)); err != nil {
		return nil, err
	}
	for i, sig := range sigs {
		name := MemberSig
		if i > 0 {
			name += "." + strconv.Itoa(i+1)
		}
		if err := put(name, int64(len(sig)), bytes.NewReader(sig)); err != nil {
			return nil, err
		}
	}
	if src, err = payload.reader(); err != nil {
		return nil, err
	}
	if err := put(MemberPayload, m.Payload.Size, src); err != nil {
		return nil, err
	}
	if err := out.Close(); err != nil {
		return nil, err
	}
	rep.Size = cw.n
	return rep, nil
}

func putMember(tw *tar.Writer, name string, data []byte) error {
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

// putFileMember copies the file e from fsys into the payload as member
// name, hashing it on the way: a file that changed since ScanTree hashed it
// gives a *DigestError (matching ErrDigestMismatch) naming it, so Build never
// signs a manifest its payload does not match.
func putFileMember(tw *tar.Writer, name string, fsys fs.FS, e Entry) error {
	f, err := fsys.Open(e.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: e.Size, ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tw, h), io.LimitReader(f, e.Size))
	if err != nil {
		return err
	}
	return checkScanned(e, n, h.Sum(nil))
}

// checkScanned compares what Build read of e (n bytes hashing to sum) with
// what ScanTree recorded.
func checkScanned(e Entry, n int64, sum []byte) error {
	var want, got string
	switch h := hex.EncodeToString(sum); {
	case n != e.Size:
		want, got = fmt.Sprintf("%d bytes", e.Size), fmt.Sprintf("%d bytes", n)
	case h != e.SHA256:
		want, got = "sha256:"+e.SHA256, "sha256:"+h
	default:
		return nil
	}
	return fmt.Errorf("update: %s changed while building: %w", e.Path, &DigestError{Name: e.Path, Want: want, Got: got})
}

func (b *builder) fullStep(tw *tar.Writer, t scanned, rep *BuildReport) (Step, error) {
	s := Step{Version: t.t.Version, Tree: TreeDigest(t.entries)}
	for i, e := range t.entries {
		if err := b.ctx.Err(); err != nil {
			return s, err
		}
		f := File{Entry: e}
		if e.Type == TypeFile {
			f.Op, f.DataSize, f.DataSHA256 = OpData, e.Size, e.SHA256
			if err := putFileMember(tw, stepMember(0, e.Path), t.t.FS, e); err != nil {
				return s, err
			}
			rep.Whole++
		}
		s.Files = append(s.Files, f)
		emit(b.o.Progress, Event{Stage: "build", File: e.Path, Done: int64(i + 1), Total: int64(len(t.entries))})
	}
	return s, nil
}

// readScanned reads the file e from fsys whole and checks it against the
// size and hash ScanTree recorded (see putFileMember).
func readScanned(fsys fs.FS, e Entry) ([]byte, error) {
	f, err := fsys.Open(e.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, e.Size)
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	sum := sha256.Sum256(buf[:n])
	if err := checkScanned(e, int64(n), sum[:]); err != nil {
		return nil, err
	}
	return buf, nil
}

func (b *builder) diffStep(tw *tar.Writer, idx int, base, next scanned, rep *BuildReport) (Step, error) {
	s := Step{Version: next.t.Version, Tree: TreeDigest(next.entries),
		From: &Base{Version: base.t.Version, Sequence: base.t.Sequence, Tree: TreeDigest(base.entries), Files: []BaseFile{}}}
	old := map[string]Entry{}
	for _, e := range base.entries {
		old[e.Path] = e
		if e.Type == TypeFile {
			s.From.Files = append(s.From.Files, BaseFile{Path: e.Path, Size: e.Size, SHA256: e.SHA256})
		}
	}
	inNew := map[string]bool{}
	for i, e := range next.entries {
		if err := b.ctx.Err(); err != nil {
			return s, err
		}
		inNew[e.Path] = true
		f := File{Entry: e}
		if e.Type == TypeFile {
			oe, ok := old[e.Path]
			switch {
			case ok && oe.Type == TypeFile && oe.SHA256 == e.SHA256 && oe.Size == e.Size:
				f.Op = OpKeep
				rep.Kept++
			case ok && oe.Type == TypeFile && e.Size > 0 && b.patchable(oe, e):
				patched, err := b.patchFile(tw, idx, base, next, oe, e, &f)
				if err != nil {
					return s, err
				}
				if patched {
					rep.Patched++
				} else {
					rep.Whole++
				}
			default:
				f.Op, f.DataSize, f.DataSHA256 = OpData, e.Size, e.SHA256
				if err := putFileMember(tw, stepMember(idx, e.Path), next.t.FS, e); err != nil {
					return s, err
				}
				rep.Whole++
			}
		}
		s.Files = append(s.Files, f)
		emit(b.o.Progress, Event{Stage: "build", File: e.Path, Done: int64(i + 1), Total: int64(len(next.entries))})
	}
	for _, e := range base.entries {
		if !inNew[e.Path] {
			s.Deleted = append(s.Deleted, e.Path)
			rep.Deleted++
		}
	}
	return s, nil
}

// formats returns the patch formats to try for a changed file, in order
// of preference on a tie.
func (b *builder) formats(oe, e Entry) []string {
	big := max(oe.Size, e.Size)
	bs := big <= b.o.MaxPatchFileSize
	dl := big <= b.o.MaxDeltaFileSize
	switch b.o.PatchFormat {
	case PatchFormatBsdiff:
		dl = false
	case PatchFormatDelta:
		bs = false
	default:
		if big >= b.o.DeltaThreshold {
			bs = false
		} else if !b.o.TryBoth {
			dl = false
		}
	}
	var out []string
	if bs {
		out = append(out, PatchFormatBsdiff)
	}
	if dl {
		out = append(out, PatchFormatDelta)
	}
	return out
}

func (b *builder) patchable(oe, e Entry) bool { return len(b.formats(oe, e)) > 0 }

// patchFile writes the smallest patch of e against oe among the formats
// to try, or e whole when no patch is at most PatchRatio of its size. It
// reports whether a patch was written. fkdelta1 patches are spooled to a
// temporary file when TempDir is set, so GiB files are never held whole
// in memory twice.
func (b *builder) patchFile(tw *tar.Writer, idx int, base, next scanned, oe, e Entry, f *File) (bool, error) {
	var best []byte
	bestFormat := ""
	for _, format := range b.formats(oe, e) {
		var patch []byte
		switch format {
		case PatchFormatBsdiff:
			ob, err := readScanned(base.t.FS, oe)
			if err != nil {
				return false, err
			}
			nb, err := readScanned(next.t.FS, e)
			if err != nil {
				return false, err
			}
			if patch, err = bsdiff.Diff(ob, nb); err != nil {
				return false, fmt.Errorf("update: diffing %s: %w", e.Path, err)
			}
		case PatchFormatDelta:
			var err error
			if patch, err = b.deltaPatch(base.t.FS, next.t.FS, oe, e); err != nil {
				return false, err
			}
		}
		if best == nil || len(patch) < len(best) {
			best, bestFormat = patch, format
		}
	}
	if best != nil && float64(len(best)) <= b.o.PatchRatio*float64(e.Size) {
		sum := sha256.Sum256(best)
		f.Op, f.DataSize, f.DataSHA256 = OpPatch, int64(len(best)), hex.EncodeToString(sum[:])
		if bestFormat == PatchFormatDelta {
			f.PatchFormat = PatchFormatDelta
			b.require(patchFeature(PatchFormatDelta))
		}
		return true, putMember(tw, stepMember(idx, e.Path), best)
	}
	f.Op, f.DataSize, f.DataSHA256 = OpData, e.Size, e.SHA256
	return false, putFileMember(tw, stepMember(idx, e.Path), next.t.FS, e)
}

// deltaPatch diffs two scanned files with package delta, reading them
// through io.ReaderAt when the FS's files offer it, and checks that both
// are still what ScanTree hashed (the patch header carries both digests).
func (b *builder) deltaPatch(oldFS, newFS fs.FS, oe, e Entry) ([]byte, error) {
	open := func(fsys fs.FS, en Entry) (io.ReaderAt, func(), error) {
		fl, err := fsys.Open(en.Path)
		if err != nil {
			return nil, nil, err
		}
		if ra, ok := fl.(io.ReaderAt); ok {
			return ra, func() { fl.Close() }, nil
		}
		fl.Close()
		buf, err := readScanned(fsys, en)
		if err != nil {
			return nil, nil, err
		}
		return bytes.NewReader(buf), func() {}, nil
	}
	or, oclose, err := open(oldFS, oe)
	if err != nil {
		return nil, err
	}
	defer oclose()
	nr, nclose, err := open(newFS, e)
	if err != nil {
		return nil, err
	}
	defer nclose()
	var buf bytes.Buffer
	err = delta.Diff(b.ctx, &buf, or, oe.Size, nr, e.Size, &delta.Options{Workers: b.o.Workers, Progress: func(ev delta.Event) {
		emit(b.o.Progress, Event{Stage: "delta-" + ev.Stage, File: e.Path, Done: ev.Done, Total: ev.Total})
	}})
	if err != nil {
		return nil, fmt.Errorf("update: diffing %s: %w", e.Path, err)
	}
	h, err := delta.ReadHeader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return nil, fmt.Errorf("update: diffing %s: %w", e.Path, err)
	}
	if err := checkScanned(oe, h.OldSize, h.OldSHA256[:]); err != nil {
		return nil, err
	}
	if err := checkScanned(e, h.NewSize, h.NewSHA256[:]); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// require records a feature the package needs (Manifest.Requires).
func (b *builder) require(feature string) {
	if b.requires == nil {
		b.requires = map[string]bool{}
	}
	b.requires[feature] = true
}

func (b *builder) nested(tw *tar.Writer, n NestedInput) (Nested, error) {
	if n.Data == nil || n.Size < 0 {
		return Nested{}, fmt.Errorf("%w: nested package %q has no data", ErrMalformed, n.Name)
	}
	tr := tar.NewReader(io.NewSectionReader(n.Data, 0, n.Size))
	head, err := readHead(tr, (*Limits)(nil).orDefault())
	if err != nil {
		return Nested{}, fmt.Errorf("nested package %q: %w", n.Name, err)
	}
	m, err := ParseManifest(head.manifestBytes, nil)
	if err != nil {
		return Nested{}, fmt.Errorf("nested package %q: %w", n.Name, err)
	}
	hdr := &tar.Header{Name: "nested/" + n.Name, Mode: 0o644, Size: n.Size, ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return Nested{}, err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tw, h), io.NewSectionReader(n.Data, 0, n.Size)); err != nil {
		return Nested{}, err
	}
	return Nested{Name: n.Name, Product: m.Product, Version: m.Version, Sequence: m.Sequence, Size: n.Size,
		SHA256: "sha256:" + hex.EncodeToString(h.Sum(nil))}, nil
}

// spooler holds the payload while the manifest is built.
type spooler interface {
	io.Writer
	size() (int64, error)
	reader() (io.Reader, error)
}

type memSpool struct{ bytes.Buffer }

func (m *memSpool) size() (int64, error)       { return int64(m.Len()), nil }
func (m *memSpool) reader() (io.Reader, error) { return bytes.NewReader(m.Bytes()), nil }

type fileSpool struct{ f *os.File }

func (s *fileSpool) Write(p []byte) (int, error) { return s.f.Write(p) }
func (s *fileSpool) size() (int64, error) {
	st, err := s.f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}
func (s *fileSpool) reader() (io.Reader, error) {
	n, err := s.size()
	if err != nil {
		return nil, err
	}
	return io.NewSectionReader(s.f, 0, n), nil
}

func (b *builder) spool() (spooler, func(), error) {
	if b.o.TempDir == "" {
		return &memSpool{}, func() {}, nil
	}
	f, err := os.CreateTemp(b.o.TempDir, "fogkit-update-*.spool")
	if err != nil {
		return nil, nil, err
	}
	return &fileSpool{f: f}, func() { f.Close(); os.Remove(f.Name()) }, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

var _ = errors.New
