package update

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strconv"
	"sync/atomic"

	"github.com/fogkit/fogkit/sign"
)

// Member names, in the fixed order of a package: the marker, the manifest,
// one or more signatures (manifest.sig, manifest.sig.2, ...) and the payload.
const (
	MemberMarker   = "fogkit-update"
	MemberManifest = "manifest.json"
	MemberSig      = "manifest.sig"
	MemberPayload  = "payload"
)

// Marker is the content of the marker member.
const Marker = "fogkit-update 1\n"

// Decrypter decrypts a payload: it reads ciphertext from src and writes
// plaintext to dst. With the sign package it is a closure over
// sign.Decrypt and the product's private key.
type Decrypter func(ctx context.Context, dst io.Writer, src io.Reader) error

// Encrypter encrypts a payload, the builder's twin of Decrypter.
type Encrypter func(ctx context.Context, dst io.Writer, src io.Reader) error

// VerifyOptions say what a package must satisfy. The zero value (or nil)
// fails every package, since Keyring is required.
type VerifyOptions struct {
	// Keyring holds the vendor's update keys (purpose sign.PurposeUpdate).
	Keyring *sign.Keyring `json:"-"`
	// Vendor, Product and Channel, when set, must equal the manifest's.
	Vendor  string `json:"vendor,omitempty"`
	Product string `json:"product,omitempty"`
	Channel string `json:"channel,omitempty"`
	// MinSequence, when set, requires a sequence greater than it (Apply
	// takes it from the installed state).
	MinSequence uint64 `json:"minSequence,omitempty"`
	// Decrypt, when set, lets Verify check the content of an encrypted
	// payload member by member.
	Decrypt Decrypter `json:"-"`
	Limits  *Limits   `json:"limits,omitempty"`
	// SpoolDir is where a payload larger than 64 MiB is copied (and
	// verified) before it is decrypted or used; os.TempDir() when empty.
	// Smaller payloads are held in memory. The package is read only once.
	SpoolDir string      `json:"spoolDir,omitempty"`
	Progress func(Event) `json:"-"`
}

// Event reports progress of long work.
type Event struct {
	Stage string `json:"stage"`          // "scan", "build", "verify", "content", "stage", "check", "commit", "cleanup", "recover"
	File  string `json:"file,omitempty"` // file or member, when there is one
	Done  int64  `json:"done"`           // units done in this stage
	Total int64  `json:"total"`          // units in this stage, 0 when unknown
}

// Report is the result of Verify.
type Report struct {
	Manifest *Manifest
	// KeyIDs are the keys whose signatures verified.
	KeyIDs []string
	// ContentVerified is true when every payload member was checked (the
	// payload is plain, or Decrypt was given).
	ContentVerified bool
}

// pkgHead is what precedes the payload.
type pkgHead struct {
	manifestBytes []byte
	manifest      *Manifest
	sigs          [][]byte
	payloadSize   int64
}

// readHead reads the members before the payload from tr and leaves tr at
// the payload's data. It checks structure only, not signatures.
func readHead(tr *tar.Reader, l Limits) (*pkgHead, error) {
	next := func(want string, max int64) (*tar.Header, error) {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, malformed("package ends before %s", want)
		}
		if err != nil {
			return nil, malformed("tar: %v", err)
		}
		if err := checkMember(h); err != nil {
			return nil, err
		}
		if want != "" && h.Name != want {
			return nil, &EntryError{Name: h.Name, Reason: "unexpected member (want " + want + ")", Err: ErrUnsafeEntry}
		}
		if h.Size > max {
			return nil, &EntryError{Name: h.Name, Reason: fmt.Sprintf("member of %d bytes (max %d)", h.Size, max), Err: ErrTooLarge}
		}
		return h, nil
	}
	readAll := func(h *tar.Header) ([]byte, error) {
		b, err := io.ReadAll(io.LimitReader(tr, h.Size))
		if err != nil {
			return nil, malformed("reading %s: %v", h.Name, err)
		}
		if int64(len(b)) != h.Size {
			return nil, malformed("%s truncated", h.Name)
		}
		return b, nil
	}
	h, err := next(MemberMarker, int64(len(Marker)))
	if err != nil {
		return nil, err
	}
	b, err := readAll(h)
	if err != nil {
		return nil, err
	}
	if string(b) != Marker {
		return nil, malformed("unknown format marker %q", b)
	}
	if h, err = next(MemberManifest, l.MaxManifestSize); err != nil {
		return nil, err
	}
	head := &pkgHead{}
	if head.manifestBytes, err = readAll(h); err != nil {
		return nil, err
	}
	for {
		h, err := next("", l.MaxPayloadSize)
		if err != nil {
			return nil, err
		}
		if h.Name == MemberPayload {
			if len(head.sigs) == 0 {
				return nil, malformed("package has no signature")
			}
			head.payloadSize = h.Size
			return head, nil
		}
		want := MemberSig
		if n := len(head.sigs); n > 0 {
			want = MemberSig + "." + strconv.Itoa(n+1)
		}
		if h.Name != want {
			return nil, &EntryError{Name: h.Name, Reason: "unexpected member (want " + want + " or " + MemberPayload + ")", Err: ErrUnsafeEntry}
		}
		if len(head.sigs) >= l.MaxSignatures {
			return nil, &EntryError{Name: h.Name, Reason: "too many signatures", Err: ErrTooLarge}
		}
		if h.Size > sign.MaxSignatureSize {
			return nil, &EntryError{Name: h.Name, Reason: "signature too large", Err: ErrTooLarge}
		}
		sig, err := readAll(h)
		if err != nil {
			return nil, err
		}
		head.sigs = append(head.sigs, sig)
	}
}

// checkMember allows only plain regular files with plain names.
func checkMember(h *tar.Header) error {
	if h.Typeflag != tar.TypeReg {
		return &EntryError{Name: h.Name, Reason: fmt.Sprintf("tar entry type %q is not a regular file", string(h.Typeflag)), Err: ErrUnsafeEntry}
	}
	if err := checkPath(h.Name); err != nil {
		return err
	}
	if h.Size < 0 {
		return &EntryError{Name: h.Name, Reason: "negative size", Err: ErrMalformed}
	}
	return nil
}

// checkSignatures verifies the manifest against the keyring: at least one
// signature must verify with an update key.
func checkSignatures(ctx context.Context, head *pkgHead, ring *sign.Keyring) ([]string, error) {
	if ring == nil {
		return nil, &SignatureError{Signatures: len(head.sigs), Err: fmt.Errorf("%w: no keyring given", sign.ErrUnknownKey)}
	}
	var ids []string
	var first error
	for _, s := range head.sigs {
		id, err := ring.Verify(ctx, sign.PurposeUpdate, head.manifestBytes, s)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if first == nil {
				first = err
			}
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, &SignatureError{Signatures: len(head.sigs), Err: first}
	}
	return ids, nil
}

// checkPolicy checks the manifest against what the target expects.
func checkPolicy(m *Manifest, o *VerifyOptions) error {
	if o.Vendor != "" && m.Vendor != o.Vendor {
		return &PolicyError{Field: "vendor", Want: o.Vendor, Got: m.Vendor, Err: ErrWrongVendor}
	}
	if o.Product != "" && m.Product != o.Product {
		return &PolicyError{Field: "product", Want: o.Product, Got: m.Product, Err: ErrWrongProduct}
	}
	if o.Channel != "" && m.Channel != o.Channel {
		return &PolicyError{Field: "channel", Want: o.Channel, Got: m.Channel, Err: ErrWrongChannel}
	}
	if o.MinSequence != 0 && m.Sequence <= o.MinSequence {
		return &PolicyError{Field: "sequence", Want: "> " + strconv.FormatUint(o.MinSequence, 10), Got: strconv.FormatUint(m.Sequence, 10), Err: ErrDowngrade}
	}
	return nil
}

// openPackage reads the head from a fresh reader over r, verifies the
// signature and the policy, and returns the tar reader at the payload.
func openPackage(ctx context.Context, r io.ReaderAt, size int64, o *VerifyOptions) (*pkgHead, *tar.Reader, []string, error) {
	l := o.Limits.orDefault()
	tr := tar.NewReader(io.NewSectionReader(r, 0, size))
	head, err := readHead(tr, l)
	if err != nil {
		return nil, nil, nil, err
	}
	// Signatures first: nothing in the manifest is trusted before.
	ids, err := checkSignatures(ctx, head, o.Keyring)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := ParseManifest(head.manifestBytes, o.Limits)
	if err != nil {
		return nil, nil, nil, err
	}
	head.manifest = m
	if head.payloadSize != m.Payload.Size {
		return nil, nil, nil, &EntryError{Name: MemberPayload, Reason: fmt.Sprintf("member holds %d bytes, manifest says %d", head.payloadSize, m.Payload.Size), Err: ErrMalformed}
	}
	if err := checkPolicy(m, o); err != nil {
		return nil, nil, nil, err
	}
	return head, tr, ids, nil
}

// spoolMemMax is the largest payload spooled in memory; larger ones go
// to a temporary file.
var spoolMemMax int64 = 64 << 20

// spool is a private copy of the payload member, made in the same pass
// that hashes it. Once spoolPayload returns, its bytes are exactly the
// bytes whose digest matched the signed manifest; every later pass
// (decryption, member checks, staging) reads the spool only, never the
// package again, so a package that changes while it is read cannot feed
// unverified bytes to the decrypter or the patcher.
type spool struct {
	mem  []byte
	f    *os.File
	size int64
}

// reader returns a fresh reader of the whole spooled payload.
func (s *spool) reader() io.Reader {
	if s.f != nil {
		return io.NewSectionReader(s.f, 0, s.size)
	}
	return bytes.NewReader(s.mem)
}

// close releases the spool (removing its temporary file).
func (s *spool) close() {
	if s != nil && s.f != nil {
		name := s.f.Name()
		s.f.Close()
		os.Remove(name)
		s.f = nil
	}
}

// errWriter remembers the error of its writer.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}

// spoolPayload copies the payload member from tr into a spool (memory up
// to spoolMemMax, else a temporary file in dir, os.TempDir() when empty),
// hashing it on the way, checks the digest against the manifest and that
// nothing follows the payload. On error nothing is kept.
func spoolPayload(ctx context.Context, tr *tar.Reader, head *pkgHead, progress func(Event), dir string) (_ *spool, err error) {
	sp := &spool{size: head.payloadSize}
	defer func() {
		if err != nil {
			sp.close()
		}
	}()
	var w io.Writer
	var buf *bytes.Buffer
	if head.payloadSize <= spoolMemMax {
		buf = bytes.NewBuffer(make([]byte, 0, head.payloadSize))
		w = buf
	} else {
		f, err := os.CreateTemp(dir, "fogkit-payload-*")
		if err != nil {
			return nil, fmt.Errorf("update: spooling payload: %w", err)
		}
		sp.f = f
		w = &errWriter{w: f}
	}
	h := sha256.New()
	n, err := copyCtx(ctx, io.MultiWriter(h, w), io.LimitReader(tr, head.payloadSize), func(done int64) {
		emit(progress, Event{Stage: "verify", File: MemberPayload, Done: done, Total: head.payloadSize})
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if ew, ok := w.(*errWriter); ok && ew.err != nil {
			return nil, fmt.Errorf("update: spooling payload: %w", ew.err)
		}
		return nil, malformed("reading payload: %v", err)
	}
	if n != head.payloadSize {
		return nil, malformed("payload truncated")
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != head.manifest.Payload.SHA256 {
		return nil, &DigestError{Name: MemberPayload, Want: head.manifest.Payload.SHA256, Got: got}
	}
	hdr, err := tr.Next()
	if err == nil {
		return nil, &EntryError{Name: hdr.Name, Reason: "member after the payload", Err: ErrUnsafeEntry}
	}
	if err != io.EOF {
		return nil, malformed("tar after payload: %v", err)
	}
	if buf != nil {
		sp.mem = buf.Bytes()
	}
	return sp, nil
}

// plainPayload returns a reader of the decrypted payload (the payload
// itself when plain). The returned finish function must be called once the
// reader is no longer needed; it returns the decrypter's own error, if it
// failed before being stopped.
func plainPayload(ctx context.Context, src io.Reader, m *Manifest, dec Decrypter) (io.Reader, func() error, error) {
	if !m.Payload.Encrypted {
		return src, func() error { return nil }, nil
	}
	if dec == nil {
		return nil, nil, fmt.Errorf("%w: payload is encrypted and no decryption key was given", ErrDecrypt)
	}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(ctx)
	var stopping atomic.Bool
	done := make(chan error, 1)
	go func() {
		err := func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("decrypter panicked: %v", r)
				}
			}()
			return dec(ctx, pw, src)
		}()
		if err != nil {
			err = fmt.Errorf("%w: %w", ErrDecrypt, err)
		}
		genuine := err != nil && !stopping.Load()
		pw.CloseWithError(err)
		if !genuine {
			err = nil
		}
		done <- err
	}()
	finish := func() error {
		// Let the decrypter finish (it checks integrity at the end),
		// within a bound, then stop it.
		io.Copy(io.Discard, io.LimitReader(pr, 1<<20))
		stopping.Store(true)
		cancel()
		pr.CloseWithError(errors.New("payload reader closed"))
		return <-done
	}
	return pr, finish, nil
}

// memberIter walks the plain payload tar: every member must be the next
// one the manifest implies, with the right size and hash. Anything else is
// refused.
type memberIter struct {
	tr   *tar.Reader
	list []member
	i    int
	cur  *hashReader
	mem  member
}

func newMemberIter(plain io.Reader, m *Manifest) *memberIter {
	return &memberIter{tr: tar.NewReader(plain), list: m.members()}
}

// finish drains and checks the current member.
func (it *memberIter) finish() error {
	if it.cur == nil {
		return nil
	}
	hr := it.cur
	it.cur = nil
	if _, err := io.Copy(io.Discard, hr); err != nil {
		return malformed("payload entry %s: %v", it.mem.name, err)
	}
	if hr.n != it.mem.size {
		return malformed("payload entry %s truncated", it.mem.name)
	}
	if got := hex.EncodeToString(hr.h.Sum(nil)); got != it.mem.sha {
		return &DigestError{Name: it.mem.name, Want: it.mem.sha, Got: got}
	}
	return nil
}

// next checks the previous member and opens the next one.
func (it *memberIter) next() (member, io.Reader, error) {
	if err := it.finish(); err != nil {
		return member{}, nil, err
	}
	if it.i >= len(it.list) {
		return member{}, nil, malformed("no more payload members")
	}
	mem := it.list[it.i]
	it.i++
	h, err := it.tr.Next()
	if err == io.EOF {
		return member{}, nil, &EntryError{Name: mem.name, Reason: "missing from payload", Err: ErrMalformed}
	}
	if err != nil {
		return member{}, nil, malformed("payload tar: %v", err)
	}
	if err := checkMember(h); err != nil {
		return member{}, nil, err
	}
	if h.Name != mem.name {
		return member{}, nil, &EntryError{Name: h.Name, Reason: "unlisted or out-of-order payload entry (want " + mem.name + ")", Err: ErrUnsafeEntry}
	}
	if h.Size != mem.size {
		return member{}, nil, &EntryError{Name: h.Name, Reason: fmt.Sprintf("payload entry of %d bytes, manifest says %d", h.Size, mem.size), Err: ErrTooLarge}
	}
	it.mem = mem
	it.cur = &hashReader{r: io.LimitReader(it.tr, h.Size), h: sha256.New()}
	return mem, it.cur, nil
}

// end checks the last member and that nothing follows.
func (it *memberIter) end() error {
	if err := it.finish(); err != nil {
		return err
	}
	if it.i != len(it.list) {
		return malformed("payload members left unread")
	}
	h, err := it.tr.Next()
	if err == nil {
		return &EntryError{Name: h.Name, Reason: "unlisted payload entry", Err: ErrUnsafeEntry}
	}
	if err != io.EOF {
		return malformed("payload tar end: %v", err)
	}
	return nil
}

// payloadMembers checks every member, calling fn (may be nil) on each.
func payloadMembers(ctx context.Context, plain io.Reader, m *Manifest, fn func(mem member, r io.Reader) error) error {
	it := newMemberIter(plain, m)
	for range it.list {
		if err := ctx.Err(); err != nil {
			return err
		}
		mem, r, err := it.next()
		if err != nil {
			return err
		}
		if fn != nil {
			if err := fn(mem, r); err != nil {
				return err
			}
		}
	}
	return it.end()
}

type hashReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (r *hashReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	return n, err
}

// Verify checks a package without a target: structure, signatures against
// o.Keyring, o's vendor/product/channel/sequence policy, the payload digest
// and, when the payload is plain or o.Decrypt is set, every payload member
// (and nested package digest). Nested packages are checked by digest only;
// each node verifies its own package with its own keyring.
func Verify(ctx context.Context, r io.ReaderAt, size int64, o *VerifyOptions) (*Report, error) {
	if o == nil {
		o = &VerifyOptions{}
	}
	head, tr, ids, err := openPackage(ctx, r, size, o)
	if err != nil {
		return nil, err
	}
	sp, err := spoolPayload(ctx, tr, head, o.Progress, o.SpoolDir)
	if err != nil {
		return nil, err
	}
	defer sp.close()
	rep := &Report{Manifest: head.manifest, KeyIDs: ids}
	if head.manifest.Payload.Encrypted && o.Decrypt == nil {
		return rep, nil
	}
	if err := checkContent(ctx, sp, o, head); err != nil {
		return nil, err
	}
	rep.ContentVerified = true
	return rep, nil
}

// checkContent walks the (decrypted) payload members of the verified
// spool.
func checkContent(ctx context.Context, sp *spool, o *VerifyOptions, head *pkgHead) error {
	return withPayload(ctx, sp, o, head, func(plain io.Reader) error {
		var done int64
		total := int64(len(head.manifest.members()))
		return payloadMembers(ctx, plain, head.manifest, func(mem member, _ io.Reader) error {
			done++
			emit(o.Progress, Event{Stage: "content", File: mem.name, Done: done, Total: total})
			return nil
		})
	})
}

// withPayload hands fn the plain payload, decrypted from the verified
// spool (never from the package itself).
func withPayload(ctx context.Context, sp *spool, o *VerifyOptions, head *pkgHead, fn func(plain io.Reader) error) error {
	plain, finish, err := plainPayload(ctx, sp.reader(), head.manifest, o.Decrypt)
	if err != nil {
		return err
	}
	err = fn(plain)
	if ferr := finish(); ferr != nil {
		// The decrypter's failure is the cause of any read error.
		return ferr
	}
	return err
}

func emit(p func(Event), e Event) {
	if p != nil {
		p(e)
	}
}

// copyCtx copies in 256 KiB chunks, checking ctx and reporting progress.
func copyCtx(ctx context.Context, dst io.Writer, src io.Reader, progress func(int64)) (int64, error) {
	buf := make([]byte, 256<<10)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		k, err := src.Read(buf)
		if k > 0 {
			if _, werr := dst.Write(buf[:k]); werr != nil {
				return n, werr
			}
			n += int64(k)
			progress(n)
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// ExtractNested verifies the package like Verify (including every payload
// member, so an encrypted payload needs o.Decrypt) and copies the nested
// package called name to w. While copying, it reads the nested package's
// own manifest and checks that it names the product, version and sequence
// of its Nested entry (the signed description a server files it under);
// the copy's size and digest are checked against the entry at the end. On
// error, discard what was written to w. The nested package's signatures
// are not verified against its own product's keys; the node does that
// with Verify or Apply.
func ExtractNested(ctx context.Context, r io.ReaderAt, size int64, name string, w io.Writer, o *VerifyOptions) (*Nested, error) {
	if o == nil {
		o = &VerifyOptions{}
	}
	head, tr, _, err := openPackage(ctx, r, size, o)
	if err != nil {
		return nil, err
	}
	var found *Nested
	for i := range head.manifest.Nested {
		if head.manifest.Nested[i].Name == name {
			found = &head.manifest.Nested[i]
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: no nested package %q", ErrNotApplicable, name)
	}
	sp, err := spoolPayload(ctx, tr, head, o.Progress, o.SpoolDir)
	if err != nil {
		return nil, err
	}
	defer sp.close()
	err = withPayload(ctx, sp, o, head, func(plain io.Reader) error {
		return payloadMembers(ctx, plain, head.manifest, func(mem member, rd io.Reader) error {
			if mem.name != "nested/"+name {
				return nil
			}
			tee := io.TeeReader(rd, w)
			if err := checkNestedHead(tee, found, o.Limits); err != nil {
				return err
			}
			_, err := io.Copy(w, rd)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}

// checkNestedHead reads a nested package's head from r (up to its payload
// member) and checks its manifest against the entry describing it.
func checkNestedHead(r io.Reader, n *Nested, lim *Limits) error {
	member := "nested/" + n.Name
	head, err := readHead(tar.NewReader(r), lim.orDefault())
	if err != nil {
		return fmt.Errorf("%s: %w", member, err)
	}
	m, err := ParseManifest(head.manifestBytes, lim)
	if err != nil {
		return fmt.Errorf("%s: %w", member, err)
	}
	if m.Product != n.Product || m.Version != n.Version || m.Sequence != n.Sequence {
		return &EntryError{Name: member, Err: ErrMalformed, Reason: fmt.Sprintf(
			"its manifest is product %q version %q sequence %d, the nested entry says product %q version %q sequence %d",
			m.Product, m.Version, m.Sequence, n.Product, n.Version, n.Sequence)}
	}
	return nil
}
