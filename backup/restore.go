package backup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Restore reads the backup and replaces dir's contents with it atomically.
//
// The backup's header is checked first: a backup of another product
// (ErrProduct) or of a newer appliance (a higher Sequence, ErrDowngrade) is
// refused before anything is written, unless o.Accept returns nil for it.
// The tree is then staged in a new directory "<dir>.restore-<random>" in
// dir's parent (the same filesystem): files are created exclusively,
// symlinks are never followed, every file and directory is synced. Only
// when every member matched the manifest and the decryption's integrity
// check passed is the staging directory switched with dir in one atomic
// rename (Linux renameat2 RENAME_EXCHANGE when dir exists), and the old
// tree removed. On any error before the switch the staging directory is
// removed and dir is untouched. Streams are restored as files in
// o.StreamDir inside the tree. Owners are applied when Restore runs as
// root; modes (with setuid, setgid and sticky bits) and modification times
// of files and directories always.
//
// If only removing the previous tree fails after the switch, Restore
// returns the manifest together with an error naming the leftover
// directory: the restore itself is complete.
func Restore(ctx context.Context, r io.Reader, dir string, o *RestoreOptions) (*Manifest, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if o == nil {
		return nil, fmt.Errorf("%w: nil options", ErrNoKey)
	}
	if (len(o.Passphrase) > 0) == (o.Key != nil) {
		return nil, fmt.Errorf("%w: give exactly one of a passphrase or a key", ErrNoKey)
	}
	streamDir := o.StreamDir
	if streamDir == "" {
		streamDir = DefaultStreamDir
	}
	if !validRel(filepath.ToSlash(streamDir)) {
		return nil, fmt.Errorf("%w: stream directory %q is not a clean relative path", ErrUnsafePath, streamDir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	exists := false
	if fi, err := os.Lstat(abs); err == nil {
		if !fi.IsDir() {
			return nil, fmt.Errorf("backup: %s is not a directory", abs)
		}
		exists = true
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("backup: %w", err)
	}
	rs := &restorer{o: o, target: abs, streamDir: filepath.ToSlash(streamDir), root0: os.Geteuid() == 0}
	m, err := readBackup(ctx, r, &o.ReadOptions, &reader{sink: rs})
	if err == nil {
		err = rs.finish(m)
	}
	if err != nil {
		rs.abort()
		return nil, err
	}
	if o.Progress != nil {
		o.Progress(Event{Stage: "switch", File: abs})
	}
	old, err := switchDir(rs.staging, abs, exists)
	if err != nil {
		rs.abort()
		return nil, fmt.Errorf("backup: switching %s in: %w", abs, err)
	}
	syncDir(filepath.Dir(abs))
	if old != "" {
		if err := removeTree(old); err != nil {
			return m, fmt.Errorf("backup: restored, but the previous tree is left at %s: %w", old, err)
		}
	}
	return m, nil
}

// restorer is the sink that writes a backup into the staging directory.
type restorer struct {
	o         *RestoreOptions
	target    string
	streamDir string
	root0     bool // running as root: apply owners

	staging string
	root    *os.Root
	streams bool // stream directory made
}

func (rs *restorer) header(h *Manifest) error {
	o := rs.o
	var mm *MismatchError
	switch {
	case h.Product != o.Product:
		mm = &MismatchError{Field: "product", Want: o.Product, Got: h.Product, Err: ErrProduct}
	case h.Sequence > o.Sequence:
		mm = &MismatchError{Field: "sequence", Want: strconv.FormatUint(o.Sequence, 10), Got: strconv.FormatUint(h.Sequence, 10), Err: ErrDowngrade}
	}
	if mm != nil {
		if o.Accept == nil {
			return mm
		}
		if mm.Hook = o.Accept(h); mm.Hook != nil {
			return mm
		}
	}
	// Accepted: make the staging directory.
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	rs.staging = rs.target + ".restore-" + hex.EncodeToString(rnd[:])
	if err := os.Mkdir(rs.staging, 0o700); err != nil {
		return fmt.Errorf("backup: staging directory: %w", err)
	}
	root, err := os.OpenRoot(rs.staging)
	if err != nil {
		os.Remove(rs.staging)
		rs.staging = ""
		return fmt.Errorf("backup: staging directory: %w", err)
	}
	rs.root = root
	return nil
}

func (rs *restorer) dir(e *Entry) error {
	if e.Path != "." {
		if err := rs.root.Mkdir(e.Path, 0o700); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	return nil
}

func (rs *restorer) symlink(e *Entry) error {
	if err := rs.root.Symlink(e.Target, e.Path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if rs.root0 {
		if err := rs.root.Lchown(e.Path, e.UID, e.GID); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	return nil
}

func (rs *restorer) file(e *Entry, stream bool) (io.WriteCloser, error) {
	p := e.Path
	if stream {
		p = rs.streamDir + "/" + e.Path
		if err := rs.makeStreamDir(); err != nil {
			return nil, err
		}
		// A tree backed up after an earlier restore holds the streams of
		// then: the stream replaces its old copy.
		if fi, err := rs.root.Lstat(p); err == nil {
			if !fi.Mode().IsRegular() {
				return nil, pathErr(ErrUnsafePath, p, "stream path is not a regular file in the tree")
			}
			if err := rs.root.Remove(p); err != nil {
				return nil, fmt.Errorf("backup: %w", err)
			}
		}
	}
	f, err := rs.root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return &stagedFile{f: f, e: e, rs: rs}, nil
}

// makeStreamDir makes the stream directory, refusing one whose path in the
// restored tree runs through anything but directories.
func (rs *restorer) makeStreamDir() error {
	if rs.streams {
		return nil
	}
	cur := ""
	for _, el := range strings.Split(rs.streamDir, "/") {
		if cur != "" {
			cur += "/"
		}
		cur += el
		fi, err := rs.root.Lstat(cur)
		switch {
		case err == nil && fi.IsDir():
			continue
		case err == nil:
			return pathErr(ErrUnsafePath, cur, "stream directory runs through a non-directory")
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("backup: %w", err)
		}
		if err := rs.root.Mkdir(cur, 0o700); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	rs.streams = true
	return nil
}

// stagedFile applies owner, mode and time and syncs on Close.
type stagedFile struct {
	f  *os.File
	e  *Entry
	rs *restorer
}

func (s *stagedFile) Write(p []byte) (int, error) { return s.f.Write(p) }

func (s *stagedFile) Close() error {
	err := s.apply()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *stagedFile) apply() error {
	if s.rs.root0 {
		if err := s.f.Chown(s.e.UID, s.e.GID); err != nil {
			return err
		}
	}
	// After chown, which clears setuid and setgid.
	if err := s.f.Chmod(goMode(s.e.Mode)); err != nil {
		return err
	}
	if err := s.f.Sync(); err != nil {
		return err
	}
	return nil
}

// finish applies the files' modification times, then the directories'
// owners, modes and times, deepest first so that nothing changes them
// afterwards, syncing each directory. The manifest has matched the members
// when this runs; its times have nanoseconds, the tar's only seconds.
func (rs *restorer) finish(m *Manifest) error {
	if rs.root == nil {
		return fmt.Errorf("%w: no tree in the backup", ErrMalformed)
	}
	defer func() {
		rs.root.Close()
		rs.root = nil
	}()
	for i := range m.Files {
		e := &m.Files[i]
		if e.Type == TypeFile {
			if err := rs.root.Chtimes(e.Path, e.ModTime, e.ModTime); err != nil {
				return fmt.Errorf("backup: %w", err)
			}
		}
	}
	for i := len(m.Files) - 1; i >= 0; i-- {
		e := &m.Files[i]
		if e.Type != TypeDir {
			continue
		}
		d, err := rs.root.Open(e.Path)
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		if rs.root0 {
			if err := rs.root.Lchown(e.Path, e.UID, e.GID); err != nil {
				return fmt.Errorf("backup: %w", err)
			}
		}
		if err := rs.root.Chmod(e.Path, goMode(e.Mode)); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		if err := rs.root.Chtimes(e.Path, e.ModTime, e.ModTime); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	return nil
}

// abort removes the staging directory.
func (rs *restorer) abort() {
	if rs.root != nil {
		rs.root.Close()
		rs.root = nil
	}
	if rs.staging != "" {
		removeTree(rs.staging)
		rs.staging = ""
	}
}

// removeTree removes a tree, first making its directories writable (a
// restored tree may hold read-only ones).
func removeTree(p string) error {
	if err := os.RemoveAll(p); err == nil {
		return nil
	}
	filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(q, 0o700)
		}
		return nil
	})
	return os.RemoveAll(p)
}

func syncDir(p string) error {
	d, err := os.Open(p)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
