package update

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"

	"github.com/fogkit/fogkit/update/bsdiff"
	"github.com/fogkit/fogkit/update/delta"
)

// Apply is the one place where the two roles of this package meet. It
// reads a package through read.go's unexported steps, the same ones Verify
// runs: openPackage (outer structure, manifest, signatures, policy),
// spoolPayload and checkContent (the payload copied once, its digest and
// every member checked before anything is written), withPayload and
// memberIter (the verified copy decrypted again and streamed member by
// member, a patch's own hash checked before the patcher sees it). Those
// steps carry ordering guarantees that a public API would have to keep
// for every caller; until one exists, slots and state stay in this package.

// ApplyOptions configure Apply.
type ApplyOptions struct {
	VerifyOptions
	// AllowReinstall accepts a package whose sequence equals the installed
	// one (and re-stages it).
	AllowReinstall bool `json:"allowReinstall,omitempty"`
	// AllowDowngrade accepts a package older than the highest sequence
	// ever installed (State.HighestSequence), even older than the current
	// slot: an explicit downgrade. The floor itself stays where it was.
	AllowDowngrade bool `json:"allowDowngrade,omitempty"`
	// MaxBootAttempts for the new pending slot (default 3).
	MaxBootAttempts int `json:"maxBootAttempts,omitempty"`
	// Confirmed commits the new slot as good right away. A first install
	// (no current slot) is always committed as good: there is nothing to
	// roll back to.
	Confirmed bool `json:"confirmed,omitempty"`
	// NoLinks copies unchanged files instead of hard-linking them.
	NoLinks bool `json:"noLinks,omitempty"`
	// WaitLock makes Apply wait (until ctx ends) for the target's lock
	// while another operation holds it, instead of failing at once with
	// ErrBusy.
	WaitLock bool `json:"waitLock,omitempty"`
}

// ApplyReport says what Apply did.
type ApplyReport struct {
	Manifest *Manifest
	KeyIDs   []string
	From     *Slot // nil on a first install
	To       Slot
	// AlreadyInstalled: the package's version is the current one; the
	// package was verified completely (signature, payload, every member)
	// and nothing was written.
	AlreadyInstalled bool
	Steps            int // steps applied (a bundle may skip its first ones)
	Written          int // files written whole
	Patched          int
	Reused           int // unchanged files hard-linked
	Copied           int // unchanged files copied
	BytesWritten     int64
	Recovered        *RecoverReport // what recovery cleaned before applying
}

// Apply verifies a package completely, then installs it into the target
// behind fsys: the new tree is staged in a new slot beside the current one
// (unchanged files hard-linked or copied, patched and new files written
// and fsynced), every file and the tree digest are verified, and one
// atomic replacement of the state file switches to it. The new slot stays
// pending until Confirm. Nothing is written before the package has passed
// every check (signature, vendor/product/channel, sequence, base files,
// free space, payload digest and every payload member). A failure or a
// cancellation before the switch leaves the target as it was; a crash at
// any point leaves exactly the old or exactly the new tree after Recover.
//
// A package must be newer than the current slot and not older than
// State.HighestSequence (the newest version ever installed, kept across
// rollbacks) unless o.AllowDowngrade; one naming the current version is
// verified completely and reported AlreadyInstalled. Apply holds the
// target's lock throughout: ErrBusy when another operation has it, unless
// o.WaitLock.
func Apply(ctx context.Context, fsys FS, r io.ReaderAt, size int64, o *ApplyOptions) (*ApplyReport, error) {
	if o == nil {
		o = &ApplyOptions{}
	}
	unlock, err := lockTarget(ctx, fsys, o.WaitLock)
	if err != nil {
		return nil, err
	}
	defer unlock()
	rec, err := recoverTarget(ctx, fsys)
	if err != nil {
		return nil, err
	}
	st, err := ReadState(fsys)
	installed := err == nil
	if err != nil && !errors.Is(err, ErrNotInstalled) {
		return nil, err
	}
	vo := o.VerifyOptions
	if installed {
		// The installed vendor and product always bind; the channel may be
		// switched by the caller's options.
		if vo.Vendor != "" && vo.Vendor != st.Vendor {
			return nil, &PolicyError{Field: "vendor", Want: st.Vendor, Got: vo.Vendor, Err: ErrWrongVendor}
		}
		if vo.Product != "" && vo.Product != st.Product {
			return nil, &PolicyError{Field: "product", Want: st.Product, Got: vo.Product, Err: ErrWrongProduct}
		}
		vo.Vendor, vo.Product = st.Vendor, st.Product
		if vo.Channel == "" {
			vo.Channel = st.Channel
		}
		// The installed sequence itself passes the signature-time check,
		// so that re-applying the installed package reports
		// AlreadyInstalled; the floor is checked once that is ruled out.
		if !o.AllowDowngrade && st.Current.Sequence-1 > vo.MinSequence {
			vo.MinSequence = st.Current.Sequence - 1
		}
	}
	head, tr, ids, err := openPackage(ctx, r, size, &vo)
	if err != nil {
		return nil, err
	}
	m := head.manifest
	rep := &ApplyReport{Manifest: m, KeyIDs: ids, Recovered: rec}
	if installed {
		cur := st.Current
		rep.From = &cur
		if m.Sequence == cur.Sequence && m.Tree == cur.Tree && !o.AllowReinstall {
			// Nothing to do, but only for a package that passes every
			// check: "already installed" must not be the answer to a
			// corrupt or tampered package that happens to name the
			// installed version.
			sp, err := spoolPayload(ctx, tr, head, o.Progress, vo.SpoolDir)
			if err != nil {
				return nil, err
			}
			defer sp.close()
			if err := checkContent(ctx, sp, &vo, head); err != nil {
				return nil, err
			}
			rep.AlreadyInstalled, rep.To = true, cur
			return rep, nil
		}
		if st.Pending {
			return nil, fmt.Errorf("%w: slot %s (version %s)", ErrPending, st.Current.Name, st.Current.Version)
		}
		if m.Sequence == cur.Sequence && !o.AllowReinstall {
			return nil, &PolicyError{Field: "sequence", Want: "> " + strconv.FormatUint(cur.Sequence, 10), Got: strconv.FormatUint(m.Sequence, 10), Err: ErrDowngrade}
		}
		// The replay floor: after a rollback the current slot is older
		// than the newest version ever installed, and nothing below that
		// may come back. The newest version itself may be retried.
		if floor := st.HighestSequence; m.Sequence < floor && m.Sequence != cur.Sequence && !o.AllowDowngrade {
			return nil, &PolicyError{Field: "sequence", Want: ">= " + strconv.FormatUint(floor, 10) + " (highest installed)", Got: strconv.FormatUint(m.Sequence, 10), Err: ErrDowngrade}
		}
	}
	if len(m.Steps) == 0 {
		return nil, fmt.Errorf("%w: %s package carries no tree of its own", ErrNotApplicable, m.Kind)
	}
	start := 0
	if m.Steps[0].From != nil {
		if !installed {
			return nil, fmt.Errorf("%w: a %s package needs an installed version", ErrNotInstalled, m.Kind)
		}
		start = -1
		for i, s := range m.Steps {
			if s.From.Tree == st.Current.Tree {
				start = i
				break
			}
		}
		if start < 0 {
			return nil, &BaseError{Want: m.Steps[0].From.Tree + " (version " + m.Steps[0].From.Version + ")", Got: st.Current.Tree + " (version " + st.Current.Version + ")"}
		}
		if err := checkBase(ctx, fsys, st.Current.Dir(), m.Steps[start].From, o.Progress); err != nil {
			return nil, err
		}
	}
	if free, err := fsys.Free(); err == nil && free >= 0 && free < m.SpaceNeeded {
		return nil, &PolicyError{Field: "space", Want: strconv.FormatInt(m.SpaceNeeded, 10) + " bytes", Got: strconv.FormatInt(free, 10) + " bytes", Err: ErrNoSpace}
	}
	sp, err := spoolPayload(ctx, tr, head, o.Progress, vo.SpoolDir)
	if err != nil {
		return nil, err
	}
	defer sp.close()
	if err := checkContent(ctx, sp, &vo, head); err != nil {
		return nil, err
	}

	// Everything checked: from here on we write, into a new slot only.
	newSlot := Slot{Version: m.Version, Sequence: m.Sequence, Tree: m.Tree}
	newSlot.Name = slotName(m, st)
	rep.To = newSlot
	if err := stageAndCommit(ctx, fsys, sp, &vo, o, head, st, start, newSlot, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

func slotName(m *Manifest, st *State) string {
	base := strconv.FormatUint(m.Sequence, 10) + "-" + m.Tree[7:19]
	for n := 0; ; n++ {
		name := base
		if n > 0 {
			name += "-" + strconv.Itoa(n)
		}
		if st == nil || (name != st.Current.Name && (st.Previous == nil || name != st.Previous.Name)) {
			return name
		}
	}
}

// checkBase verifies the installed slot against a step's base: every base
// file by size and hash (naming the first that differs), then the whole
// tree digest.
func checkBase(ctx context.Context, fsys FS, dir string, b *Base, progress func(Event)) error {
	for i, f := range b.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		emit(progress, Event{Stage: "verify", File: f.Path, Done: int64(i + 1), Total: int64(len(b.Files))})
		p := dir + "/" + f.Path
		info, err := fsys.Lstat(p)
		if err != nil || !info.Mode().IsRegular() {
			return &BaseError{File: f.Path, Want: "sha256:" + f.SHA256, Got: "missing or not a regular file"}
		}
		if info.Size() != f.Size {
			return &BaseError{File: f.Path, Want: "sha256:" + f.SHA256 + " (" + strconv.FormatInt(f.Size, 10) + " bytes)", Got: strconv.FormatInt(info.Size(), 10) + " bytes"}
		}
		sum, _, err := hashFile(fsys, p, f.Size)
		if err != nil {
			return err
		}
		if sum != f.SHA256 {
			return &BaseError{File: f.Path, Want: "sha256:" + f.SHA256, Got: "sha256:" + sum}
		}
	}
	entries, err := scanSlot(ctx, fsys, dir)
	if err != nil {
		return err
	}
	if got := TreeDigest(entries); got != b.Tree {
		return &BaseError{Want: b.Tree, Got: got}
	}
	return nil
}

func hashFile(fsys FS, p string, max int64) (string, int64, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, max+1))
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// scanSlot lists and hashes a tree through fsys.
func scanSlot(ctx context.Context, fsys FS, dir string) ([]Entry, error) {
	var out []Entry
	var walk func(rel string) error
	walk = func(rel string) error {
		full := dir
		if rel != "" {
			full = dir + "/" + rel
		}
		ents, err := fsys.ReadDir(full)
		if err != nil {
			return err
		}
		for _, d := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			p := d.Name()
			if rel != "" {
				p = rel + "/" + p
			}
			info, err := fsys.Lstat(dir + "/" + p)
			if err != nil {
				return err
			}
			e := Entry{Path: p, Mode: modeBits(info.Mode())}
			switch t := info.Mode().Type(); t {
			case 0:
				e.Type = TypeFile
				if e.SHA256, e.Size, err = hashFile(fsys, dir+"/"+p, 1<<62); err != nil {
					return err
				}
			case fs.ModeDir:
				e.Type = TypeDir
			case fs.ModeSymlink:
				e.Type, e.Mode = TypeSymlink, 0o777
				if e.Target, err = fsys.Readlink(dir + "/" + p); err != nil {
					return err
				}
			default:
				e.Type = "other"
			}
			out = append(out, e)
			if e.Type == TypeDir {
				if err := walk(p); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(""); err != nil {
		return nil, err
	}
	return out, nil
}

// stageAndCommit writes the new slot, verifies it and switches to it.
func stageAndCommit(ctx context.Context, fsys FS, sp *spool, vo *VerifyOptions, o *ApplyOptions,
	head *pkgHead, st *State, start int, slot Slot, rep *ApplyReport) (err error) {
	m := head.manifest
	j := journal{Op: "apply", Slot: slot.Name, Phase: "stage"}
	committed := false
	defer func() {
		if err != nil && !committed {
			// Best effort: a crash here is handled by Recover later.
			if _, rerr := recoverTarget(context.WithoutCancel(ctx), fsys); rerr != nil {
				err = fmt.Errorf("%w (and cleaning up failed: %v)", err, rerr)
			}
		}
	}()
	if _, err := fsys.Lstat(SlotsDir); errors.Is(err, fs.ErrNotExist) {
		if err := fsys.Mkdir(SlotsDir, 0o755); err != nil {
			return err
		}
		if err := fsys.SyncDir("."); err != nil {
			return err
		}
	}
	jb, _ := json.Marshal(j)
	if err := writeFileAtomic(fsys, JournalFile, jb); err != nil {
		return err
	}
	baseDir := ""
	// The target's directories whose files may share an inode with a
	// base file because Apply linked them (see linkable).
	var known []string
	if st != nil {
		baseDir = st.Current.Dir()
		known = append(known, st.Current.Dir())
		if st.Previous != nil {
			known = append(known, st.Previous.Dir())
		}
	}
	var stageDirs []string
	err = withPayload(ctx, sp, vo, head, func(plain io.Reader) error {
		it := newMemberIter(plain, m)
		// Skip the members of steps already installed.
		for it.i < len(it.list) && it.list[it.i].step >= 0 && it.list[it.i].step < start {
			if _, _, err := it.next(); err != nil {
				return err
			}
		}
		for k := start; k < len(m.Steps); k++ {
			out := SlotsDir + "/" + slot.Name + ".step" + strconv.Itoa(k)
			stageDirs = append(stageDirs, out)
			if err := stageStep(ctx, fsys, it, k, &m.Steps[k], baseDir, out, known, o, rep); err != nil {
				return err
			}
			known = append(known, out)
			rep.Steps++
			baseDir = out
		}
		// Drain nested members so their hashes are checked too.
		for it.i < len(it.list) {
			if _, _, err := it.next(); err != nil {
				return err
			}
		}
		return it.end()
	})
	if err != nil {
		return err
	}
	final := stageDirs[len(stageDirs)-1]
	for _, d := range stageDirs[:len(stageDirs)-1] {
		if err := removeAll(fsys, d); err != nil {
			return err
		}
	}
	if err := fsys.Rename(final, slot.Dir()); err != nil {
		return err
	}
	if err := fsys.SyncDir(SlotsDir); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	j.Phase = "commit"
	jb, _ = json.Marshal(j)
	if err := writeFileAtomic(fsys, JournalFile, jb); err != nil {
		return err
	}
	emit(o.Progress, Event{Stage: "commit", File: slot.Name})
	// A first install has nothing to roll back to, so it is never pending:
	// BootAttempt would otherwise count it down to a dead end.
	ns := &State{Format: FormatVersion, Vendor: m.Vendor, Product: m.Product, Channel: m.Channel, Current: slot,
		Pending: !o.Confirmed && st != nil, MaxAttempts: o.MaxBootAttempts}
	if ns.MaxAttempts <= 0 {
		ns.MaxAttempts = DefaultMaxBootAttempts
	}
	ns.HighestSequence = slot.Sequence
	if st != nil {
		prev := st.Current
		ns.Previous = &prev
		ns.HighestSequence = max(ns.HighestSequence, st.floor())
	}
	// The switch: one atomic rename of the state file.
	if err := writeState(fsys, ns); err != nil {
		return err
	}
	committed = true
	emit(o.Progress, Event{Stage: "cleanup", File: slot.Name})
	if _, err := recoverTarget(context.WithoutCancel(ctx), fsys); err != nil {
		return fmt.Errorf("update: applied, but cleaning up failed: %w", err)
	}
	return nil
}

// stageStep builds one step's tree in out from the tree in base.
// known lists the target's other directories (slots and earlier steps)
// whose files may share an inode with a base file.
func stageStep(ctx context.Context, fsys FS, it *memberIter, k int, s *Step, base, out string, known []string, o *ApplyOptions, rep *ApplyReport) error {
	var others []string
	for _, d := range known {
		if d != base {
			others = append(others, d)
		}
	}
	if err := fsys.Mkdir(out, 0o700); err != nil {
		return err
	}
	baseFiles := map[string]BaseFile{}
	if s.From != nil {
		for _, b := range s.From.Files {
			baseFiles[b.Path] = b
		}
	}
	var dirs []File
	for i, f := range s.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		emit(o.Progress, Event{Stage: "stage", File: f.Path, Done: int64(i + 1), Total: int64(len(s.Files))})
		dst := out + "/" + f.Path
		switch f.Type {
		case TypeDir:
			if err := fsys.Mkdir(dst, 0o700); err != nil {
				return err
			}
			dirs = append(dirs, f)
		case TypeSymlink:
			if err := fsys.Symlink(f.Target, dst); err != nil {
				return err
			}
		case TypeFile:
			switch f.Op {
			case OpKeep:
				if err := reuse(fsys, base, f.Path, dst, f, others, o.NoLinks, rep); err != nil {
					return err
				}
			case OpData:
				mem, rd, err := it.next()
				if err != nil {
					return err
				}
				if mem.step != k || s.Files[mem.file].Path != f.Path {
					return malformed("payload order does not match step %d", k)
				}
				if err := writeFile(fsys, dst, f, rd); err != nil {
					return err
				}
				rep.Written++
				rep.BytesWritten += f.Size
			case OpPatch:
				mem, rd, err := it.next()
				if err != nil {
					return err
				}
				if mem.step != k || s.Files[mem.file].Path != f.Path {
					return malformed("payload order does not match step %d", k)
				}
				bf := baseFiles[f.Path]
				if f.PatchFormat == PatchFormatDelta {
					if err := applyDelta(ctx, fsys, base+"/"+f.Path, dst, f, bf, mem, rd, it); err != nil {
						return err
					}
					rep.Patched++
					rep.BytesWritten += f.Size
					continue
				}
				old, err := readFileFS(fsys, base+"/"+f.Path, bf.Size)
				if err != nil {
					return err
				}
				if sum := sha256.Sum256(old); hex.EncodeToString(sum[:]) != bf.SHA256 || int64(len(old)) != bf.Size {
					return &BaseError{File: f.Path, Want: "sha256:" + bf.SHA256, Got: "sha256:" + hex.EncodeToString(sum[:])}
				}
				// The patch member's size is bounded by the manifest
				// (DataSize); its header must declare exactly the
				// manifest's size before anything is allocated for it.
				patch, err := io.ReadAll(io.LimitReader(rd, mem.size))
				if err != nil {
					return malformed("payload entry %s: %v", mem.name, err)
				}
				// The patch's own hash is checked before the patcher sees
				// a byte of it.
				if err := it.finish(); err != nil {
					return err
				}
				if h, err := bsdiff.ReadHeader(patch, f.Size); err == nil && h.NewSize != f.Size {
					return &EntryError{Name: f.Path, Reason: fmt.Sprintf("patch makes %d bytes, manifest says %d", h.NewSize, f.Size), Err: ErrMalformed}
				}
				newb, err := bsdiff.PatchBytes(old, patch, f.Size)
				if err != nil {
					kind := ErrMalformed
					if errors.Is(err, bsdiff.ErrTooLarge) {
						kind = ErrTooLarge
					}
					return &EntryError{Name: f.Path, Reason: "patch: " + err.Error(), Err: kind}
				}
				if err := writeFile(fsys, dst, f, bytes.NewReader(newb)); err != nil {
					return err
				}
				rep.Patched++
				rep.BytesWritten += f.Size
			}
		}
	}
	// Directory modes last (a read-only directory must be filled first),
	// then make every directory's entries durable, deepest first.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := fsys.Chmod(out+"/"+dirs[i].Path, fileMode(dirs[i].Mode)); err != nil {
			return err
		}
	}
	if err := fsys.Chmod(out, 0o755); err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := fsys.SyncDir(out + "/" + dirs[i].Path); err != nil {
			return err
		}
	}
	if err := fsys.SyncDir(out); err != nil {
		return err
	}
	// Verify what was written: every file's hash and the tree digest.
	emit(o.Progress, Event{Stage: "check", File: s.Version})
	entries, err := scanSlot(ctx, fsys, out)
	if err != nil {
		return err
	}
	if got := TreeDigest(entries); got != s.Tree {
		return &DigestError{Name: "tree of version " + s.Version, Want: s.Tree, Got: got}
	}
	return nil
}

// writeFile writes a new file with its content from r, checking size and
// hash, then sets its mode and fsyncs it.
func writeFile(fsys FS, dst string, f File, r io.Reader) error {
	return writeFileFrom(fsys, dst, f, func(w io.Writer) (int64, error) {
		return io.Copy(w, io.LimitReader(r, f.Size+1))
	})
}

// writeFileFrom is writeFile with the content written by fill.
func writeFileFrom(fsys FS, dst string, f File, fill func(w io.Writer) (int64, error)) error {
	w, err := fsys.Create(dst, 0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := fill(io.MultiWriter(w, h))
	if err == nil && n != f.Size {
		err = &DigestError{Name: f.Path, Want: strconv.FormatInt(f.Size, 10) + " bytes", Got: strconv.FormatInt(n, 10) + " bytes"}
	}
	if err == nil {
		if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
			err = &DigestError{Name: f.Path, Want: f.SHA256, Got: got}
		}
	}
	if err == nil {
		err = w.Chmod(fileMode(f.Mode))
	}
	if err == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

// reuse hard-links an unchanged file when its mode is unchanged and every
// link it already has is one Apply made (linkable), and copies it
// otherwise.
func reuse(fsys FS, base, rel, dst string, f File, others []string, noLinks bool, rep *ApplyReport) error {
	src := base + "/" + rel
	info, err := fsys.Lstat(src)
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return &BaseError{File: f.Path, Want: "regular file", Got: info.Mode().Type().String()}
	}
	if !noLinks && modeBits(info.Mode()) == f.Mode && linkable(fsys, info, rel, others) {
		// A failed link (no hard links on this FS) falls back to a copy;
		// an FS that has failed altogether fails the copy too.
		if err := fsys.Link(src, dst); err == nil {
			rep.Reused++
			return nil
		}
	}
	rc, err := fsys.Open(src)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := writeFile(fsys, dst, f, rc); err != nil {
		return err
	}
	rep.Copied++
	return nil
}

// applyDelta produces the file f from its base (at src) and an fkdelta1
// patch streamed from the payload: the patch is never held whole, the
// base is read through io.ReaderAt and the new file written as it comes,
// so memory stays at one segment's streams whatever the size. The patch
// member's bytes come from the spool whose every member was hashed
// before staging began (checkContent); its own hash is checked again
// once it is read, and writeFileFrom checks the produced file's size and
// hash before the slot can be committed. The patch header must name the
// base and result the manifest names, before a byte is written.
func applyDelta(ctx context.Context, fsys FS, src, dst string, f File, bf BaseFile, mem member, rd io.Reader, it *memberIter) error {
	patch := io.LimitReader(rd, mem.size)
	var hb [delta.HeaderSize]byte
	if _, err := io.ReadFull(patch, hb[:]); err != nil {
		return &EntryError{Name: f.Path, Reason: "patch header: " + err.Error(), Err: ErrMalformed}
	}
	h, err := delta.ReadHeader(bytes.NewReader(hb[:]))
	if err != nil {
		return &EntryError{Name: f.Path, Reason: "patch: " + err.Error(), Err: ErrMalformed}
	}
	if h.NewSize != f.Size || h.NewDigest() != f.SHA256 {
		return &EntryError{Name: f.Path, Reason: fmt.Sprintf("patch makes %d bytes sha256:%s, manifest says %d sha256:%s", h.NewSize, h.NewDigest(), f.Size, f.SHA256), Err: ErrMalformed}
	}
	if h.OldSize != bf.Size || h.OldDigest() != bf.SHA256 {
		return &BaseError{File: f.Path, Want: "sha256:" + bf.SHA256, Got: "patch made from sha256:" + h.OldDigest()}
	}
	rc, err := fsys.Open(src)
	if err != nil {
		return err
	}
	defer rc.Close()
	var old io.ReaderAt
	if ra, ok := rc.(io.ReaderAt); ok {
		old = ra
	} else {
		// An FS whose files cannot be read at an offset: the base is read
		// into memory, within the BSDIFF40 bound.
		b, err := io.ReadAll(io.LimitReader(rc, min(bf.Size, 512<<20)+1))
		if err != nil {
			return err
		}
		if int64(len(b)) != bf.Size {
			return &EntryError{Name: f.Path, Reason: "base file cannot be read at offsets and is too large to read whole", Err: ErrUnsupported}
		}
		old = bytes.NewReader(b)
	}
	full := io.MultiReader(bytes.NewReader(hb[:]), patch)
	err = writeFileFrom(fsys, dst, f, func(w io.Writer) (int64, error) {
		n, err := delta.Apply(ctx, w, old, bf.Size, full, &delta.ApplyOptions{MaxNewSize: f.Size})
		if err != nil {
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			var pe *delta.PatchError
			if errors.As(err, &pe) {
				kind := ErrMalformed
				switch {
				case errors.Is(err, delta.ErrTooLarge):
					kind = ErrTooLarge
				case errors.Is(err, delta.ErrWrongBase):
					return n, &BaseError{File: f.Path, Want: "sha256:" + bf.SHA256, Got: "a file the patch refuses: " + err.Error()}
				case errors.Is(err, delta.ErrDigest):
					return n, &DigestError{Name: f.Path, Want: f.SHA256, Got: err.Error()}
				}
				return n, &EntryError{Name: f.Path, Reason: "patch: " + err.Error(), Err: kind}
			}
		}
		return n, err
	})
	if err != nil {
		return err
	}
	// The member's own hash: drained and checked before the next member.
	return it.finish()
}
