package support

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/fogkit/fogkit/sign"
)

// zstdWindow is the encoder's window; Open refuses frames asking for more
// than zstdMaxWindow.
const (
	zstdWindow    = 4 << 20
	zstdMaxWindow = 8 << 20
)

// config is Options resolved.
type config struct {
	maxLines int
	maxBytes int64
	maxTotal int64
	red      *redactor
}

// Write collects every source, redacts, archives and (unless o.Plain)
// encrypts to o.Recipients, streaming to w, and returns the index it wrote.
// Sources that fail are recorded in the index; Write itself fails only on
// bad options (ErrInvalid, ErrNoRecipients), a recipient key that cannot
// encrypt (sign's error), an error of w, or ctx. After an error, w holds a
// partial bundle that Open refuses: write to a temporary file and rename
// it.
func Write(ctx context.Context, w io.Writer, o *Options) (*Index, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var opt Options
	if o != nil {
		opt = *o
	}
	cfg := &config{maxLines: opt.MaxLines, maxBytes: opt.MaxBytes, maxTotal: opt.MaxTotal}
	if cfg.maxLines <= 0 {
		cfg.maxLines = DefaultMaxLines
	}
	if cfg.maxBytes <= 0 {
		cfg.maxBytes = DefaultMaxBytes
	}
	if cfg.maxTotal <= 0 {
		cfg.maxTotal = DefaultMaxTotal
	}
	comp := opt.Compression
	if comp == "" {
		comp = CompressionZstd
	}
	if comp != CompressionZstd && comp != CompressionGzip {
		return nil, fmt.Errorf("%w: compression %q", ErrInvalid, comp)
	}
	if !opt.Plain {
		if len(opt.Recipients) == 0 {
			return nil, ErrNoRecipients
		}
		for i, k := range opt.Recipients {
			if k == nil {
				return nil, fmt.Errorf("%w: recipient %d is nil", ErrNoRecipients, i)
			}
		}
	}
	reserved, err := checkSources(opt.Sources)
	if err != nil {
		return nil, err
	}
	rnd := opt.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	var tokenKey []byte
	if opt.Redact != nil && opt.Redact.Tokenize {
		tokenKey = make([]byte, 32)
		if _, err := io.ReadFull(rnd, tokenKey); err != nil {
			return nil, err
		}
	}
	if cfg.red, err = newRedactor(opt.Redact, tokenKey); err != nil {
		return nil, err
	}
	now := time.Unix(0, 0).UTC()
	if opt.Now != nil {
		now = opt.Now().UTC()
	}

	// The chain: tar -> compressor -> buffer -> (encryption) -> w.
	var (
		out    io.Writer = w
		pw     *io.PipeWriter
		encErr chan error
	)
	if !opt.Plain {
		pr, p := io.Pipe()
		pw, encErr = p, make(chan error, 1)
		ew := &errWriter{w: w}
		go func() {
			// The zero time skips the recipients' expiry checks: an admin
			// cannot renew the vendor's key, and the vendor can still
			// decrypt with it.
			err := sign.Encrypt(ctx, ew, pr, opt.Recipients, &sign.EncryptOptions{Rand: opt.Rand})
			if err != nil && ew.err != nil {
				// w's own error, not what the OpenPGP layer made of it.
				err = ew.err
			}
			if err == nil {
				err = errEncryptDone
			}
			pr.CloseWithError(err)
			encErr <- err
		}()
		out = pw
	}
	bw := bufio.NewWriterSize(out, 64<<10)
	var cw io.WriteCloser
	if comp == CompressionZstd {
		cw, err = zstd.NewWriter(bw, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(zstdWindow), zstd.WithEncoderCRC(true), zstd.WithLowerEncoderMem(true))
	} else {
		cw, err = gzip.NewWriterLevel(bw, gzip.DefaultCompression)
	}
	if err != nil {
		return nil, finish(pw, encErr, err)
	}
	a := &archiver{
		tw:       tar.NewWriter(cw),
		modTime:  now.Truncate(time.Second),
		maxTotal: cfg.maxTotal,
		names:    map[string]bool{},
		dirs:     map[string]bool{},
		progress: opt.Progress,
		idx: &Index{
			Format: IndexFormat, Product: opt.Product, Version: opt.Version, Sequence: opt.Sequence,
			Created: now, Compression: comp,
			Limits: Limits{MaxLines: cfg.maxLines, MaxBytes: cfg.maxBytes, MaxTotal: cfg.maxTotal, Keep: "tail"},
			Files:  []FileEntry{}, Sources: []SourceEntry{},
		},
	}
	err = a.collect(ctx, cfg, opt.Sources, reserved)
	if err == nil {
		err = a.writeIndex()
	}
	if err == nil {
		err = a.tw.Close()
	}
	if err == nil {
		err = cw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err = finish(pw, encErr, err); err != nil {
		return nil, err
	}
	if a.progress != nil {
		a.progress(Event{Stage: "done", Done: a.total, Total: a.maxTotal})
	}
	return a.idx, nil
}

// errWriter remembers its writer's first error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

// errEncryptDone marks a pipe closed after a successful encryption.
var errEncryptDone = errors.New("support: encryption finished")

// finish closes the encryption pipe and returns the first real error:
// the encryption's (which also explains a failed pipe write) or err.
func finish(pw *io.PipeWriter, encErr chan error, err error) error {
	if pw == nil {
		return err
	}
	if err != nil {
		pw.CloseWithError(err)
	} else {
		pw.Close()
	}
	if e := <-encErr; e != errEncryptDone {
		return e
	}
	return err
}

// checkSources validates the sources' names and returns the fixed ones.
func checkSources(srcs []Source) (map[string]bool, error) {
	fixed := map[string]bool{}
	for i, s := range srcs {
		if s.run == nil {
			return nil, fmt.Errorf("%w: source %d was not made by a constructor", ErrInvalid, i)
		}
		if err := validName(s.name); err != nil {
			return nil, fmt.Errorf("%w: source %d %q: %v", ErrInvalid, i, s.name, err)
		}
		if s.glob {
			continue
		}
		if fixed[s.name] {
			return nil, fmt.Errorf("%w: two sources named %q", ErrInvalid, s.name)
		}
		fixed[s.name] = true
	}
	// A name may not also be a directory of another name.
	for _, s := range srcs {
		if s.glob && fixed[s.name] {
			return nil, fmt.Errorf("%w: %q is a file and a glob's directory", ErrInvalid, s.name)
		}
		for d := path.Dir(s.name); d != "."; d = path.Dir(d) {
			if fixed[d] {
				return nil, fmt.Errorf("%w: %q is a file and the directory of %q", ErrInvalid, d, s.name)
			}
		}
	}
	return fixed, nil
}

// archiver writes the members and keeps the index.
type archiver struct {
	tw       *tar.Writer
	modTime  time.Time
	total    int64
	maxTotal int64
	names    map[string]bool // stored files
	dirs     map[string]bool // their directories
	idx      *Index
	progress func(Event)
}

func (a *archiver) remaining() int64 { return a.maxTotal - a.total }

// collect runs every source in order.
func (a *archiver) collect(ctx context.Context, cfg *config, srcs []Source, reserved map[string]bool) error {
	for i, s := range srcs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if a.progress != nil {
			a.progress(Event{Stage: "collect", File: s.name, Done: int64(i), Total: int64(len(srcs))})
		}
		a.idx.Sources = append(a.idx.Sources, SourceEntry{Name: s.name, Kind: s.kind})
		e := &a.idx.Sources[len(a.idx.Sources)-1]
		// reserved: a glob's files may take the names of no other source.
		c := &collector{cfg: cfg, a: a, entry: e, reserved: reserved}
		if a.remaining() <= 0 && !s.glob {
			c.capReached(s.name)
			e.SkippedFiles = nil
		} else if err := s.run(ctx, c); err != nil {
			return err
		}
		switch {
		case c.err != nil:
			e.Status, e.Error = StatusFailed, c.err.Error()
			a.idx.Failed++
		case e.Files == 0:
			e.Status = StatusSkipped
			e.Error = c.skipped
			a.idx.Skipped++
		case c.partial:
			e.Status = StatusTruncated
		default:
			e.Status = StatusOK
			for _, f := range a.idx.Files[len(a.idx.Files)-e.Files:] {
				if f.Truncated {
					e.Status = StatusTruncated
				}
			}
		}
	}
	if a.progress != nil {
		a.progress(Event{Stage: "collect", Done: int64(len(srcs)), Total: int64(len(srcs))})
	}
	return nil
}

// write redacts a tail and writes it as member name.
func (a *archiver) write(c *collector, name string, t *tail, truncated bool) error {
	res := t.finish(c.cfg.red)
	if a.conflict(name) {
		// Only globs can get here (fixed names are checked up front).
		c.skipFile(name, "duplicate name")
		return nil
	}
	a.names[name] = true
	for d := path.Dir(name); d != "."; d = path.Dir(d) {
		a.dirs[d] = true
	}
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Mode:     0o644,
		Size:     int64(len(res.data)),
		ModTime:  a.modTime,
	}
	if err := a.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := a.tw.Write(res.data); err != nil {
		return err
	}
	sum := sha256.Sum256(res.data)
	fe := FileEntry{
		Path: name, Source: c.entry.Name, Size: hdr.Size, SHA256: hex.EncodeToString(sum[:]),
		Lines: res.lines, Redactions: res.redactions, Truncated: res.truncated || truncated, Dropped: res.dropped,
	}
	a.idx.Files = append(a.idx.Files, fe)
	a.idx.TotalBytes += fe.Size
	a.idx.Redactions += fe.Redactions
	if fe.Truncated {
		a.idx.Truncated++
	}
	c.entry.Files++
	c.entry.Bytes += fe.Size
	a.total += fe.Size
	if a.progress != nil {
		a.progress(Event{Stage: "write", File: name, Done: a.total, Total: a.maxTotal})
	}
	return nil
}

// conflict says whether name is taken: by a file or as a directory of one,
// or a directory of name is a file.
func (a *archiver) conflict(name string) bool {
	if a.names[name] || a.dirs[name] {
		return true
	}
	for d := path.Dir(name); d != "."; d = path.Dir(d) {
		if a.names[d] {
			return true
		}
	}
	return false
}

// writeIndex writes index.json as the last member.
func (a *archiver) writeIndex() error {
	b, err := json.MarshalIndent(a.idx, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := a.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: IndexName, Mode: 0o644, Size: int64(len(b)), ModTime: a.modTime}); err != nil {
		return err
	}
	_, err = a.tw.Write(b)
	return err
}
