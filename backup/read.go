package backup

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/fogkit/fogkit/sign"
)

// Verify reads a whole backup and checks it without restoring anything:
// decryption with its integrity check, every member against the manifest
// (order, names, types, modes, owners, sizes, SHA-256) and the header
// against the manifest. It returns the manifest once everything matched.
func Verify(ctx context.Context, r io.Reader, o *ReadOptions) (*Manifest, error) {
	if o == nil {
		return nil, fmt.Errorf("%w: nil options", ErrNoKey)
	}
	return readBackup(ctx, r, o, &reader{})
}

// sink receives the checked members of a backup as they are read; Verify
// has none, Restore writes them into its staging directory.
type sink interface {
	// header is called once the header is read, before any other member.
	header(*Manifest) error
	dir(*Entry) error
	symlink(*Entry) error
	// file returns where a file's (or, with stream set, a stream's) bytes
	// go; close is called after the last byte.
	file(e *Entry, stream bool) (io.WriteCloser, error)
}

type reader struct {
	maxSize  int64
	maxFiles int
	progress func(Event)
	sink     sink
}

// readBackup decrypts r and reads the plaintext through rd.
func readBackup(ctx context.Context, r io.Reader, o *ReadOptions, rd *reader) (*Manifest, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if (len(o.Passphrase) > 0) == (o.Key != nil) {
		return nil, fmt.Errorf("%w: give exactly one of a passphrase or a key", ErrNoKey)
	}
	rd.maxSize, rd.maxFiles, rd.progress = o.MaxSize, o.MaxFiles, o.Progress
	if rd.maxSize <= 0 {
		rd.maxSize = DefaultMaxSize
	}
	if rd.maxFiles <= 0 {
		rd.maxFiles = DefaultMaxFiles
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := newBufPipe()
	done := make(chan error, 1)
	go func() {
		// The compressed plaintext is never much bigger than the tar.
		do := &sign.DecryptOptions{MaxSize: rd.maxSize + rd.maxSize/64 + 16<<20}
		var err error
		if len(o.Passphrase) > 0 {
			err = sign.DecryptPassphrase(ctx, p, r, o.Passphrase, do)
		} else {
			err = sign.Decrypt(ctx, p, r, o.Key, do)
		}
		if err != nil {
			err = decryptErr(err)
		}
		p.CloseWithError(err)
		done <- err
	}()
	m, err := rd.read(ctx, p)
	if err != nil {
		p.CloseRead(errReadStopped)
		cancel()
		<-done
		return nil, err
	}
	// rd.read consumed the plaintext to its EOF, which the pipe gives only
	// after the decryption returned nil; wait for it to be sure.
	if derr := <-done; derr != nil {
		return nil, derr
	}
	return m, nil
}

// errReadStopped ends the decryption once reading failed.
var errReadStopped = errors.New("backup: reading stopped")

// decryptErr maps the sign package's errors to this package's.
func decryptErr(err error) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, io.ErrClosedPipe):
		return err
	case errors.Is(err, sign.ErrTooLarge):
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	// Wrong key or passphrase, a damaged or unsupported message.
	return fmt.Errorf("%w: %w", ErrDecrypt, err)
}

// Compression magic numbers.
var (
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
	gzipMagic = []byte{0x1f, 0x8b}
)

// read reads the plaintext backup (compressed tar) to its end.
func (rd *reader) read(ctx context.Context, plain io.Reader) (*Manifest, error) {
	br := bufio.NewReaderSize(plain, 4<<10)
	head, _ := br.Peek(4)
	var dec io.Reader = br
	var finish func() error
	switch {
	case bytes.HasPrefix(head, zstdMagic):
		z, err := zstd.NewReader(br, zstd.WithDecoderMaxWindow(64<<20), zstd.WithDecoderMaxMemory(256<<20))
		if err != nil {
			return nil, err
		}
		defer z.Close()
		dec = z
	case bytes.HasPrefix(head, gzipMagic):
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrMalformed, err)
		}
		z.Multistream(false)
		dec = z
		finish = func() error {
			if _, err := br.ReadByte(); err != io.EOF {
				return fmt.Errorf("%w: data after the gzip stream", ErrMalformed)
			}
			return nil
		}
	}
	if dec != io.Reader(br) {
		dec = decompressErrs{dec}
	}
	lim := &capReader{r: ctxReader{ctx, dec}, n: rd.maxSize}
	st := &readState{rd: rd, lim: lim, tr: tar.NewReader(lim), seen: map[string]string{}}
	m, err := st.members(ctx)
	if err != nil {
		return nil, err
	}
	// Nothing may follow the tar's end: not in the tar stream, not in the
	// compressed stream.
	if n, err := io.Copy(io.Discard, io.LimitReader(lim, 1<<20)); err != nil {
		return nil, mapReadErr(err, "after the archive")
	} else if n > 0 {
		return nil, fmt.Errorf("%w: %d bytes after the archive's end", ErrMalformed, n)
	}
	if finish != nil {
		if err := finish(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// decompressErrs types the decompressor's own errors as ErrMalformed
// (damaged compressed data) while passing through the decryption's.
type decompressErrs struct{ r io.Reader }

func (d decompressErrs) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrDecrypt) &&
		!errors.Is(err, ErrTooLarge) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w: decompressing: %w", ErrMalformed, err)
	}
	return n, err
}

// capReader fails with ErrTooLarge past n bytes.
type capReader struct {
	r    io.Reader
	n    int64
	read int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.read >= c.n {
		var b [1]byte
		if n, err := c.r.Read(b[:]); n > 0 {
			return 0, fmt.Errorf("%w: backup over %d bytes", ErrTooLarge, c.n)
		} else if err != nil {
			return 0, err
		}
		return 0, nil
	}
	if int64(len(p)) > c.n-c.read {
		p = p[:c.n-c.read]
	}
	n, err := c.r.Read(p)
	c.read += int64(n)
	return n, err
}

// mapReadErr types an error from reading the tar.
func mapReadErr(err error, where string) error {
	switch {
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrDecrypt), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("%w: %s: %v", ErrTruncated, where, err)
	case errors.Is(err, tar.ErrHeader), errors.Is(err, tar.ErrFieldTooLong), errors.Is(err, tar.ErrInsecurePath):
		return fmt.Errorf("%w: %s: %v", ErrMalformed, where, err)
	}
	return err
}

// readState is one pass over the members.
type readState struct {
	rd   *reader
	lim  *capReader
	tr   *tar.Reader
	m    *Manifest
	hsum string
	// Observed entries, to compare with the manifest at the end.
	files, streams []Entry
	// seen maps every path to its type, for duplicates and parents.
	seen map[string]string
	buf  []byte
}

func (s *readState) event(file string) {
	if s.rd.progress != nil {
		s.rd.progress(Event{Stage: "read", File: file, Done: s.lim.read})
	}
}

func (s *readState) next() (*tar.Header, error) {
	h, err := s.tr.Next()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: archive ends before the manifest", ErrTruncated)
	}
	if err != nil {
		return nil, mapReadErr(err, "member header")
	}
	return h, nil
}

func (s *readState) members(ctx context.Context) (*Manifest, error) {
	s.buf = make([]byte, 64<<10)
	h, err := s.next()
	if err != nil {
		return nil, err
	}
	if h.Name != headerName {
		return nil, fmt.Errorf("%w: first member is %q, want %s", ErrMalformed, h.Name, headerName)
	}
	hb, err := s.jsonBytes(h, maxHeaderSize)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(hb)
	s.hsum = hex.EncodeToString(sum[:])
	var hd header
	if err := strictJSON(hb, &hd); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, headerName, err)
	}
	if hd.Format != FormatVersion {
		return nil, fmt.Errorf("%w: format %d, this reader knows %d", ErrMalformed, hd.Format, FormatVersion)
	}
	s.m = hd.manifest()
	if s.rd.sink != nil {
		if err := s.rd.sink.header(hd.manifest()); err != nil {
			return nil, err
		}
	}
	inStreams := false
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := s.next()
		if err != nil {
			return nil, err
		}
		if err := checkHeaderFields(h); err != nil {
			return nil, err
		}
		name := h.Name
		switch {
		case name == manifestName:
			return s.manifest(h)
		case strings.HasPrefix(name, dataPrefix) && !inStreams:
			if err := s.data(h); err != nil {
				return nil, err
			}
		case strings.HasPrefix(name, streamPrefix):
			inStreams = true
			if err := s.stream(h); err != nil {
				return nil, err
			}
		case unsafeName(name):
			return nil, pathErr(ErrUnsafePath, name, "absolute path or \"..\" element")
		default:
			return nil, pathErr(ErrMalformed, name, "unexpected member")
		}
		if len(s.files)+len(s.streams) > s.rd.maxFiles {
			return nil, fmt.Errorf("%w: more than %d entries", ErrTooLarge, s.rd.maxFiles)
		}
	}
}

func unsafeName(name string) bool {
	if strings.HasPrefix(name, "/") {
		return true
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return true
		}
	}
	return false
}

// checkHeaderFields refuses tar fields this package never writes.
func checkHeaderFields(h *tar.Header) error {
	if h.Uname != "" || h.Gname != "" || h.Devmajor != 0 || h.Devminor != 0 || len(h.Xattrs) > 0 {
		return pathErr(ErrMalformed, h.Name, "carries owner names, device numbers or extended attributes")
	}
	for k := range h.PAXRecords {
		switch k {
		case "path", "linkpath", "size", "uid", "gid", "mtime":
		default:
			return pathErr(ErrMalformed, h.Name, "carries PAX record %q", k)
		}
	}
	if !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
		return pathErr(ErrMalformed, h.Name, "carries access or change times")
	}
	return nil
}

func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}

// jsonBytes reads a JSON member of at most max bytes.
func (s *readState) jsonBytes(h *tar.Header, max int64) ([]byte, error) {
	if h.Typeflag != tar.TypeReg {
		return nil, pathErr(ErrMalformed, h.Name, "not a regular file")
	}
	if h.Size > max {
		return nil, pathErr(ErrTooLarge, h.Name, "%d bytes, limit %d", h.Size, max)
	}
	// Grown as bytes arrive, not allocated at the declared size.
	b, err := io.ReadAll(io.LimitReader(s.tr, h.Size))
	if err == nil && int64(len(b)) != h.Size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, mapReadErr(err, h.Name)
	}
	return b, nil
}

// entryOf is the entry a tar header describes (digest filled in later).
func entryOf(h *tar.Header, path string) Entry {
	return Entry{Path: path, Mode: uint32(h.Mode), UID: h.Uid, GID: h.Gid, ModTime: h.ModTime.UTC(), Size: h.Size, Target: h.Linkname}
}

func (s *readState) data(h *tar.Header) error {
	name := h.Name
	if unsafeName(name) {
		return pathErr(ErrUnsafePath, name, "absolute path or \"..\" element")
	}
	rel := strings.TrimPrefix(name, dataPrefix)
	isDir := h.Typeflag == tar.TypeDir
	if isDir {
		if rel != "" && !strings.HasSuffix(rel, "/") {
			return pathErr(ErrMalformed, name, "directory name without a trailing slash")
		}
		rel = strings.TrimSuffix(rel, "/")
	}
	if rel == "" {
		if !isDir || len(s.files) > 0 {
			return pathErr(ErrMalformed, name, "the root must be the first data member and a directory")
		}
		rel = "."
	} else {
		if len(s.files) == 0 {
			return pathErr(ErrMalformed, name, "data member before the root directory")
		}
		if !validRel(rel) {
			return pathErr(ErrUnsafePath, name, "not a clean relative path")
		}
		if _, dup := s.seen[rel]; dup {
			return pathErr(ErrUnsafePath, name, "duplicate member")
		}
		parent := "."
		if i := strings.LastIndexByte(rel, '/'); i >= 0 {
			parent = rel[:i]
		}
		switch s.seen[parent] {
		case TypeDir:
		case TypeSymlink:
			return pathErr(ErrUnsafePath, name, "member under a symlink")
		default:
			return pathErr(ErrUnsafePath, name, "parent directory %q not in the backup before it", parent)
		}
	}
	if h.Mode < 0 || h.Mode > 0o7777 {
		return pathErr(ErrMalformed, name, "mode %o", h.Mode)
	}
	e := entryOf(h, rel)
	switch h.Typeflag {
	case tar.TypeDir:
		e.Type = TypeDir
		if h.Size != 0 || h.Linkname != "" {
			return pathErr(ErrMalformed, name, "directory with size or link")
		}
		s.seen[rel] = TypeDir
		if s.rd.sink != nil {
			if err := s.rd.sink.dir(&e); err != nil {
				return err
			}
		}
	case tar.TypeSymlink:
		e.Type = TypeSymlink
		if h.Size != 0 || h.Mode != 0o777 {
			return pathErr(ErrMalformed, name, "symlink with size or mode other than 0777")
		}
		if !targetInside(rel, h.Linkname) {
			return pathErr(ErrUnsafePath, name, "symlink target %q is absolute or leaves the tree", h.Linkname)
		}
		s.seen[rel] = TypeSymlink
		if s.rd.sink != nil {
			if err := s.rd.sink.symlink(&e); err != nil {
				return err
			}
		}
	case tar.TypeReg:
		e.Type = TypeFile
		if h.Linkname != "" {
			return pathErr(ErrMalformed, name, "file with a link name")
		}
		s.seen[rel] = TypeFile
		if err := s.content(h, &e, false); err != nil {
			return err
		}
	case tar.TypeLink:
		return pathErr(ErrUnsafePath, name, "hard link")
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return pathErr(ErrUnsafePath, name, "device or FIFO")
	default:
		return pathErr(ErrMalformed, name, "tar type %q", h.Typeflag)
	}
	s.files = append(s.files, e)
	s.event(rel)
	return nil
}

func (s *readState) stream(h *tar.Header) error {
	nm := strings.TrimPrefix(h.Name, streamPrefix)
	if !validStreamName(nm) {
		return pathErr(ErrUnsafePath, h.Name, "not a valid stream name")
	}
	if h.Typeflag != tar.TypeReg || h.Linkname != "" {
		return pathErr(ErrMalformed, h.Name, "stream is not a regular file")
	}
	for _, e := range s.streams {
		if e.Path == nm {
			return pathErr(ErrUnsafePath, h.Name, "duplicate member")
		}
	}
	if h.Mode < 0 || h.Mode > 0o7777 {
		return pathErr(ErrMalformed, h.Name, "mode %o", h.Mode)
	}
	e := entryOf(h, nm)
	e.Type = TypeFile
	if err := s.content(h, &e, true); err != nil {
		return err
	}
	s.streams = append(s.streams, e)
	s.event(h.Name)
	return nil
}

// content reads a file's or stream's bytes into the sink, computing their
// digest.
func (s *readState) content(h *tar.Header, e *Entry, stream bool) error {
	if h.Size < 0 || h.Size > s.lim.n-s.lim.read {
		return pathErr(ErrTooLarge, h.Name, "declares %d bytes, more than the backup may hold", h.Size)
	}
	var w io.Writer = io.Discard
	var wc io.WriteCloser
	if s.rd.sink != nil {
		var err error
		if wc, err = s.rd.sink.file(e, stream); err != nil {
			return err
		}
		w = wc
	}
	hs := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(hs, w), s.tr, s.buf)
	if err == nil && n != h.Size {
		err = io.ErrUnexpectedEOF
	}
	if wc != nil {
		if cerr := wc.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		var pe *PathError
		if errors.As(err, &pe) {
			return err
		}
		return mapReadErr(err, h.Name)
	}
	e.SHA256 = hex.EncodeToString(hs.Sum(nil))
	return nil
}

// manifest reads the last member and compares it with what was read.
func (s *readState) manifest(h *tar.Header) (*Manifest, error) {
	max := int64(1<<20) + int64(s.rd.maxFiles)*maxEntryJSON
	b, err := s.jsonBytes(h, max)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := strictJSON(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, manifestName, err)
	}
	if _, err := s.tr.Next(); err != io.EOF {
		if err != nil {
			return nil, mapReadErr(err, "after the manifest")
		}
		return nil, fmt.Errorf("%w: member after the manifest", ErrMalformed)
	}
	if len(s.files) == 0 {
		return nil, fmt.Errorf("%w: no data/ root directory", ErrMalformed)
	}
	hd := s.m
	if m.Format != hd.Format || m.Product != hd.Product || m.Version != hd.Version || m.Sequence != hd.Sequence ||
		m.Schema != hd.Schema || !m.Created.Equal(hd.Created) {
		return nil, fmt.Errorf("%w: manifest and header disagree", ErrMalformed)
	}
	if m.HeaderSHA256 != s.hsum {
		return nil, &DigestError{Path: headerName, Want: m.HeaderSHA256, Got: s.hsum}
	}
	if err := compareEntries("data/", m.Files, s.files); err != nil {
		return nil, err
	}
	if err := compareEntries("streams/", m.Streams, s.streams); err != nil {
		return nil, err
	}
	if m.Files == nil {
		m.Files = []Entry{}
	}
	if m.Streams == nil {
		m.Streams = []Entry{}
	}
	return &m, nil
}

// compareEntries requires the manifest's entries and the members read to
// be the same, in the same order; the manifest's nanosecond times must
// agree with the tar's seconds.
func compareEntries(prefix string, want, got []Entry) error {
	for i := range max(len(want), len(got)) {
		switch {
		case i >= len(got):
			return pathErr(ErrMalformed, prefix+want[i].Path, "listed in the manifest but not in the backup")
		case i >= len(want):
			return pathErr(ErrMalformed, prefix+got[i].Path, "in the backup but not listed in the manifest")
		}
		w, g := want[i], got[i]
		if w.SHA256 != g.SHA256 && w.Path == g.Path && w.Type == g.Type && w.Size == g.Size {
			return &DigestError{Path: prefix + w.Path, Want: w.SHA256, Got: g.SHA256}
		}
		g.ModTime = g.ModTime.Truncate(time.Second)
		wt := w.ModTime.Truncate(time.Second)
		if w.Path != g.Path || w.Type != g.Type || w.Mode != g.Mode || w.UID != g.UID || w.GID != g.GID ||
			w.Size != g.Size || w.SHA256 != g.SHA256 || w.Target != g.Target || !wt.Equal(g.ModTime) {
			return pathErr(ErrMalformed, prefix+g.Path, "member %d is %s, manifest says %s", i, entryString(&g), entryString(&w))
		}
	}
	return nil
}
