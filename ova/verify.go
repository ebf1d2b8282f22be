package ova

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// VerifyOptions control Verify. Nil means defaults; Verify never modifies
// them.
type VerifyOptions struct {
	// Roots are the trust anchors. When set, the .cert's certificate must
	// chain to one of them (ErrUntrusted otherwise); a self-signed
	// certificate is trusted by listing it here. When empty, the chain is
	// not checked and the report says so in a finding.
	Roots []*x509.Certificate `json:"-"`
	// AllowUnsigned accepts an archive without .cert, reporting it with an
	// "unsigned" finding. By default Verify fails closed: an unsigned
	// archive is ErrUnsigned.
	AllowUnsigned bool `json:"allowUnsigned,omitempty"`
	// RequireSignature is what Verify does by default; it is kept so that
	// existing callers compile, and contradicts AllowUnsigned (both set is
	// ErrInvalid).
	//
	// Deprecated: signatures are required unless AllowUnsigned is set.
	RequireSignature bool `json:"requireSignature,omitempty"`
	// ForeignHeaders accepts OVAs that other tools made (ovftool,
	// VirtualBox, GNU tar, bsdtar, a re-exported appliance). By default
	// Verify accepts only the tar headers Write writes (listed in the
	// package documentation): no header byte is covered by the
	// manifest or the signature, so anything else could be read one way by
	// this package and another way by a tar tool. ForeignHeaders accepts
	// the fields such writers fill differently without changing what any
	// reader extracts (uid, gid, uname, gname, mtime, permission bits,
	// space or NUL terminators, the GNU magic on any member, zero record
	// padding after the end, a missing end marker) and still refuses every
	// field another reader could interpret differently: GNU extensions
	// beyond the base-256 size of members of 8 GiB and more (sparse maps,
	// realsize, isextended, atime, ctime), PAX records, type flags other
	// than '0', prefixes, link names, device numbers, setuid/setgid/sticky
	// bits and non-zero reserved bytes.
	ForeignHeaders bool `json:"foreignHeaders,omitempty"`
	// Now is the clock certificates are judged by; nil means time.Now.
	// Expired and not-yet-valid certificates are findings, not errors.
	Now func() time.Time `json:"-"`
	// TrailingDigest is the algorithm files are hashed with when the .mf
	// comes after them (Options.ManifestLast); SHA256 when empty. A
	// trailing manifest in another algorithm gives ErrUnsupported.
	TrailingDigest Digest `json:"trailingDigest,omitempty"`
	// Progress, when set, is called synchronously as members are read.
	Progress func(Event) `json:"-"`
}

// FindingCode classifies a Finding.
type FindingCode string

// Findings Verify reports without failing.
const (
	FindingUnsigned     FindingCode = "unsigned"      // no .cert (only with AllowUnsigned)
	FindingSelfSigned   FindingCode = "self-signed"   // the leaf certificate signs itself and no root vouches for it
	FindingNoRoots      FindingCode = "no-roots"      // no VerifyOptions.Roots: the chain was not checked
	FindingExpired      FindingCode = "expired"       // a certificate's NotAfter is before Now
	FindingNotYetValid  FindingCode = "not-yet-valid" // a certificate's NotBefore is after Now
	FindingWeakDigest   FindingCode = "weak-digest"   // SHA1 in the manifest or the signature
	FindingManifestLast FindingCode = "manifest-last" // .mf/.cert after the files (fine for OVF 2 consumers)
	FindingNoEndMarker  FindingCode = "no-end-marker" // the tar stream ends without a zero block (only with ForeignHeaders)
)

// Finding is something a consumer may warn about in an otherwise valid
// archive.
type Finding struct {
	Code    FindingCode `json:"code"`
	File    string      `json:"file,omitempty"`
	Message string      `json:"message"`
}

// Report is what Verify found. It is filled as far as reading got, also
// when Verify returns an error.
type Report struct {
	Name       string         `json:"name"`               // base name (<Name>.ovf)
	Size       int64          `json:"size"`               // archive bytes read
	Entries    []Entry        `json:"entries"`            // in archive order, with computed digests
	Manifest   []ManifestLine `json:"manifest,omitempty"` // as the .mf states them
	References []string       `json:"references"`         // the descriptor's hrefs, in order
	Signed     bool           `json:"signed"`             // a .cert whose signature verified
	Signer     *SignerInfo    `json:"signer,omitempty"`
	Findings   []Finding      `json:"findings,omitempty"`
}

// Finding reports whether the report holds a finding with code c.
func (r *Report) Finding(c FindingCode) bool {
	for _, f := range r.Findings {
		if f.Code == c {
			return true
		}
	}
	return false
}

type verifier struct {
	ctx  context.Context
	opt  VerifyOptions
	rep  *Report
	errs []error
	buf  []byte

	tr         tarReader
	refs       []reference
	refIndex   map[string]int
	descriptor []byte
	mf         []byte
	mfLines    map[string]ManifestLine
	cert       *certFile
	certName   string
	trailing   bool // .mf came after files
	lastFile   int  // References index of the last file member
	files      int  // file members seen
	members    map[string]bool
	computed   map[string]string // file name → hex digest in its hashing algorithm
	hashedWith map[string]Digest
}

// Verify reads an OVA from r in one streaming pass and checks: member order
// (.ovf first; .mf then .cert right after it or at the very end; files in
// References order), member formats (exactly the tar headers Write writes,
// unless VerifyOptions.ForeignHeaders: regular files with plain names; no
// PAX, long names, links, devices or directories; zero padding; exactly
// two zero blocks at the end), that the manifest covers exactly the
// descriptor and its References, ovf:size against tar sizes, every digest,
// the .cert (only its signature line and CERTIFICATE PEM blocks), its
// signature over the exact .mf bytes, the certificate (chain to
// VerifyOptions.Roots when given), and, as Write does, every VMDK's header
// and descriptor against the OVF (ErrDiskMismatch).
//
// Verify fails closed: an archive without .cert is ErrUnsigned unless
// VerifyOptions.AllowUnsigned is set. Without Roots, any certificate that
// signed the manifest is accepted (with a "no-roots" finding): pass the
// vendor's certificate or CA as Roots to decide whom to trust.
//
// It returns the report and nil when the archive is valid. Otherwise the
// error matches one or more sentinels (errors.Join when several problems
// were found) and names the member (a refused tar header is a *HeaderError
// that also names the field); the report holds what was read. Self-signed,
// expired and not-yet-valid certificates are Findings.
func Verify(ctx context.Context, r io.Reader, o *VerifyOptions) (*Report, error) {
	v := &verifier{ctx: ctx, rep: &Report{}, lastFile: -1,
		members: map[string]bool{}, computed: map[string]string{}, hashedWith: map[string]Digest{}}
	if o != nil {
		v.opt = *o
	}
	if v.opt.TrailingDigest == "" {
		v.opt.TrailingDigest = SHA256
	}
	if !v.opt.TrailingDigest.Valid() {
		return v.rep, fileErr("", ErrInvalid, "TrailingDigest %q", v.opt.TrailingDigest)
	}
	if v.opt.AllowUnsigned && v.opt.RequireSignature {
		return v.rep, fileErr("", ErrInvalid, "AllowUnsigned and RequireSignature contradict each other")
	}
	v.tr.r = r
	v.tr.foreign = v.opt.ForeignHeaders
	err := v.run()
	v.rep.Size = v.tr.off
	if err != nil {
		return v.rep, err
	}
	if len(v.errs) > 0 {
		if len(v.errs) == 1 {
			return v.rep, v.errs[0]
		}
		return v.rep, errors.Join(v.errs...)
	}
	return v.rep, nil
}

// maxVerifyEntries caps the members Verify reads, as Open's MaxEntries
// default does: an OVA holds a descriptor, a manifest, a certificate and
// its disks.
const maxVerifyEntries = 1024

func (v *verifier) problem(err error) { v.errs = append(v.errs, err) }

func (v *verifier) finding(c FindingCode, file, format string, args ...any) {
	v.rep.Findings = append(v.rep.Findings, Finding{Code: c, File: file, Message: fmt.Sprintf(format, args...)})
}

func (v *verifier) event(name string, done, total int64) {
	if v.opt.Progress != nil {
		v.opt.Progress(Event{Stage: StageVerify, File: name, Done: done, Total: total})
	}
}

// readSmall reads the current member (capped) into memory.
func (v *verifier) readSmall(h header, limit int64) ([]byte, error) {
	if h.Size > limit {
		return nil, fileErr(h.Name, ErrTooLarge, "%d bytes (limit %d)", h.Size, limit)
	}
	v.event(h.Name, 0, h.Size)
	// Grow with the data actually read, not the size a header claims, so
	// a lying header in a short stream costs nothing.
	var b bytes.Buffer
	b.Grow(int(min(h.Size, 64<<10)))
	n, err := b.ReadFrom(io.LimitReader(&v.tr, h.Size))
	if err == nil && n < h.Size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, truncated(v.tr.off, err)
	}
	v.event(h.Name, h.Size, h.Size)
	return b.Bytes(), nil
}

func (v *verifier) run() error {
	var mfName, certName string
	for {
		if err := v.ctx.Err(); err != nil {
			return err
		}
		h, off, err := v.tr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if len(v.rep.Entries) >= maxVerifyEntries {
			// A stream of empty headers must not grow the report forever.
			return fileErr("", ErrTooLarge, "more than %d members", maxVerifyEntries)
		}
		entry := Entry{Name: h.Name, Offset: off, Size: h.Size, Format: h.Format, Kind: KindFile}
		first := len(v.rep.Entries) == 0
		if !first && v.members[h.Name] {
			return fileErr(h.Name, ErrDuplicate, "second member with this name at offset %d", off)
		}
		v.members[h.Name] = true
		switch {
		case first:
			if !strings.HasSuffix(h.Name, ".ovf") || len(h.Name) == len(".ovf") {
				return fileErr(h.Name, ErrOrder, "the first member must be the .ovf descriptor")
			}
			v.rep.Name = strings.TrimSuffix(h.Name, ".ovf")
			mfName, certName = v.rep.Name+".mf", v.rep.Name+".cert"
			v.certName = certName
			entry.Kind = KindDescriptor
			if v.descriptor, err = v.readSmall(h, MaxDescriptorSize); err != nil {
				return err
			}
			if v.refs, err = descriptorReferences(v.descriptor); err != nil {
				// Keep the cause (ErrDuplicate, ErrUnsupported, …) reachable
				// with errors.Is beside ErrDescriptor.
				return fmt.Errorf("%w: %w", fileErr(h.Name, ErrDescriptor, "references"), err)
			}
			v.refIndex = map[string]int{}
			for i, r := range v.refs {
				v.refIndex[r.Href] = i
				v.rep.References = append(v.rep.References, r.Href)
			}
		case strings.HasSuffix(h.Name, ".ovf"):
			if _, ok := v.refIndex[h.Name]; !ok {
				return fileErr(h.Name, ErrOrder, "a second descriptor; the .ovf must be the first member")
			}
			if err := v.fileMember(h, &entry); err != nil {
				return err
			}
		case h.Name == mfName:
			entry.Kind = KindManifest
			if v.cert != nil {
				return fileErr(h.Name, ErrOrder, "the manifest comes after the certificate")
			}
			if v.files > 0 {
				v.trailing = true
				v.finding(FindingManifestLast, h.Name, "the manifest follows the files; OVF 1.x consumers (VirtualBox) expect it right after the descriptor")
			}
			if v.mf, err = v.readSmall(h, MaxManifestSize); err != nil {
				return err
			}
			lines, err := ParseManifest(v.mf)
			if err != nil {
				var fe *FileError
				if errors.As(err, &fe) {
					fe.Detail = h.Name + ": " + fe.Detail
				}
				return err
			}
			v.rep.Manifest = lines
			v.mfLines = map[string]ManifestLine{}
			for _, l := range lines {
				v.mfLines[l.Name] = l
			}
		case h.Name == certName:
			entry.Kind = KindCertificate
			if v.mf == nil {
				return fileErr(h.Name, ErrOrder, "the certificate comes before the manifest")
			}
			if prev := v.rep.Entries[len(v.rep.Entries)-1]; prev.Kind != KindManifest {
				return fileErr(h.Name, ErrOrder, "the certificate must directly follow the manifest")
			}
			data, err := v.readSmall(h, MaxManifestSize)
			if err != nil {
				return err
			}
			if v.cert, err = parseCertFile(h.Name, data); err != nil {
				return err
			}
		default:
			if v.trailing {
				return fileErr(h.Name, ErrOrder, "a file after the trailing manifest")
			}
			if err := v.fileMember(h, &entry); err != nil {
				return err
			}
		}
		v.rep.Entries = append(v.rep.Entries, entry)
	}
	if len(v.rep.Entries) == 0 {
		return fileErr("", ErrFormat, "no members")
	}
	if !v.tr.ended {
		if !v.opt.ForeignHeaders {
			return fileErr("", ErrFormat, "the archive ends without the end-of-archive zero blocks")
		}
		v.finding(FindingNoEndMarker, "", "the archive ends without the end-of-archive zero blocks")
	}
	v.finish(mfName)
	return nil
}

// fileMember checks and hashes a member other than .ovf, .mf and .cert.
func (v *verifier) fileMember(h header, e *Entry) error {
	idx, listed := v.refIndex[h.Name]
	switch {
	case !listed:
		v.problem(fileErr(h.Name, ErrUnlisted, "member at offset %d is not in the descriptor's References", e.Offset))
	case idx < v.lastFile:
		v.problem(fileErr(h.Name, ErrOrder, "member comes after %s but precedes it in References", v.refs[v.lastFile].Href))
	default:
		v.lastFile = idx
		if want := v.refs[idx].Size; want >= 0 && want != h.Size {
			v.problem(fileErr(h.Name, ErrSizeMismatch, "descriptor ovf:size %d, tar member has %d bytes", want, h.Size))
		}
	}
	v.files++
	alg := v.opt.TrailingDigest
	if v.mfLines != nil {
		l, ok := v.mfLines[h.Name]
		if !ok {
			// Reported by finish; hash with the default for the report.
			l.Algorithm = SHA256
		}
		alg = l.Algorithm
	}
	hs := alg.New()
	var dst io.Writer = hs
	var head *headBuffer
	var disk *diskExpect
	if listed {
		disk = v.refs[idx].Disk
	}
	if disk != nil {
		head = &headBuffer{}
		dst = io.MultiWriter(hs, head)
	}
	n, err := pump(v.ctx, dst, &v.tr, h.Size, v.buf1(h.Size), func(done int64) { v.event(h.Name, done, h.Size) })
	if err != nil {
		if err == context.Canceled || err == context.DeadlineExceeded {
			return err
		}
		return truncated(v.tr.off, err)
	}
	if n != h.Size {
		return fileErr(h.Name, ErrFormat, "archive truncated inside the member")
	}
	if disk != nil {
		if err := checkDisk(h.Name, disk, head.b); err != nil {
			v.problem(err)
		}
	}
	sum := hex.EncodeToString(hs.Sum(nil))
	e.Algorithm, e.Digest = alg, sum
	v.computed[h.Name], v.hashedWith[h.Name] = sum, alg
	return nil
}

// buf1 returns the copy buffer, sized for a member of size bytes (small
// members do not pay for a 1 MiB buffer).
func (v *verifier) buf1(size int64) []byte {
	want := int(min(max(size, 4096), copyBufSize))
	if len(v.buf) < want {
		v.buf = make([]byte, want)
	}
	return v.buf
}

// finish checks coverage, digests, the signature and the certificate.
func (v *verifier) finish(mfName string) {
	ovfName := v.rep.Name + ".ovf"
	for _, r := range v.refs {
		if !v.members[r.Href] {
			v.problem(fileErr(r.Href, ErrMissing, "the descriptor references this file but the archive lacks it"))
		}
	}
	if v.mf == nil {
		v.problem(fileErr(mfName, ErrMissing, "the archive has no manifest"))
	} else {
		// The descriptor's digest.
		if l, ok := v.mfLines[ovfName]; !ok {
			v.problem(fileErr(ovfName, ErrUnlisted, "the manifest has no line for the descriptor"))
		} else {
			hs := l.Algorithm.New()
			hs.Write(v.descriptor)
			got := hex.EncodeToString(hs.Sum(nil))
			v.rep.Entries[0].Algorithm, v.rep.Entries[0].Digest = l.Algorithm, got
			if got != l.Digest {
				v.problem(&DigestError{File: ovfName, Algorithm: l.Algorithm, Want: l.Digest, Got: got})
			}
		}
		weak := false
		for _, l := range v.rep.Manifest {
			if l.Algorithm == SHA1 {
				weak = true
			}
			if l.Name == ovfName {
				continue
			}
			if _, ok := v.refIndex[l.Name]; !ok {
				v.problem(fileErr(l.Name, ErrUnlisted, "the manifest lists a file the descriptor does not reference"))
				continue
			}
			got, ok := v.computed[l.Name]
			if !ok {
				continue // missing member, reported above
			}
			if alg := v.hashedWith[l.Name]; alg != l.Algorithm {
				v.problem(fileErr(l.Name, ErrUnsupported, "the trailing manifest uses %s but the files were hashed with %s (set VerifyOptions.TrailingDigest)", l.Algorithm, alg))
				continue
			}
			if got != l.Digest {
				v.problem(&DigestError{File: l.Name, Algorithm: l.Algorithm, Want: l.Digest, Got: got})
			}
		}
		for _, r := range v.refs {
			if _, ok := v.mfLines[r.Href]; !ok && v.members[r.Href] {
				v.problem(fileErr(r.Href, ErrUnlisted, "the manifest has no line for this member"))
			}
		}
		if weak {
			v.finding(FindingWeakDigest, mfName, "the manifest uses SHA1")
		}
	}
	if v.cert == nil {
		if v.opt.AllowUnsigned {
			v.finding(FindingUnsigned, "", "the archive has no certificate file")
		} else {
			v.problem(fileErr(v.certName, ErrUnsigned, "the archive has no certificate file (set VerifyOptions.AllowUnsigned to accept unsigned archives)"))
		}
		return
	}
	v.checkCertificate(mfName)
}

func (v *verifier) checkCertificate(mfName string) {
	cf := v.cert
	si := signerInfo(cf)
	v.rep.Signer = si
	if cf.Manifest != mfName {
		v.problem(fileErr(v.certName, ErrBadSignature, "the signature line names %q, not %q", cf.Manifest, mfName))
		return
	}
	if v.mf == nil {
		return
	}
	if err := checkSignature(cf.Chain[0], cf.Algorithm, v.mf, cf.Signature); err != nil {
		if errors.Is(err, ErrUnsupported) {
			v.problem(fileErr(v.certName, ErrUnsupported, "%v", err))
		} else {
			v.problem(fileErr(v.certName, ErrBadSignature, "the %s signature does not verify over %s with the certificate's key", cf.Algorithm, mfName))
		}
		return
	}
	v.rep.Signed = true
	if cf.Algorithm == SHA1 {
		v.finding(FindingWeakDigest, v.certName, "the signature uses SHA1")
	}
	now := time.Now()
	if v.opt.Now != nil {
		now = v.opt.Now()
	}
	lo, hi := cf.Chain[0].NotBefore, cf.Chain[0].NotAfter
	for _, c := range cf.Chain {
		if now.Before(c.NotBefore) {
			v.finding(FindingNotYetValid, v.certName, "certificate %q is valid from %s", c.Subject.String(), c.NotBefore.UTC().Format(time.RFC3339))
		}
		if now.After(c.NotAfter) {
			v.finding(FindingExpired, v.certName, "certificate %q expired %s", c.Subject.String(), c.NotAfter.UTC().Format(time.RFC3339))
		}
		if c.NotBefore.After(lo) {
			lo = c.NotBefore
		}
		if c.NotAfter.Before(hi) {
			hi = c.NotAfter
		}
	}
	if len(v.opt.Roots) == 0 {
		if si.SelfSigned {
			v.finding(FindingSelfSigned, v.certName, "the certificate %q is self-signed", si.Subject)
		}
		v.finding(FindingNoRoots, v.certName, "no trust roots given: the certificate chain was not checked")
		return
	}
	// Judge the chain at a time inside every certificate's validity, so
	// that expiry stays a finding and trust is decided by signatures alone.
	at := now
	if at.Before(lo) {
		at = lo
	}
	if at.After(hi) {
		at = hi
	}
	roots := x509.NewCertPool()
	for _, c := range v.opt.Roots {
		if c != nil {
			roots.AddCert(c)
		}
	}
	inter := x509.NewCertPool()
	for _, c := range cf.Chain[1:] {
		inter.AddCert(c)
	}
	chains, err := cf.Chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}})
	if err != nil {
		v.problem(fileErr(v.certName, ErrUntrusted, "%v", err))
		if si.SelfSigned {
			v.finding(FindingSelfSigned, v.certName, "the certificate %q is self-signed", si.Subject)
		}
		return
	}
	si.Trusted = true
	c := chains[0]
	si.TrustedRoot = c[len(c)-1].Subject.String()
}
