package support

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
	"io/fs"
	"os"
	"path"
	"slices"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/fogkit/fogkit/sign"
)

// Bundle is an opened bundle whose every member matched its index entry.
// It holds the members in memory (at most OpenOptions.MaxSize bytes).
type Bundle struct {
	// Index is the bundle's index.json.
	Index *Index

	names    []string
	data     map[string][]byte
	indexRaw []byte
}

// Open reads a bundle: decrypts it with key (unless it is plain and
// o.Plain allows that), decompresses it under o.MaxSize, and checks that
// its members are exactly those of its index, in order, with their sizes
// and SHA-256 digests, as regular files with safe names, and that nothing
// follows the archive. Errors: ErrDecrypt (wrong key, damaged ciphertext,
// an unencrypted bundle without o.Plain), ErrTooLarge, ErrMalformed,
// ErrDigest (a *DigestError), ErrUnsafePath. The Bundle is returned only
// after the decryption's integrity check passed.
func Open(ctx context.Context, r io.Reader, key *sign.OpenPGPSigner, o *OpenOptions) (*Bundle, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var opt OpenOptions
	if o != nil {
		opt = *o
	}
	maxSize := opt.MaxSize
	if maxSize <= 0 {
		maxSize = DefaultMaxOpen
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(4)
	compressed := bytes.HasPrefix(head, zstdMagic) || bytes.HasPrefix(head, gzipMagic)
	switch {
	case compressed && !opt.Plain:
		return nil, fmt.Errorf("%w: the bundle is not encrypted (OpenOptions.Plain accepts it)", ErrDecrypt)
	case compressed:
		lr := &capReader{r: br, left: maxSize, what: "compressed archive"}
		return readArchive(ctx, lr, maxSize, opt.Progress)
	case key == nil && opt.Plain && !looksEncrypted(head):
		return nil, malformed("not a zstd or gzip archive")
	case key == nil:
		return nil, fmt.Errorf("%w: no key", ErrDecrypt)
	}

	// Decrypt in a goroutine and read the plaintext as it comes; trust it
	// only when Decrypt has returned nil.
	pr, pw := io.Pipe()
	decErr := make(chan error, 1)
	go func() {
		err := sign.Decrypt(ctx, pw, br, key, &sign.DecryptOptions{MaxSize: maxSize})
		pw.CloseWithError(err)
		decErr <- err
	}()
	b, perr := readArchive(ctx, pr, maxSize, opt.Progress)
	if perr != nil {
		pr.CloseWithError(errStopped)
	} else if _, err := io.Copy(io.Discard, pr); err != nil {
		perr = err
	}
	derr := <-decErr
	switch {
	case derr != nil && !errors.Is(derr, errStopped):
		return nil, mapDecryptError(ctx, derr)
	case perr != nil:
		return nil, perr
	}
	return b, nil
}

var errStopped = errors.New("support: reading stopped")

// looksEncrypted says whether head may start an OpenPGP message: armor, or
// a binary packet header (bit 7 set).
func looksEncrypted(head []byte) bool {
	return bytes.HasPrefix(head, []byte("----")) || len(head) > 0 && head[0]&0x80 != 0
}

var gzipMagic = []byte{0x1f, 0x8b}

// mapDecryptError maps sign's errors to this package's.
func mapDecryptError(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, sign.ErrTooLarge):
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	case errors.Is(err, sign.ErrDecrypt), errors.Is(err, sign.ErrMalformed), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: %w", ErrDecrypt, err)
	}
	return fmt.Errorf("%w: %w", ErrDecrypt, err)
}

// capReader fails with ErrTooLarge past its cap and checks ctx.
type capReader struct {
	ctx  context.Context
	r    io.Reader
	left int64
	read int64
	what string
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.ctx != nil {
		if err := c.ctx.Err(); err != nil {
			return 0, err
		}
	}
	if c.left <= 0 {
		// Over the cap only if there is more.
		var one [1]byte
		if n, _ := c.r.Read(one[:]); n > 0 {
			return 0, fmt.Errorf("%w: %s over its cap", ErrTooLarge, c.what)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	c.read += int64(n)
	return n, err
}

// readArchive decompresses and checks the archive.
func readArchive(ctx context.Context, in io.Reader, maxSize int64, progress func(Event)) (*Bundle, error) {
	zb := bufio.NewReaderSize(in, 64<<10)
	head, err := zb.Peek(4)
	if err != nil && len(head) < 2 {
		if isCapErr(err) {
			return nil, err
		}
		return nil, malformed("archive too short: %v", err)
	}
	var dec io.Reader
	var comp string
	var zf *zstdFrame
	switch {
	case bytes.HasPrefix(head, zstdMagic):
		comp = CompressionZstd
		zf = &zstdFrame{r: zb}
		d, err := zstd.NewReader(zf, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxMemory(uint64(maxSize)), zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			return nil, malformed("zstd: %v", err)
		}
		defer d.Close()
		dec = d
	case bytes.HasPrefix(head, gzipMagic):
		comp = CompressionGzip
		gz, err := gzip.NewReader(zb)
		if err != nil {
			if isCapErr(err) {
				return nil, err
			}
			return nil, malformed("gzip: %v", err)
		}
		gz.Multistream(false)
		dec = gz
	default:
		return nil, malformed("not a zstd or gzip archive")
	}
	cr := &capReader{ctx: ctx, r: dec, left: maxSize, what: "decompressed archive"}
	// fail explains a read error: the cap, ctx, the zstd frame walker, or
	// a damaged stream.
	fail := func(what string, err error) error {
		switch {
		case isCapErr(err):
			return err
		case errors.Is(err, zstd.ErrDecoderSizeExceeded), errors.Is(err, zstd.ErrWindowSizeExceeded):
			return fmt.Errorf("%w: %s: %v", ErrTooLarge, what, err)
		case zf != nil && zf.err != nil:
			return zf.err
		case ctx.Err() != nil:
			return ctx.Err()
		}
		return malformed("%s: %v", what, err)
	}
	b := &Bundle{data: map[string][]byte{}}
	type member struct {
		name string
		sum  string
		size int64
	}
	var (
		members []member
		modTime time.Time
		dirs    = map[string]bool{}
	)
	tr := tar.NewReader(cr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fail("tar", err)
		}
		if b.indexRaw != nil {
			return nil, malformed("member %q after %s", hdr.Name, IndexName)
		}
		if err := checkHeader(hdr, b.data, dirs); err != nil {
			return nil, err
		}
		if len(members) == 0 {
			modTime = hdr.ModTime
		} else if !hdr.ModTime.Equal(modTime) {
			return nil, malformed("%s: modification time differs from the other members'", hdr.Name)
		}
		if hdr.Size > cr.left {
			return nil, fmt.Errorf("%w: member %s of %d bytes", ErrTooLarge, hdr.Name, hdr.Size)
		}
		data := make([]byte, hdr.Size)
		if _, err := io.ReadFull(tr, data); err != nil {
			return nil, fail(hdr.Name, err)
		}
		if hdr.Name == IndexName {
			b.indexRaw = data
			continue
		}
		sum := sha256.Sum256(data)
		members = append(members, member{hdr.Name, hex.EncodeToString(sum[:]), hdr.Size})
		b.data[hdr.Name] = data
		b.names = append(b.names, hdr.Name)
		if progress != nil {
			progress(Event{Stage: "read", File: hdr.Name, Done: cr.read, Total: maxSize})
		}
	}
	// Nothing may follow the tar's end: not in the decompressed stream, not
	// after the compression frame.
	var one [1]byte
	if n, err := io.ReadFull(cr, one[:]); n > 0 {
		return nil, malformed("data after the tar archive's end")
	} else if err != io.EOF {
		return nil, fail("after the tar archive", err)
	}
	if n, err := io.ReadFull(zb, one[:]); n > 0 {
		return nil, malformed("data after the compressed stream")
	} else if err != io.EOF {
		return nil, fail("after the compressed stream", err)
	}
	if b.indexRaw == nil {
		return nil, malformed("no %s", IndexName)
	}

	idx, err := parseIndex(b.indexRaw)
	if err != nil {
		return nil, err
	}
	if idx.Compression != comp {
		return nil, malformed("index says %s, archive is %s", idx.Compression, comp)
	}
	if !idx.Created.Truncate(time.Second).Equal(modTime) {
		return nil, malformed("members' modification time is not the index's creation time")
	}
	if len(idx.Files) != len(members) {
		return nil, malformed("index lists %d files, archive holds %d", len(idx.Files), len(members))
	}
	var total int64
	listed := map[string]bool{}
	for i, f := range idx.Files {
		if err := validName(f.Path); err != nil {
			return nil, fmt.Errorf("%w: index entry %q: %v", ErrUnsafePath, f.Path, err)
		}
		if listed[f.Path] {
			return nil, fmt.Errorf("%w: index lists %q twice", ErrUnsafePath, f.Path)
		}
		listed[f.Path] = true
		m := members[i]
		switch {
		case f.Path != m.name:
			return nil, malformed("member %d is %q, index says %q", i, m.name, f.Path)
		case f.Size != m.size:
			return nil, malformed("%s: %d bytes, index says %d", m.name, m.size, f.Size)
		case f.SHA256 != m.sum:
			return nil, &DigestError{Path: m.name, Want: f.SHA256, Got: m.sum}
		}
		total += f.Size
	}
	if total != idx.TotalBytes {
		return nil, malformed("index's totalBytes %d, files sum to %d", idx.TotalBytes, total)
	}
	b.Index = idx
	if progress != nil {
		progress(Event{Stage: "done", Done: cr.read, Total: maxSize})
	}
	return b, nil
}

func isCapErr(err error) bool { return errors.Is(err, ErrTooLarge) }

// checkHeader accepts the headers Write writes: regular files, mode 0644,
// owner 0 without names, no links, no extended records but a long path.
func checkHeader(hdr *tar.Header, seen map[string][]byte, dirs map[string]bool) error {
	name := hdr.Name
	if name != IndexName {
		if err := validName(name); err != nil {
			return fmt.Errorf("%w: %q: %v", ErrUnsafePath, name, err)
		}
	}
	if hdr.Typeflag != tar.TypeReg {
		return fmt.Errorf("%w: %q is not a regular file (type %q)", ErrUnsafePath, name, hdr.Typeflag)
	}
	if _, dup := seen[name]; dup || dirs[name] {
		return fmt.Errorf("%w: %q twice (or as a file and a directory)", ErrUnsafePath, name)
	}
	for d := path.Dir(name); d != "."; d = path.Dir(d) {
		if _, isFile := seen[d]; isFile {
			return fmt.Errorf("%w: %q is under the file %q", ErrUnsafePath, name, d)
		}
		dirs[d] = true
	}
	switch {
	case hdr.Mode != 0o644:
		return malformed("%s: mode %o", name, hdr.Mode)
	case hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "":
		return malformed("%s: owner %d/%d %q/%q", name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname)
	case hdr.Linkname != "" || hdr.Devmajor != 0 || hdr.Devminor != 0:
		return malformed("%s: link or device fields set", name)
	case !hdr.AccessTime.IsZero() || !hdr.ChangeTime.IsZero():
		return malformed("%s: access or change time set", name)
	case hdr.Size < 0:
		return malformed("%s: negative size", name)
	}
	for k := range hdr.PAXRecords {
		if k != "path" {
			return malformed("%s: extended header record %q", name, k)
		}
	}
	return nil
}

// parseIndex decodes index.json strictly.
func parseIndex(raw []byte) (*Index, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var idx Index
	if err := dec.Decode(&idx); err != nil {
		return nil, malformed("%s: %v", IndexName, err)
	}
	if len(bytes.TrimSpace(raw[dec.InputOffset():])) > 0 {
		return nil, malformed("%s: data after the JSON object", IndexName)
	}
	if idx.Format != IndexFormat {
		return nil, malformed("%s: format %d, want %d", IndexName, idx.Format, IndexFormat)
	}
	return &idx, nil
}

// Files lists the members in archive order, index.json left out.
func (b *Bundle) Files() []string { return slices.Clone(b.names) }

// ReadFile returns a copy of a member's bytes; IndexName gives index.json
// as stored.
func (b *Bundle) ReadFile(name string) ([]byte, error) {
	if name == IndexName {
		return bytes.Clone(b.indexRaw), nil
	}
	d, ok := b.data[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return bytes.Clone(d), nil
}

// Extract writes every member, index.json last, under dir: files 0644,
// directories 0755 (before the umask). dir is created when missing and
// must be empty otherwise (ErrExists). Names were checked by Open, and
// every file is created through an os.Root on dir with O_EXCL, so nothing
// lands outside dir or replaces anything.
func (b *Bundle) Extract(dir string) error {
	ents, err := os.ReadDir(dir)
	switch {
	case err == nil && len(ents) > 0:
		return fmt.Errorf("%w: %s", ErrExists, dir)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	write := func(name string, data []byte) error {
		if err := validName(name); err != nil && name != IndexName {
			return fmt.Errorf("%w: %q: %v", ErrUnsafePath, name, err)
		}
		if d := path.Dir(name); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	for _, n := range b.names {
		if err := write(n, b.data[n]); err != nil {
			return err
		}
	}
	return write(IndexName, b.indexRaw)
}
