package update

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// RecoverReport says what Recover cleaned.
type RecoverReport struct {
	// Interrupted is the slot of an apply that did not finish ("" if none).
	Interrupted string
	// Removed lists slot directories removed (unreferenced or half-staged).
	Removed []string
}

// Recover brings a target back to a consistent state after a crash: it
// removes a half-written state file, every slot directory the state does
// not reference (half-staged updates, rolled-back slots) and the journal.
// The state file itself is only ever replaced atomically, so the current
// slot is exactly the old or exactly the new tree. Apply, Confirm,
// BootAttempt and Rollback recover first; hosts may call it at boot. It
// holds the target's lock (ErrBusy when another operation has it).
//
// Without a state file (nothing installed yet, or the state file was
// lost), only staging directories are removed: those named by the journal
// and those with the staging name "<slot>.step<N>". Any other slot
// directory may be an installed tree, so Recover then changes nothing and
// returns an error matching ErrState.
func Recover(ctx context.Context, fsys FS) (*RecoverReport, error) {
	unlock, err := lockTarget(ctx, fsys, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return recoverTarget(ctx, fsys)
}

// recoverTarget is Recover for a caller that holds the lock.
func recoverTarget(ctx context.Context, fsys FS) (*RecoverReport, error) {
	rep := &RecoverReport{}
	if b, err := readFileFS(fsys, JournalFile, 1<<16); err == nil {
		var j journal
		if json.Unmarshal(b, &j) == nil && j.Slot != "" && checkPath(j.Slot) == nil && path.Base(j.Slot) == j.Slot {
			rep.Interrupted = j.Slot
		}
	}
	st, err := ReadState(fsys)
	if err != nil && !errors.Is(err, ErrNotInstalled) {
		return nil, err
	}
	keep := map[string]bool{}
	if st != nil {
		keep[st.Current.Name] = true
		if st.Previous != nil {
			keep[st.Previous.Name] = true
		}
		if _, err := fsys.Lstat(st.Current.Dir()); err != nil {
			return nil, fmt.Errorf("%w: current slot %s: %v", ErrState, st.Current.Name, err)
		}
	}
	ents, err := fsys.ReadDir(SlotsDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	// Decide everything before changing anything.
	var remove []string
	for _, e := range ents {
		name := e.Name()
		if keep[name] {
			continue
		}
		if st == nil && !isStagingDir(name) && name != rep.Interrupted {
			return nil, fmt.Errorf("%w: no state file, but slot %s may be an installed tree; restore %s or remove the slot", ErrState, name, StateFile)
		}
		remove = append(remove, name)
	}
	for _, tmp := range []string{StateFile + ".tmp", JournalFile + ".tmp"} {
		if err := removeIfExists(fsys, tmp); err != nil {
			return nil, err
		}
	}
	for _, name := range remove {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := removeAll(fsys, SlotsDir+"/"+name); err != nil {
			return nil, err
		}
		rep.Removed = append(rep.Removed, name)
	}
	if len(rep.Removed) > 0 {
		if err := fsys.SyncDir(SlotsDir); err != nil {
			return nil, err
		}
	}
	if _, err := fsys.Lstat(JournalFile); err == nil {
		if err := fsys.Remove(JournalFile); err != nil {
			return nil, err
		}
		if err := fsys.SyncDir("."); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// isStagingDir reports whether name is a step directory of an apply in
// progress ("<slot>.step<N>"), a name no installed slot has.
func isStagingDir(name string) bool {
	i := strings.LastIndex(name, ".step")
	if i <= 0 {
		return false
	}
	digits := name[i+len(".step"):]
	if digits == "" {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
