package support

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"time"
)

// DefaultCommandTimeout is the timeout of a Command given 0.
const DefaultCommandTimeout = 30 * time.Second

// maxSkippedListed bounds SourceEntry.SkippedFiles.
const maxSkippedListed = 100

// A Source is one collector, made by File, Glob, Command, KernelLog,
// SystemFacts, Reader or Bytes. Every source is bounded by the caps of
// Options; a source that fails is recorded in the index and never fails
// the bundle.
type Source struct {
	name string // the index's name: the member name, or a glob's dir
	kind string
	glob bool // name is a directory prefix, not a member name
	run  func(ctx context.Context, c *collector) error
}

// Name is the source's name in the index: its member name, or the
// directory of a Glob.
func (s Source) Name() string { return s.name }

// File collects one file, stored as name. The file must be a regular file
// (a symbolic link to one is followed); anything else is skipped. A file
// over the caps keeps its last lines: it is read from the end, so its size
// does not matter. Files reporting size 0 (those of /proc) are read as
// streams.
func File(name, path string) Source {
	return Source{name: name, kind: "file", run: func(ctx context.Context, c *collector) error {
		return c.storeFile(ctx, name, path)
	}}
}

// Glob collects every file matching pattern (filepath.Glob syntax), in
// sorted order, each stored as dir/<base name>. Only regular files are
// read (a symbolic link to a regular file is followed; links to devices,
// FIFOs or directories are skipped without being opened); a second file
// with the same base name is skipped.
func Glob(dir, pattern string) Source {
	return Source{name: dir, kind: "glob", glob: true, run: func(ctx context.Context, c *collector) error {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			c.fail(err)
			return nil
		}
		if len(matches) == 0 {
			c.skip("no file matches " + pattern)
			return nil
		}
		slices.Sort(matches)
		for _, m := range matches {
			if err := ctx.Err(); err != nil {
				return err
			}
			name := path.Join(dir, filepath.Base(m))
			switch {
			case validName(name) != nil:
				c.skipFile(m, "unsafe name")
			case c.taken(name):
				c.skipFile(m, "duplicate name "+name)
			default:
				if err := c.storeFile(ctx, name, m); err != nil {
					return err
				}
			}
		}
		return nil
	}}
}

// Command collects the output (stdout and stderr together) of argv, run
// without a shell with LC_ALL=C and no input. A timeout (0 means
// DefaultCommandTimeout) kills it, with the children it started (its
// process group on Unix); the source is then "failed" and its
// output so far kept and marked truncated. Output over 4 times the byte
// cap (at least 16 MiB) also kills it ("truncated"). A non-zero exit status makes
// the source "failed" with its output kept.
func Command(name string, timeout time.Duration, argv ...string) Source {
	argv = slices.Clone(argv)
	return Source{name: name, kind: "command", run: func(ctx context.Context, c *collector) error {
		return c.runCommand(ctx, name, timeout, argv)
	}}
}

// Reader collects what open returns, stored as name, read as a stream
// (up to 4 times the byte cap, at least 16 MiB; the last lines are kept). An
// error from open or from reading makes the source "failed"; what was read
// is kept.
func Reader(name string, open func(context.Context) (io.ReadCloser, error)) Source {
	return Source{name: name, kind: "reader", run: func(ctx context.Context, c *collector) error {
		if open == nil {
			c.fail(errors.New("no open function"))
			return nil
		}
		rc, err := open(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.fail(err)
			return nil
		}
		defer rc.Close()
		return c.storeStream(ctx, name, rc)
	}}
}

// Bytes stores b as name (capped and redacted like everything else), e.g.
// the agent's status JSON.
func Bytes(name string, b []byte) Source {
	b = bytes.Clone(b)
	return Source{name: name, kind: "bytes", run: func(ctx context.Context, c *collector) error {
		return c.storeReader(ctx, name, bytes.NewReader(b), false)
	}}
}

// collector is a source's view of the bundle being written.
type collector struct {
	cfg      *config
	a        *archiver
	entry    *SourceEntry
	err      error
	skipped  string
	partial  bool // files left out because of the total cap
	reserved map[string]bool
}

func (c *collector) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

func (c *collector) skip(reason string) {
	if c.skipped == "" {
		c.skipped = reason
	}
}

func (c *collector) skipFile(p, reason string) {
	if len(c.entry.SkippedFiles) < maxSkippedListed {
		c.entry.SkippedFiles = append(c.entry.SkippedFiles, p+": "+reason)
	}
	c.skip(reason)
}

// taken says whether a glob's name is used by a stored file or by a fixed
// name of any source.
func (c *collector) taken(name string) bool {
	if c.reserved[name] || c.a.conflict(name) {
		return true
	}
	for d := path.Dir(name); d != "."; d = path.Dir(d) {
		if c.reserved[d] {
			return true
		}
	}
	return false
}

// fileCap is the byte cap of the next file: the per-file cap or what the
// total cap leaves; 0 when that is under minFileCap (a few cut lines are
// worth less than the record that the file was left out).
func (c *collector) fileCap() int64 {
	n := min(c.cfg.maxBytes, c.a.remaining())
	if n < min(c.cfg.maxBytes, minFileCap) {
		return 0
	}
	return n
}

// streamLimit is how much of a stream is read for a file cap of capBytes.
func streamLimit(capBytes int64) int64 { return max(streamFactor*capBytes, minStreamRead) }

// capReached records a file left out for the total cap.
func (c *collector) capReached(p string) {
	c.partial = true
	c.skipFile(p, "total cap reached")
}

// read keeps the tail of r within capBytes. limit > 0 stops a stream
// there (errReadLimit).
func (c *collector) read(ctx context.Context, r io.Reader, capBytes, limit int64, pem pemState) (*tail, error) {
	t := newTail(c.cfg.maxLines, capBytes, pem)
	err := t.readFrom(ctx, r, limit)
	return t, err
}

// storeStream reads r as a stream (up to streamLimit) and stores it as name.
func (c *collector) storeStream(ctx context.Context, name string, r io.Reader) error {
	return c.storeReader(ctx, name, r, true)
}

// storeReader reads r, as a stream when limited, and stores it as name.
func (c *collector) storeReader(ctx context.Context, name string, r io.Reader, limited bool) error {
	capBytes := c.fileCap()
	if capBytes <= 0 {
		c.capReached(name)
		return nil
	}
	limit := int64(0)
	if limited {
		limit = streamLimit(capBytes)
	}
	t, err := c.read(ctx, r, capBytes, limit, pemOut)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil && err != errReadLimit {
		c.fail(err)
	}
	return c.a.write(c, name, t, false)
}

// storeFile reads the regular file at p, from its end when it is over the
// cap, and stores it as name.
func (c *collector) storeFile(ctx context.Context, name, p string) error {
	fi, err := os.Lstat(p)
	if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		fi, err = os.Stat(p)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.skipFile(p, "missing")
		return nil
	case err != nil:
		c.fail(err)
		return nil
	case !fi.Mode().IsRegular():
		c.skipFile(p, "not a regular file")
		return nil
	}
	capBytes := c.fileCap()
	if capBytes <= 0 {
		c.capReached(p)
		return nil
	}
	f, err := os.OpenFile(p, os.O_RDONLY|openFlags, 0)
	if err != nil {
		c.fail(err)
		return nil
	}
	defer f.Close()
	// The file may have been swapped since Lstat: check what was opened.
	if fi, err = f.Stat(); err != nil {
		c.fail(err)
		return nil
	}
	if !fi.Mode().IsRegular() {
		c.skipFile(p, "not a regular file")
		return nil
	}
	size := fi.Size()
	if size == 0 {
		// /proc and /sys files say 0 and are generated as read.
		return c.storeStream(ctx, name, f)
	}
	var (
		r       io.Reader = io.LimitReader(f, size) // a growing log stops at its size now
		pem               = pemOut
		skipped int64
	)
	if size > capBytes {
		// Start one byte before the last capBytes and drop the partial
		// line there.
		off := size - capBytes - 1
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			c.fail(err)
			return nil
		}
		br := bufio.NewReaderSize(io.LimitReader(f, size-off), 64<<10)
		n, err := discardLine(br)
		if err != nil && err != io.EOF {
			c.fail(err)
			return nil
		}
		skipped = off + n
		r, pem = br, pemUnknown
	}
	t, err := c.read(ctx, r, capBytes, 0, pem)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		c.fail(err)
	}
	if skipped > 0 {
		t.truncated = true
		t.dropped += skipped
	}
	return c.a.write(c, name, t, false)
}

// discardLine reads through the next newline.
func discardLine(br *bufio.Reader) (int64, error) {
	var n int64
	for {
		b, err := br.ReadSlice('\n')
		n += int64(len(b))
		if err != bufio.ErrBufferFull {
			return n, err
		}
	}
}

func (c *collector) runCommand(ctx context.Context, name string, timeout time.Duration, argv []string) error {
	if len(argv) == 0 {
		c.fail(errors.New("no command"))
		return nil
	}
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	capBytes := c.fileCap()
	if capBytes <= 0 {
		c.capReached(name)
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pr, pw, err := os.Pipe()
	if err != nil {
		c.fail(err)
		return nil
	}
	defer pr.Close()
	cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.WaitDelay = time.Second
	killGroup(cmd)
	err = cmd.Start()
	pw.Close()
	if err != nil {
		c.fail(err)
		return nil
	}
	// A child that outlives the command keeps the pipe open: the deadline
	// ends the read anyway.
	if dl, ok := cctx.Deadline(); ok {
		_ = pr.SetReadDeadline(dl)
	}
	t, rerr := c.read(ctx, pr, capBytes, streamLimit(capBytes), pemOut)
	if rerr != nil {
		if cmd.Cancel != nil {
			_ = cmd.Cancel()
		} else {
			_ = cmd.Process.Kill()
		}
	}
	werr := cmd.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	truncated := false
	switch {
	case cctx.Err() != nil || errors.Is(rerr, os.ErrDeadlineExceeded):
		c.fail(fmt.Errorf("timed out after %s", timeout))
		truncated = true
	case rerr == errReadLimit:
		// Killed for its output: truncated, not failed.
	case rerr != nil:
		c.fail(rerr)
	case werr != nil:
		c.fail(werr)
	}
	return c.a.write(c, name, t, truncated)
}
