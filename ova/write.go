package ova

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"time"

	"github.com/fogkit/fogkit/sign"
)

// File is one member after the descriptor, manifest and certificate:
// usually a disk. Open is called once when Size and Digest are both known
// (or when Options.ManifestLast is set), and twice otherwise: a first pass
// hashes and measures the file, a second writes it, so no temporary copy is
// ever made. Open must return the same bytes every time: the second pass
// hashes again and Write fails with a DigestError (ErrDigestMismatch)
// naming the file when its bytes changed between the passes.
type File struct {
	// Name is the member name and the descriptor's References/File href:
	// a plain file name of at most 100 bytes.
	Name string `json:"name"`
	// Size is the exact byte count. It may be 0 when Digest is nil and the
	// writer hashes in a first pass (the pass measures it); otherwise it
	// is what the tar header says, and a reader that delivers a different
	// count fails with ErrSizeMismatch.
	Size int64 `json:"size"`
	// Digest is the file's digest in Options.Digest's algorithm when the
	// producer already computed it (the vmdk writer reports SHA-256); nil
	// makes the writer compute it. A given Digest is written to the
	// manifest as is and the bytes are copied without hashing them again:
	// the caller vouches that it matches what Open returns.
	Digest []byte `json:"digest,omitempty"`
	// Open returns the file's bytes from the start.
	Open func() (io.ReadCloser, error) `json:"-"`
}

// BytesFile returns a File holding data.
func BytesFile(name string, data []byte) File {
	return File{Name: name, Size: int64(len(data)), Open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}}
}

// PathFile returns a File read from the file at path (its size taken now);
// digest may be nil.
func PathFile(name, path string, digest []byte) (File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return File{}, err
	}
	if !st.Mode().IsRegular() {
		return File{}, fileErr(path, ErrInvalid, "not a regular file")
	}
	return File{Name: name, Size: st.Size(), Digest: digest, Open: func() (io.ReadCloser, error) {
		return os.Open(path)
	}}, nil
}

// ReaderFile returns a File that can be opened only once: use it with a
// known digest, or with Options.ManifestLast, for data that streams past
// exactly once. A second Open fails with ErrInvalid.
func ReaderFile(name string, size int64, digest []byte, r io.Reader) File {
	used := false
	return File{Name: name, Size: size, Digest: digest, Open: func() (io.ReadCloser, error) {
		if used {
			return nil, fileErr(name, ErrInvalid, "a ReaderFile can be opened only once (give its digest or set ManifestLast)")
		}
		used = true
		return io.NopCloser(r), nil
	}}
}

// Options control Write. Nil means all defaults; Write never modifies them.
type Options struct {
	// Name is the base name of the descriptor, manifest and certificate
	// members (<Name>.ovf, <Name>.mf, <Name>.cert); "appliance" when empty.
	Name string `json:"name,omitempty"`
	// ModTime is every member's modification time; the zero time means
	// Unix 0 (rootfs.SourceDateEpoch reads SOURCE_DATE_EPOCH).
	ModTime time.Time `json:"modTime,omitzero"`
	// Digest is the manifest algorithm; SHA256 when empty. The .cert line
	// uses the same algorithm.
	Digest Digest `json:"digest,omitempty"`
	// Signer signs the manifest into <Name>.cert when set. It must be an
	// X.509 signer (sign.Algorithm X509) with its certificates available:
	// a *sign.X509Signer, which wraps any crypto.Signer, or any signer with
	// a Certificates() method, or Certificates below. With SHA1 or SHA512
	// manifests the signer must also expose its crypto.Signer (a
	// *sign.X509Signer does).
	Signer sign.Signer `json:"-"`
	// Certificates overrides the chain written into the .cert (leaf first).
	Certificates []*x509.Certificate `json:"-"`
	// ManifestLast writes the .mf and .cert after the files instead of
	// right after the descriptor (OVF 2 allows both places), so every file
	// is read exactly once and hashed while it is written; File.Size must
	// then be known for every file.
	ManifestLast bool `json:"manifestLast,omitempty"`
	// NoDescriptorCheck skips checking that the descriptor's References
	// list exactly the files, in order, with matching ovf:size, and that
	// each VMDK agrees with its Disk (ErrDiskMismatch). Leave it off unless
	// the descriptor is not one the ovf package parses.
	NoDescriptorCheck bool `json:"noDescriptorCheck,omitempty"`
	// Progress, when set, is called synchronously as work advances.
	Progress func(Event) `json:"-"`
}

// Stage names what an Event reports on.
type Stage string

const (
	StageHash    Stage = "hash"    // Write's first pass over a file without a digest
	StageWrite   Stage = "write"   // Write copying a member into the archive
	StageVerify  Stage = "verify"  // Verify reading a member
	StageExtract Stage = "extract" // Extract writing a member to disk
)

// Event is one progress report: Done of Total bytes of File in Stage.
// Every member gets an event with Done 0 and one with Done == Total. Total
// is -1 while a first hashing pass does not know the size yet.
type Event struct {
	Stage Stage  `json:"stage"`
	File  string `json:"file,omitempty"`
	Done  int64  `json:"done"`
	Total int64  `json:"total"`
}

// Kind is a member's role in an OVA.
type Kind string

const (
	KindDescriptor  Kind = "descriptor"
	KindManifest    Kind = "manifest"
	KindCertificate Kind = "certificate"
	KindFile        Kind = "file"
)

// Entry describes one member of an archive.
type Entry struct {
	Name   string `json:"name"`
	Kind   Kind   `json:"kind"`
	Offset int64  `json:"offset"` // of the member's header; data starts 512 bytes later
	Size   int64  `json:"size"`
	Format Format `json:"format"`
	// Algorithm and Digest are the member's digest as computed (Write,
	// Verify) or as the manifest states it (Open). Empty for the .mf and
	// .cert.
	Algorithm Digest `json:"algorithm,omitempty"`
	Digest    string `json:"digest,omitempty"`
}

// Result is what Write produced.
type Result struct {
	Size        int64   `json:"size"`                  // bytes written
	Entries     []Entry `json:"entries"`               // in archive order
	Manifest    []byte  `json:"manifest"`              // the .mf bytes
	Certificate []byte  `json:"certificate,omitempty"` // the .cert bytes, nil when unsigned
}

const (
	copyBufSize = 1 << 20
	copyChunk   = 16 << 20 // context checks and progress events per chunk
)

type writeState struct {
	ctx   context.Context
	w     io.Writer
	opt   Options
	off   int64
	mtime int64
	hdr   [blockSize]byte
	buf   []byte
	res   *Result
}

// Write writes an OVA to w: the descriptor as <Name>.ovf, then <Name>.mf
// and, when signing, <Name>.cert, then files in the given order, which must
// be the descriptor's References order (checked, with ovf:size, unless
// NoDescriptorCheck). Headers are USTAR (GNU with a base-256 size for
// members of 8 GiB and more, never PAX) with mode 0644, uid/gid 0 and
// Options.ModTime; the archive ends with two zero blocks. Output depends
// only on the inputs: RSA signatures are deterministic, so two runs give
// the same bytes.
//
// Everything that can be checked before writing (names, sizes, digests of
// the first pass, descriptor References, signer, VMDKs) is checked before
// the first byte goes out. Every file the descriptor's DiskSection gives a
// VMDK format must start with a sparse extent header whose descriptor
// agrees with the OVF: one extent named like the file, extent sectors ×
// 512 equal to the Disk's capacity × allocation units, and a
// ddb.adapterType that suits the controller the disk hangs under;
// otherwise Write returns a *DiskMismatchError (ErrDiskMismatch). Only the
// first 64 KiB of a disk are read for this: during the hashing pass when
// there is one, otherwise by opening the file before writing and keeping
// it open for the write pass (Open is still called once). ctx is checked between chunks of every file.
func Write(ctx context.Context, w io.Writer, descriptor []byte, files []File, o *Options) (*Result, error) {
	var opt Options
	if o != nil {
		opt = *o
	}
	if opt.Name == "" {
		opt.Name = "appliance"
	}
	if opt.Digest == "" {
		opt.Digest = SHA256
	}
	if !opt.Digest.Valid() {
		return nil, fileErr("", ErrInvalid, "manifest digest %q (want SHA1, SHA256 or SHA512)", opt.Digest)
	}
	ovfName, mfName, certName := opt.Name+".ovf", opt.Name+".mf", opt.Name+".cert"
	if err := checkName(certName); err != nil {
		return nil, fileErr(opt.Name, ErrInvalid, "base name: %v", err)
	}
	mtime := int64(0)
	if !opt.ModTime.IsZero() {
		mtime = opt.ModTime.Unix()
	}
	if mtime < 0 || mtime > maxOctalSize {
		return nil, fileErr("", ErrInvalid, "ModTime %s does not fit a USTAR header", opt.ModTime)
	}
	if len(descriptor) > MaxDescriptorSize {
		return nil, fileErr(ovfName, ErrTooLarge, "descriptor of %d bytes", len(descriptor))
	}
	seen := map[string]bool{ovfName: true, mfName: true, certName: true}
	for _, f := range files {
		if err := checkName(f.Name); err != nil {
			return nil, fileErr(f.Name, ErrInvalid, "%v", err)
		}
		if seen[f.Name] {
			return nil, fileErr(f.Name, ErrDuplicate, "file name used twice (or clashes with the descriptor, manifest or certificate)")
		}
		seen[f.Name] = true
		if f.Open == nil {
			return nil, fileErr(f.Name, ErrInvalid, "no Open function")
		}
		if f.Size < 0 || f.Size > maxMemberSize {
			return nil, fileErr(f.Name, ErrInvalid, "size %d", f.Size)
		}
		if f.Digest != nil && len(f.Digest) != opt.Digest.Size() {
			return nil, fileErr(f.Name, ErrInvalid, "%s digest of %d bytes, want %d", opt.Digest, len(f.Digest), opt.Digest.Size())
		}
	}
	var refs []reference
	if !opt.NoDescriptorCheck {
		var err error
		if refs, err = descriptorReferences(descriptor); err != nil {
			return nil, err
		}
		if err := matchReferences(refs, files); err != nil {
			return nil, err
		}
	}
	var chain []*x509.Certificate
	if opt.Signer != nil {
		var err error
		if chain, err = signerChain(&opt); err != nil {
			return nil, err
		}
	}

	st := &writeState{ctx: ctx, w: w, opt: opt, mtime: mtime, buf: make([]byte, copyBufSize), res: &Result{}}
	sizes := make([]int64, len(files))
	digests := make([][]byte, len(files))
	// Files already opened to check a VMDK's head, handed to the write
	// pass so that each is opened once when it has a single pass.
	pre := make([]io.ReadCloser, len(files))
	defer func() {
		for _, rc := range pre {
			if rc != nil {
				rc.Close()
			}
		}
	}()
	for i, f := range files {
		sizes[i], digests[i] = f.Size, f.Digest
		var disk *diskExpect
		if refs != nil {
			disk = refs[i].Disk
		}
		if f.Digest != nil || opt.ManifestLast {
			if disk != nil {
				rc, err := peekDisk(f, disk)
				if err != nil {
					return nil, err
				}
				pre[i] = rc
			}
			continue
		}
		var head *headBuffer
		if disk != nil {
			head = &headBuffer{}
		}
		n, sum, err := st.hashFile(f, head)
		if err != nil {
			return nil, err
		}
		if f.Size != 0 && n != f.Size {
			return nil, fileErr(f.Name, ErrSizeMismatch, "declared %d bytes, read %d", f.Size, n)
		}
		if disk != nil {
			if err := checkDisk(f.Name, disk, head.b); err != nil {
				return nil, err
			}
		}
		sizes[i], digests[i] = n, sum
	}
	if refs != nil {
		for i, r := range refs {
			if r.Size >= 0 && r.Size != sizes[i] {
				return nil, fileErr(r.Href, ErrSizeMismatch, "descriptor ovf:size %d, file has %d bytes", r.Size, sizes[i])
			}
		}
	}

	ovfSum := opt.Digest.New()
	ovfSum.Write(descriptor)
	if err := st.writeBytes(ovfName, KindDescriptor, descriptor, ovfSum.Sum(nil)); err != nil {
		return nil, err
	}
	if !opt.ManifestLast {
		if err := st.writeManifest(ovfName, ovfSum.Sum(nil), files, digests, chain); err != nil {
			return nil, err
		}
	}
	for i, f := range files {
		// A file the caller gave no digest for is hashed while it is
		// written: with ManifestLast that is its only pass; otherwise the
		// first pass already put its digest in the manifest, and a source
		// that changed since then must not yield an archive whose manifest
		// no longer matches it. A caller-supplied Digest is trusted as is
		// (the caller vouches for it), so that path copies without hashing.
		rc := pre[i]
		pre[i] = nil // writeFile closes it
		sum, err := st.writeFile(f, rc, sizes[i], f.Digest == nil)
		if err != nil {
			return nil, err
		}
		if digests[i] == nil {
			digests[i] = sum
		} else if f.Digest == nil && !bytes.Equal(sum, digests[i]) {
			return nil, &DigestError{File: f.Name, Algorithm: opt.Digest, Want: hex.EncodeToString(digests[i]), Got: hex.EncodeToString(sum)}
		}
		st.res.Entries[len(st.res.Entries)-1].Digest = hex.EncodeToString(digests[i])
	}
	if opt.ManifestLast {
		if err := st.writeManifest(ovfName, ovfSum.Sum(nil), files, digests, chain); err != nil {
			return nil, err
		}
	}
	if _, err := w.Write(make([]byte, 2*blockSize)); err != nil {
		return nil, err
	}
	st.off += 2 * blockSize
	st.res.Size = st.off
	return st.res, nil
}

// matchReferences checks that files are exactly the References, in order.
func matchReferences(refs []reference, files []File) error {
	inRefs := map[string]bool{}
	for _, r := range refs {
		inRefs[r.Href] = true
	}
	inFiles := map[string]bool{}
	for _, f := range files {
		inFiles[f.Name] = true
		if !inRefs[f.Name] {
			return fileErr(f.Name, ErrUnlisted, "the descriptor's References do not list this file")
		}
	}
	for _, r := range refs {
		if !inFiles[r.Href] {
			return fileErr(r.Href, ErrMissing, "the descriptor references this file but it was not given")
		}
	}
	for i, r := range refs {
		if files[i].Name != r.Href {
			return fileErr(files[i].Name, ErrOrder, "files must follow the References order (position %d is %s)", i+1, r.Href)
		}
	}
	return nil
}

// signerChain returns the certificates to write for opt.Signer.
func signerChain(opt *Options) ([]*x509.Certificate, error) {
	s := opt.Signer
	if s.Algorithm() != sign.X509 {
		return nil, fileErr("", ErrInvalid, "OVA signing needs an X.509 signer, not %s", s.Algorithm())
	}
	// X.509 signatures carry no purpose prefix (the .cert format fixes the
	// signed bytes), so the key's purpose is the only binding: a license or
	// update key must never sign an OVA.
	if s.Purpose() != sign.PurposeOVA {
		return nil, fileErr("", ErrInvalid, "the signer's key is for %q, not %q", s.Purpose(), sign.PurposeOVA)
	}
	chain := opt.Certificates
	if len(chain) == 0 {
		if c, ok := s.(interface{ Certificates() []*x509.Certificate }); ok {
			chain = c.Certificates()
		}
	}
	if len(chain) == 0 || chain[0] == nil {
		return nil, fileErr("", ErrInvalid, "the signer has no certificate (set Options.Certificates)")
	}
	if opt.Digest != SHA256 {
		if _, ok := s.(interface{ Signer() crypto.Signer }); !ok {
			return nil, fileErr("", ErrUnsupported, "signing a %s manifest needs a signer exposing its crypto.Signer", opt.Digest)
		}
	}
	return chain, nil
}

func (st *writeState) event(stage Stage, name string, done, total int64) {
	if st.opt.Progress != nil {
		st.opt.Progress(Event{Stage: stage, File: name, Done: done, Total: total})
	}
}

// hashFile is the first pass: it reads f to the end, returning its size
// and digest.
func (st *writeState) hashFile(f File, head *headBuffer) (int64, []byte, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, nil, &FileError{File: f.Name, Err: ErrInvalid, Detail: "open: " + err.Error()}
	}
	defer rc.Close()
	h := st.opt.Digest.New()
	var dst io.Writer = h
	if head != nil {
		dst = io.MultiWriter(h, head)
	}
	total := f.Size
	if total == 0 {
		total = -1 // not known until the pass ends
	}
	n, err := pump(st.ctx, dst, rc, -1, st.buf, func(done int64) { st.event(StageHash, f.Name, done, total) })
	if err == nil && total < 0 {
		st.event(StageHash, f.Name, n, n)
	}
	if err != nil {
		return 0, nil, wrapRead(f.Name, err)
	}
	return n, h.Sum(nil), nil
}

func wrapRead(name string, err error) error {
	if err == context.Canceled || err == context.DeadlineExceeded {
		return err
	}
	return fmt.Errorf("ova: %s: %w", name, err)
}

// pump copies src to dst in chunks (limit < 0: to EOF), checking ctx and
// reporting progress between chunks. When dst implements io.ReaderFrom
// the copy can use the kernel's file-to-file paths.
func pump(ctx context.Context, dst io.Writer, src io.Reader, limit int64, buf []byte, progress func(int64)) (int64, error) {
	var done int64
	progress(0)
	for limit < 0 || done < limit {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		chunk := int64(copyChunk)
		if limit >= 0 && limit-done < chunk {
			chunk = limit - done
		}
		n, err := io.CopyBuffer(dst, io.LimitReader(src, chunk), buf)
		done += n
		if err != nil {
			return done, err
		}
		if n < chunk {
			break // EOF
		}
		progress(done)
	}
	progress(done)
	return done, nil
}

func (st *writeState) header(name string, kind Kind, size int64) error {
	if err := encodeHeader(&st.hdr, name, size, st.mtime); err != nil {
		return fileErr(name, ErrInvalid, "%v", err)
	}
	format := FormatUSTAR
	if size > maxOctalSize {
		format = FormatGNU
	}
	st.res.Entries = append(st.res.Entries, Entry{Name: name, Kind: kind, Offset: st.off, Size: size, Format: format})
	if _, err := st.w.Write(st.hdr[:]); err != nil {
		return err
	}
	st.off += blockSize
	return nil
}

func (st *writeState) pad(size int64) error {
	if p := padding(size); p > 0 {
		if _, err := st.w.Write(zeroBlock[:p]); err != nil {
			return err
		}
		st.off += p
	}
	return nil
}

func (st *writeState) writeBytes(name string, kind Kind, data, digest []byte) error {
	if err := st.ctx.Err(); err != nil {
		return err
	}
	st.event(StageWrite, name, 0, int64(len(data)))
	if err := st.header(name, kind, int64(len(data))); err != nil {
		return err
	}
	if digest != nil {
		e := &st.res.Entries[len(st.res.Entries)-1]
		e.Algorithm, e.Digest = st.opt.Digest, hex.EncodeToString(digest)
	}
	if _, err := st.w.Write(data); err != nil {
		return err
	}
	st.off += int64(len(data))
	st.event(StageWrite, name, int64(len(data)), int64(len(data)))
	return st.pad(int64(len(data)))
}

// peekDisk opens f, reads the head of its VMDK and checks it against the
// descriptor. It returns the file positioned at its start again (the head
// replayed from memory), for the write pass.
func peekDisk(f File, disk *diskExpect) (io.ReadCloser, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, &FileError{File: f.Name, Err: ErrInvalid, Detail: "open: " + err.Error()}
	}
	head := make([]byte, min(int64(vmdkHeadMax), max(f.Size, vmdkSector)))
	n, err := io.ReadFull(rc, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		rc.Close()
		return nil, wrapRead(f.Name, err)
	}
	head = head[:n]
	if err := checkDisk(f.Name, disk, head); err != nil {
		rc.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), rc), rc}, nil
}

// writeFile writes one file member of exactly size bytes, hashing it when
// hashing is set. rc, when not nil, is the file already opened.
func (st *writeState) writeFile(f File, rc io.ReadCloser, size int64, hashing bool) ([]byte, error) {
	if rc == nil {
		if err := st.ctx.Err(); err != nil {
			return nil, err
		}
		var err error
		if rc, err = f.Open(); err != nil {
			return nil, &FileError{File: f.Name, Err: ErrInvalid, Detail: "open: " + err.Error()}
		}
	}
	defer rc.Close()
	if err := st.ctx.Err(); err != nil {
		return nil, err
	}
	if err := st.header(f.Name, KindFile, size); err != nil {
		return nil, err
	}
	st.res.Entries[len(st.res.Entries)-1].Algorithm = st.opt.Digest
	dst := st.w
	var h hash.Hash
	if hashing {
		h = st.opt.Digest.New()
		dst = io.MultiWriter(st.w, h)
	}
	n, err := pump(st.ctx, dst, rc, size, st.buf, func(done int64) { st.event(StageWrite, f.Name, done, size) })
	st.off += n
	if err != nil {
		return nil, wrapRead(f.Name, err)
	}
	if n != size {
		return nil, fileErr(f.Name, ErrSizeMismatch, "declared %d bytes, reader ended after %d", size, n)
	}
	var one [1]byte
	if m, _ := io.ReadFull(rc, one[:]); m > 0 {
		return nil, fileErr(f.Name, ErrSizeMismatch, "reader has more than the declared %d bytes", size)
	}
	if err := st.pad(size); err != nil {
		return nil, err
	}
	if h != nil {
		return h.Sum(nil), nil
	}
	return nil, nil
}

// writeManifest writes the .mf and, when signing, the .cert.
func (st *writeState) writeManifest(ovfName string, ovfSum []byte, files []File, digests [][]byte, chain []*x509.Certificate) error {
	lines := make([]ManifestLine, 0, len(files)+1)
	lines = append(lines, ManifestLine{Algorithm: st.opt.Digest, Name: ovfName, Digest: hex.EncodeToString(ovfSum)})
	for i, f := range files {
		lines = append(lines, ManifestLine{Algorithm: st.opt.Digest, Name: f.Name, Digest: hex.EncodeToString(digests[i])})
	}
	mf := FormatManifest(lines)
	mfName := st.opt.Name + ".mf"
	st.res.Manifest = mf
	if err := st.writeBytes(mfName, KindManifest, mf, nil); err != nil {
		return err
	}
	if st.opt.Signer == nil {
		return nil
	}
	cert, err := signManifest(st.ctx, st.opt.Signer, st.opt.Digest, mfName, mf, chain)
	if err != nil {
		return err
	}
	st.res.Certificate = cert
	return st.writeBytes(st.opt.Name+".cert", KindCertificate, cert, nil)
}
