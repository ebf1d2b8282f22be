package update

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
)

// AdoptOptions describe the tree Adopt records. Vendor, Product, Version
// and Sequence are required.
type AdoptOptions struct {
	Vendor  string `json:"vendor"`
	Product string `json:"product"`
	// Channel defaults to "stable", as in BuildOptions.
	Channel  string `json:"channel,omitempty"`
	Version  string `json:"version"`
	Sequence uint64 `json:"sequence"`
	// FileMode and DirMode, when set, replace the permission bits the tree
	// reports. A tree on a FAT file system (an ESP) reports the mount's
	// modes, not the ones the build gave the files, and the tree digest
	// covers modes.
	FileMode fs.FileMode `json:"fileMode,omitempty"`
	DirMode  fs.FileMode `json:"dirMode,omitempty"`
	// Tree, when set, is the digest (TreeDigest) the copy must have.
	Tree string `json:"tree,omitempty"`
	// MaxSize caps the bytes copied; default 4 GiB.
	MaxSize int64 `json:"maxSize,omitempty"`
	// MaxFiles caps the entries copied; default 100000.
	MaxFiles int         `json:"maxFiles,omitempty"`
	Progress func(Event) `json:"-"`
}

// Adopt installs a tree that did not come from a package (the version an
// appliance shipped with, found where it boots from) into an empty target
// as its current, confirmed slot, so that diff packages from that version
// apply. Only regular files and directories are accepted, every path is
// checked like a package's, and the copy is staged under a name Recover
// removes, verified (tree digest, and o.Tree when set) and switched to by
// writing the state file, like Apply. A target that already holds a
// version is refused with ErrNotApplicable and left as it is; Adopt holds
// the target's lock (ErrBusy).
func Adopt(ctx context.Context, fsys FS, tree fs.FS, o *AdoptOptions) (*State, error) {
	if o == nil {
		return nil, fmt.Errorf("%w: nil AdoptOptions", ErrMalformed)
	}
	opt := *o
	if opt.Channel == "" {
		opt.Channel = "stable"
	}
	for _, f := range []struct{ n, v string }{{"vendor", opt.Vendor}, {"product", opt.Product}, {"channel", opt.Channel}, {"version", opt.Version}} {
		if err := checkLabel(f.n, f.v, true); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	if opt.Sequence == 0 {
		return nil, fmt.Errorf("%w: sequence 0", ErrMalformed)
	}
	if opt.Tree != "" {
		if err := checkDigest("tree", opt.Tree); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	if opt.FileMode&^fs.ModePerm != 0 || opt.DirMode&^fs.ModePerm != 0 {
		return nil, fmt.Errorf("%w: modes must be permission bits only", ErrMalformed)
	}
	if opt.MaxSize <= 0 {
		opt.MaxSize = 4 << 30
	}
	if opt.MaxFiles <= 0 {
		opt.MaxFiles = 100000
	}
	unlock, err := lockTarget(ctx, fsys, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := recoverTarget(ctx, fsys); err != nil {
		return nil, err
	}
	if st, err := ReadState(fsys); err == nil {
		return nil, fmt.Errorf("%w: target already holds version %s (sequence %d)", ErrNotApplicable, st.Current.Version, st.Current.Sequence)
	} else if !errors.Is(err, ErrNotInstalled) {
		return nil, err
	}
	type item struct {
		path string
		dir  bool
		mode fs.FileMode
		size int64
	}
	var items []item
	var total int64
	err = fs.WalkDir(tree, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if err := checkPath(p); err != nil {
			return &EntryError{Name: p, Reason: err.Error(), Err: ErrUnsafeEntry}
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		it := item{path: p, dir: d.IsDir(), mode: info.Mode().Perm(), size: info.Size()}
		switch {
		case it.dir:
			if opt.DirMode != 0 {
				it.mode = opt.DirMode
			}
		case info.Mode().IsRegular():
			if opt.FileMode != 0 {
				it.mode = opt.FileMode
			}
			total += it.size
		default:
			return &EntryError{Name: p, Reason: "not a regular file or directory: " + info.Mode().Type().String(), Err: ErrUnsupported}
		}
		if len(items) >= opt.MaxFiles || total > opt.MaxSize {
			return &EntryError{Name: p, Reason: "tree exceeds the size or file limit", Err: ErrTooLarge}
		}
		items = append(items, it)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := fsys.Lstat(SlotsDir); errors.Is(err, fs.ErrNotExist) {
		if err := fsys.Mkdir(SlotsDir, 0o755); err != nil {
			return nil, err
		}
		if err := fsys.SyncDir("."); err != nil {
			return nil, err
		}
	}
	stage := SlotsDir + "/adopt.step0" // a staging name: Recover removes it
	if err := removeAll(fsys, stage); err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			_ = removeAll(fsys, stage)
		}
	}()
	if err := fsys.Mkdir(stage, 0o700); err != nil {
		return nil, err
	}
	for i, it := range items {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		emit(opt.Progress, Event{Stage: "stage", File: it.path, Done: int64(i + 1), Total: int64(len(items))})
		dst := stage + "/" + it.path
		if it.dir {
			if err := fsys.Mkdir(dst, 0o700); err != nil {
				return nil, err
			}
			continue
		}
		if err := copyIn(fsys, tree, it.path, dst, it.mode, it.size); err != nil {
			return nil, err
		}
	}
	for i := len(items) - 1; i >= 0; i-- {
		if it := items[i]; it.dir {
			if err := fsys.Chmod(stage+"/"+it.path, it.mode); err != nil {
				return nil, err
			}
			if err := fsys.SyncDir(stage + "/" + it.path); err != nil {
				return nil, err
			}
		}
	}
	if err := fsys.Chmod(stage, 0o755); err != nil {
		return nil, err
	}
	if err := fsys.SyncDir(stage); err != nil {
		return nil, err
	}
	emit(opt.Progress, Event{Stage: "check", File: opt.Version})
	entries, err := scanSlot(ctx, fsys, stage)
	if err != nil {
		return nil, err
	}
	digest := TreeDigest(entries)
	if opt.Tree != "" && digest != opt.Tree {
		return nil, &DigestError{Name: "adopted tree of version " + opt.Version, Want: opt.Tree, Got: digest}
	}
	slot := Slot{Name: strconv.FormatUint(opt.Sequence, 10) + "-" + strings.TrimPrefix(digest, "sha256:")[:12],
		Version: opt.Version, Sequence: opt.Sequence, Tree: digest}
	// The journal names the slot, so that Recover removes it should the
	// state file never be written.
	jb, _ := json.Marshal(journal{Op: "adopt", Slot: slot.Name, Phase: "commit"})
	if err := writeFileAtomic(fsys, JournalFile, jb); err != nil {
		return nil, err
	}
	if err := fsys.Rename(stage, slot.Dir()); err != nil {
		return nil, err
	}
	committed = true
	if err := fsys.SyncDir(SlotsDir); err != nil {
		return nil, err
	}
	st := &State{Format: FormatVersion, Vendor: opt.Vendor, Product: opt.Product, Channel: opt.Channel,
		Current: slot, HighestSequence: opt.Sequence}
	emit(opt.Progress, Event{Stage: "commit", File: slot.Name})
	if err := writeState(fsys, st); err != nil {
		return nil, err
	}
	if _, err := recoverTarget(context.WithoutCancel(ctx), fsys); err != nil {
		return nil, fmt.Errorf("update: adopted, but cleaning up failed: %w", err)
	}
	return st, nil
}

// copyIn copies one file of tree into the target, exactly size bytes.
func copyIn(fsys FS, tree fs.FS, src, dst string, mode fs.FileMode, size int64) error {
	r, err := tree.Open(src)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := fsys.Create(dst, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(w, io.LimitReader(r, size+1))
	if err == nil && n != size {
		err = &EntryError{Name: src, Reason: fmt.Sprintf("%d bytes read, %d expected (changed while copying)", n, size), Err: ErrMalformed}
	}
	if err == nil {
		err = w.Chmod(mode)
	}
	if err == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}
