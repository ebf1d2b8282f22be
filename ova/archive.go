package ova

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// OpenOptions bound the work Open does. Nil means defaults.
type OpenOptions struct {
	// MaxEntries caps the number of members; 1024 when 0.
	MaxEntries int `json:"maxEntries,omitempty"`
	// ForeignHeaders accepts OVAs other tar writers made (ovftool,
	// VirtualBox, GNU tar, bsdtar), as VerifyOptions.ForeignHeaders does.
	ForeignHeaders bool `json:"foreignHeaders,omitempty"`
}

// Archive is an OVA opened for random access: its member list, descriptor
// and manifest, and readers for each member. It checks formats and names
// but not digests or signatures (Verify does; Extract checks digests).
type Archive struct {
	r          io.ReaderAt
	size       int64
	name       string
	entries    []Entry
	index      map[string]int
	descriptor []byte
	manifest   []ManifestLine
	mfLines    map[string]ManifestLine
	cert       []byte
}

// Open reads the member headers of the OVA in r (size bytes), and its
// descriptor, manifest and certificate file. Every member must be a regular
// file with a plain, unique name: absolute names, directory parts, "..",
// links, devices, directories, PAX and GNU long-name entries are refused
// (ErrUnsafePath, ErrFormat, ErrDuplicate). As Verify does, it accepts only
// the tar headers Write writes (see VerifyOptions.ForeignHeaders for other
// writers'; a refused header is a *HeaderError naming the member and the
// field), zero padding after each member, exactly two zero blocks at the
// end, and a .cert of only its signature line and CERTIFICATE PEM blocks.
// Member data is not read: Open costs one 512-byte header read and one
// padding read per member plus the small files.
func Open(r io.ReaderAt, size int64, o *OpenOptions) (*Archive, error) {
	maxEntries := 1024
	if o != nil && o.MaxEntries > 0 {
		maxEntries = o.MaxEntries
	}
	if size < 0 {
		return nil, fileErr("", ErrInvalid, "negative size")
	}
	foreign := o != nil && o.ForeignHeaders
	a := &Archive{r: r, size: size, index: map[string]int{}}
	var blk [blockSize]byte
	var off, mtime int64
	ended := false
	for off < size {
		if size-off < blockSize {
			return nil, fileErr("", ErrFormat, "archive truncated at offset %d", off)
		}
		if _, err := r.ReadAt(blk[:], off); err != nil {
			return nil, truncated(off, err)
		}
		if isZeroBlock(blk[:]) {
			if err := checkTrailer(r, off, size, foreign); err != nil {
				return nil, err
			}
			ended = true
			break
		}
		h, err := decodeHeader(blk[:], off, foreign)
		if err != nil {
			return nil, err
		}
		if !foreign {
			if err := sameMtime(h, off, &mtime, len(a.entries)); err != nil {
				return nil, err
			}
		}
		if _, dup := a.index[h.Name]; dup {
			return nil, fileErr(h.Name, ErrDuplicate, "second member with this name at offset %d", off)
		}
		if len(a.entries) == maxEntries {
			return nil, fileErr("", ErrTooLarge, "more than %d members", maxEntries)
		}
		if h.Size > size-off-blockSize {
			return nil, fileErr(h.Name, ErrFormat, "archive truncated inside the member")
		}
		if p := padding(h.Size); p > 0 {
			if h.Size+p > size-off-blockSize {
				return nil, fileErr(h.Name, ErrFormat, "archive truncated in the padding after the member")
			}
			pad := blk[:p]
			if _, err := r.ReadAt(pad, off+blockSize+h.Size); err != nil {
				return nil, truncated(off, err)
			}
			if !isZeroBlock(pad) {
				return nil, paddingErr(h.Name, off+blockSize+h.Size)
			}
		}
		a.index[h.Name] = len(a.entries)
		a.entries = append(a.entries, Entry{Name: h.Name, Kind: KindFile, Offset: off, Size: h.Size, Format: h.Format})
		off += blockSize + h.Size + padding(h.Size)
	}
	if len(a.entries) == 0 {
		return nil, fileErr("", ErrFormat, "no members")
	}
	if !ended && !foreign {
		return nil, fileErr("", ErrFormat, "the archive ends without the end-of-archive zero blocks")
	}
	for _, e := range a.entries {
		if strings.HasSuffix(e.Name, ".ovf") && len(e.Name) > len(".ovf") {
			a.name = strings.TrimSuffix(e.Name, ".ovf")
			break
		}
	}
	if a.name == "" {
		return nil, fileErr("", ErrMissing, "no .ovf descriptor")
	}
	var err error
	if a.descriptor, err = a.readSmall(a.name+".ovf", MaxDescriptorSize); err != nil {
		return nil, err
	}
	a.entries[a.index[a.name+".ovf"]].Kind = KindDescriptor
	if i, ok := a.index[a.name+".mf"]; ok {
		a.entries[i].Kind = KindManifest
		mf, err := a.readSmall(a.name+".mf", MaxManifestSize)
		if err != nil {
			return nil, err
		}
		if a.manifest, err = ParseManifest(mf); err != nil {
			return nil, err
		}
		a.mfLines = map[string]ManifestLine{}
		for _, l := range a.manifest {
			a.mfLines[l.Name] = l
			if i, ok := a.index[l.Name]; ok {
				a.entries[i].Algorithm, a.entries[i].Digest = l.Algorithm, l.Digest
			}
		}
	}
	if i, ok := a.index[a.name+".cert"]; ok {
		a.entries[i].Kind = KindCertificate
		if a.cert, err = a.readSmall(a.name+".cert", MaxManifestSize); err != nil {
			return nil, err
		}
		if _, err := parseCertFile(a.name+".cert", a.cert); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func (a *Archive) readSmall(name string, limit int64) ([]byte, error) {
	e := a.entries[a.index[name]]
	if e.Size > limit {
		return nil, fileErr(name, ErrTooLarge, "%d bytes (limit %d)", e.Size, limit)
	}
	b := make([]byte, e.Size)
	if _, err := a.r.ReadAt(b, e.Offset+blockSize); err != nil && !(err == io.EOF && e.Size == 0) {
		return nil, truncated(e.Offset, err)
	}
	return b, nil
}

// Name is the base name: the descriptor is <Name>.ovf.
func (a *Archive) Name() string { return a.name }

// Entries lists the members in archive order; Digest holds the manifest's
// digest for members it lists.
func (a *Archive) Entries() []Entry { return append([]Entry(nil), a.entries...) }

// Descriptor returns the .ovf bytes.
func (a *Archive) Descriptor() []byte { return append([]byte(nil), a.descriptor...) }

// Manifest returns the parsed .mf lines, nil when there is no manifest.
func (a *Archive) Manifest() []ManifestLine { return append([]ManifestLine(nil), a.manifest...) }

// Certificate returns the .cert bytes, nil when there is none.
func (a *Archive) Certificate() []byte { return append([]byte(nil), a.cert...) }

// Member returns a reader of the named member's data.
func (a *Archive) Member(name string) (*io.SectionReader, error) {
	i, ok := a.index[name]
	if !ok {
		return nil, fileErr(name, ErrMissing, "no such member")
	}
	e := a.entries[i]
	return io.NewSectionReader(a.r, e.Offset+blockSize, e.Size), nil
}

// ExtractOptions control Extract. Nil means defaults.
type ExtractOptions struct {
	// MaxSize caps the total bytes written; 1 TiB when 0.
	MaxSize int64 `json:"maxSize,omitempty"`
	// Progress, when set, is called synchronously as members are written.
	Progress func(Event) `json:"-"`
}

// Extract writes every member into dir (created if needed) and checks each
// file against its manifest digest. It refuses, before writing anything, an
// archive without manifest and members the manifest does not list (other
// than the .mf and .cert), and totals over MaxSize. Files are created
// through an os.Root confined to dir: each member is written under a
// temporary name (created exclusively), checked for size and digest, and
// only then renamed to its own name, which must not exist yet (existing
// files are never overwritten). When any member fails (ErrDigestMismatch,
// ErrFormat, an existing file, cancellation), Extract removes its temporary
// file and every file this call already placed, so dir is left as it was.
// Unsafe names, links, devices and headers other than Write's (unless
// opened with ForeignHeaders) never get this far: Open refuses them.
func (a *Archive) Extract(ctx context.Context, dir string, o *ExtractOptions) error {
	var opt ExtractOptions
	if o != nil {
		opt = *o
	}
	if opt.MaxSize <= 0 {
		opt.MaxSize = 1 << 40
	}
	if a.mfLines == nil {
		return fileErr(a.name+".mf", ErrMissing, "refusing to extract an archive without a manifest")
	}
	var total int64
	for _, e := range a.entries {
		if err := checkName(e.Name); err != nil {
			return fileErr(e.Name, ErrUnsafePath, "%v", err)
		}
		if _, ok := a.mfLines[e.Name]; !ok && e.Kind != KindManifest && e.Kind != KindCertificate {
			return fileErr(e.Name, ErrUnlisted, "the manifest does not list this member")
		}
		total += e.Size
		if total > opt.MaxSize {
			return fileErr(e.Name, ErrTooLarge, "extraction would exceed %d bytes", opt.MaxSize)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	buf := make([]byte, copyBufSize)
	placed := make([]string, 0, len(a.entries))
	for i, e := range a.entries {
		if err := a.extractOne(ctx, root, i, e, buf, opt.Progress); err != nil {
			for j := len(placed) - 1; j >= 0; j-- {
				_ = root.Remove(placed[j])
			}
			return err
		}
		placed = append(placed, e.Name)
	}
	return nil
}

// createTemp creates, exclusively, a temporary file in root for member i.
func createTemp(root *os.Root, i int) (*os.File, string, error) {
	for n := 0; ; n++ {
		name := fmt.Sprintf(".ova-extract-%d-%d.tmp", i, n)
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			return f, name, nil
		}
		if !errors.Is(err, fs.ErrExist) || n >= 1000 {
			return nil, "", err
		}
	}
}

// extractOne writes member e (index i) to a temporary file, checks its size
// and digest, and renames it to e.Name, which must not exist. On failure
// the temporary file is removed and nothing is left under e.Name.
func (a *Archive) extractOne(ctx context.Context, root *os.Root, i int, e Entry, buf []byte, progress func(Event)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := root.Lstat(e.Name); err == nil {
		return &fs.PathError{Op: "extract", Path: e.Name, Err: fs.ErrExist}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, tmp, err := createTemp(root, i)
	if err != nil {
		return err
	}
	var dst io.Writer = f
	l, check := a.mfLines[e.Name]
	hs := l.Algorithm.New()
	if check {
		dst = io.MultiWriter(f, hs)
	}
	src := io.NewSectionReader(a.r, e.Offset+blockSize, e.Size)
	n, err := pump(ctx, dst, src, e.Size, buf, func(done int64) {
		if progress != nil {
			progress(Event{Stage: StageExtract, File: e.Name, Done: done, Total: e.Size})
		}
	})
	if err == nil && n != e.Size {
		err = io.ErrUnexpectedEOF
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && check {
		if got := hex.EncodeToString(hs.Sum(nil)); got != l.Digest {
			err = &DigestError{File: e.Name, Algorithm: l.Algorithm, Want: l.Digest, Got: got}
		}
	}
	if err == nil {
		// Rename replaces an existing file, so look again right before it:
		// the destination must still be free.
		if _, serr := root.Lstat(e.Name); serr == nil {
			err = &fs.PathError{Op: "extract", Path: e.Name, Err: fs.ErrExist}
		} else if !errors.Is(serr, fs.ErrNotExist) {
			err = serr
		} else {
			err = root.Rename(tmp, e.Name)
		}
	}
	if err != nil {
		_ = root.Remove(tmp)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fileErr(e.Name, ErrFormat, "archive truncated inside the member")
		}
		return err
	}
	return nil
}
