package backup

import (
	"archive/tar"
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
	"sort"
	"strconv"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/fogkit/fogkit/sign"
)

// Write backs up o.Dir and o.Streams to w as an encrypted backup and
// returns its manifest. Nothing of the tree is followed out of it:
// symlinks are stored as links, and those whose target is absolute or
// leaves the tree are left out and listed in Manifest.Skipped, like
// sockets, FIFOs and devices. A file whose size or modification time
// changes while it is read fails the backup with ErrChanged; a stream
// that fails, or whose command exits non-zero, with ErrStream. On error,
// w holds an incomplete backup that every reader refuses.
func Write(ctx context.Context, w io.Writer, o *Options) (*Manifest, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if o == nil {
		return nil, fmt.Errorf("%w: nil options", ErrNoKey)
	}
	if (len(o.Passphrase) > 0) == (len(o.Recipients) > 0) {
		return nil, fmt.Errorf("%w: give exactly one of a passphrase or recipients", ErrNoKey)
	}
	if err := checkWriteOptions(o); err != nil {
		return nil, err
	}
	p := newBufPipe()
	done := make(chan error, 1)
	go func() {
		var err error
		if len(o.Passphrase) > 0 {
			err = sign.EncryptPassphrase(ctx, w, p, o.Passphrase, nil)
		} else {
			err = sign.Encrypt(ctx, w, p, o.Recipients, nil)
		}
		if err != nil {
			p.CloseRead(err)
		} else {
			p.CloseRead(errEncDone)
		}
		done <- err
	}()
	m, err := writePlain(ctx, p, o)
	p.CloseWithError(err)
	encErr := <-done
	if err != nil {
		return nil, err
	}
	if encErr != nil {
		return nil, encErr
	}
	return m, nil
}

// errEncDone fails writes into the pipe after the encryption has returned.
var errEncDone = errors.New("backup: encryption ended early")

func checkWriteOptions(o *Options) error {
	switch o.Compression {
	case "", "zstd", "gzip", "none":
	default:
		return fmt.Errorf("%w: unknown compression %q", ErrMalformed, o.Compression)
	}
	if o.Dir == "" {
		return fmt.Errorf("%w: no directory", ErrMalformed)
	}
	for _, p := range o.Exclude {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("%w: exclude pattern %q: %v", ErrMalformed, p, err)
		}
	}
	seen := map[string]bool{}
	for _, s := range o.Streams {
		if !validStreamName(s.Name) || s.Open == nil || seen[s.Name] {
			return fmt.Errorf("%w: stream %q: names are unique and of letters, digits, '.', '_' and '-', with an Open func", ErrMalformed, s.Name)
		}
		seen[s.Name] = true
	}
	return nil
}

// writePlain writes the unencrypted backup: the compressed tar.
func writePlain(ctx context.Context, dst io.Writer, o *Options) (*Manifest, error) {
	if err := checkWriteOptions(o); err != nil {
		return nil, err
	}
	var zw io.WriteCloser
	switch o.Compression {
	case "", "zstd":
		z, err := newParZstd(dst)
		if err != nil {
			return nil, err
		}
		zw = z
	case "gzip":
		zw = gzip.NewWriter(dst)
	case "none":
		zw = nopCloser{dst}
	}
	bw := &backupWriter{ctx: ctx, o: o, tw: tar.NewWriter(zw)}
	m, err := bw.write()
	if err != nil {
		if z, ok := zw.(*parZstd); ok {
			z.closed = true
			z.stop()
		}
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return m, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

type backupWriter struct {
	ctx  context.Context
	o    *Options
	tw   *tar.Writer
	root *os.Root
	m    *Manifest
	done int64
	buf  []byte
}

func (b *backupWriter) progress(stage, file string) {
	if b.o.Progress != nil {
		b.o.Progress(Event{Stage: stage, File: file, Done: b.done})
	}
}

func (b *backupWriter) write() (*Manifest, error) {
	created := time.Unix(0, 0).UTC()
	if b.o.Now != nil {
		created = b.o.Now().UTC()
	}
	h := header{Format: FormatVersion, Product: b.o.Product, Version: b.o.Version, Sequence: b.o.Sequence, Schema: b.o.Schema, Created: created}
	hj, err := json.Marshal(&h)
	if err != nil {
		return nil, err
	}
	hj = append(hj, '\n')
	sum := sha256.Sum256(hj)
	b.m = h.manifest()
	b.m.HeaderSHA256 = hex.EncodeToString(sum[:])
	b.m.Files, b.m.Streams = []Entry{}, []Entry{}
	if err := b.jsonMember(headerName, hj, created); err != nil {
		return nil, err
	}
	b.buf = make([]byte, 256<<10)

	root, err := os.OpenRoot(b.o.Dir)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer root.Close()
	b.root = root
	fi, err := root.Lstat(".")
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := b.walk(".", fi); err != nil {
		return nil, err
	}
	for _, s := range b.o.Streams {
		if err := b.stream(s, created); err != nil {
			return nil, err
		}
	}
	b.progress("manifest", manifestName)
	mj, err := json.Marshal(b.m)
	if err != nil {
		return nil, err
	}
	mj = append(mj, '\n')
	if err := b.jsonMember(manifestName, mj, created); err != nil {
		return nil, err
	}
	if err := b.tw.Close(); err != nil {
		return nil, err
	}
	return b.m, nil
}

func (b *backupWriter) jsonMember(name string, data []byte, t time.Time) error {
	if err := b.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: t.Truncate(time.Second), Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err := b.tw.Write(data)
	return err
}

func (b *backupWriter) excluded(rel string) bool {
	for _, p := range b.o.Exclude {
		if ok, _ := path.Match(p, rel); ok {
			return true
		}
	}
	return false
}

func (b *backupWriter) skip(rel, why string) {
	b.m.Skipped = append(b.m.Skipped, strconv.Quote(rel)+": "+why)
	b.progress("skip", rel)
}

// walk stores the entry at rel (whose Lstat is fi) and, for a directory,
// its children in sorted order.
func (b *backupWriter) walk(rel string, fi fs.FileInfo) error {
	if err := b.ctx.Err(); err != nil {
		return err
	}
	e := Entry{Path: rel, Mode: unixMode(fi.Mode()), ModTime: fi.ModTime().UTC()}
	e.UID, e.GID = owner(fi)
	switch {
	case fi.IsDir():
		e.Type = TypeDir
		if err := b.add(&e, nil); err != nil {
			return err
		}
		names, err := b.readDir(rel)
		if err != nil {
			return err
		}
		for _, name := range names {
			child := name
			if rel != "." {
				child = rel + "/" + name
			}
			if !validRel(child) {
				b.skip(child, "name not storable (invalid UTF-8, control characters or too long)")
				continue
			}
			if b.excluded(child) {
				continue
			}
			cfi, err := b.root.Lstat(child)
			if err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			if err := b.walk(child, cfi); err != nil {
				return err
			}
		}
		return nil
	case fi.Mode().IsRegular():
		e.Type = TypeFile
		return b.file(&e, fi)
	case fi.Mode()&fs.ModeSymlink != 0:
		t, err := b.root.Readlink(rel)
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		if !targetInside(rel, t) {
			b.skip(rel, "symlink target "+strconv.Quote(t)+" is absolute or leaves the tree")
			return nil
		}
		e.Type, e.Target, e.Mode = TypeSymlink, t, 0o777
		return b.add(&e, nil)
	default:
		b.skip(rel, "not a file, directory or symlink ("+fi.Mode().Type().String()+")")
		return nil
	}
}

func (b *backupWriter) readDir(rel string) ([]string, error) {
	f, err := b.root.Open(rel)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	sort.Strings(names)
	return names, nil
}

// add writes e's tar header and, for files, size bytes of r, recording the
// digest in e; then appends e to the manifest.
func (b *backupWriter) add(e *Entry, r io.Reader) error {
	name := memberName(e)
	hdr := &tar.Header{Name: name, Mode: int64(e.Mode), Uid: e.UID, Gid: e.GID, ModTime: e.ModTime.Truncate(time.Second), Format: tar.FormatPAX}
	switch e.Type {
	case TypeDir:
		hdr.Typeflag = tar.TypeDir
	case TypeSymlink:
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.Target
	default:
		hdr.Typeflag, hdr.Size = tar.TypeReg, e.Size
	}
	if err := b.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("backup: %s: %w", name, err)
	}
	if e.Type == TypeFile {
		h := sha256.New()
		n, err := io.CopyBuffer(io.MultiWriter(b.tw, h), io.LimitReader(r, e.Size), b.buf)
		b.done += n
		if err != nil {
			return err
		}
		if n != e.Size {
			return pathErr(ErrChanged, e.Path, "shrank from %d to %d bytes while read", e.Size, n)
		}
		e.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	b.m.Files = append(b.m.Files, *e)
	return nil
}

func (b *backupWriter) file(e *Entry, fi fs.FileInfo) error {
	b.progress("file", e.Path)
	f, err := b.root.OpenFile(e.Path, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if !st.Mode().IsRegular() || !os.SameFile(st, fi) || st.Size() != fi.Size() || !st.ModTime().Equal(fi.ModTime()) {
		return pathErr(ErrChanged, e.Path, "replaced or modified while read")
	}
	e.Size = st.Size()
	if err := b.add(e, f); err != nil {
		return err
	}
	var one [1]byte
	if n, _ := f.Read(one[:]); n > 0 {
		return pathErr(ErrChanged, e.Path, "grew beyond %d bytes while read", e.Size)
	}
	st2, err := f.Stat()
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if st2.Size() != st.Size() || !st2.ModTime().Equal(st.ModTime()) {
		return pathErr(ErrChanged, e.Path, "modified while read")
	}
	return nil
}

// stream spools s to a temporary file (a tar member's size precedes its
// bytes) and stores it.
func (b *backupWriter) stream(s Stream, created time.Time) error {
	if err := b.ctx.Err(); err != nil {
		return err
	}
	b.progress("stream", s.Name)
	tmp, err := os.CreateTemp(b.o.TempDir, "fogkit-backup-stream-*")
	if err != nil {
		return fmt.Errorf("backup: spool for stream %s: %w", s.Name, err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	rc, err := s.Open(b.ctx)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrStream, s.Name, err)
	}
	n, err := io.CopyBuffer(tmp, ctxReader{b.ctx, rc}, b.buf)
	cerr := rc.Close()
	if err != nil {
		if b.ctx.Err() != nil {
			return b.ctx.Err()
		}
		return fmt.Errorf("%w: %s: %w", ErrStream, s.Name, err)
	}
	if cerr != nil {
		return fmt.Errorf("%w: %s: %w", ErrStream, s.Name, cerr)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	e := Entry{Path: s.Name, Type: TypeFile, Mode: 0o600, ModTime: created, Size: n}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: streamPrefix + s.Name, Mode: 0o600, Size: n, ModTime: created.Truncate(time.Second), Format: tar.FormatPAX}
	if err := b.tw.WriteHeader(hdr); err != nil {
		return err
	}
	h := sha256.New()
	m, err := io.CopyBuffer(io.MultiWriter(b.tw, h), io.LimitReader(tmp, n), b.buf)
	b.done += m
	if err != nil {
		return err
	}
	if m != n {
		return fmt.Errorf("%w: %s: spool file shrank", ErrStream, s.Name)
	}
	e.SHA256 = hex.EncodeToString(h.Sum(nil))
	b.m.Streams = append(b.m.Streams, e)
	return nil
}

// ctxReader fails reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
