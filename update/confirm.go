package update

import (
	"context"
	"fmt"
)

// Confirm marks the pending slot good after a successful boot.
func Confirm(ctx context.Context, fsys FS) (*State, error) {
	return onState(ctx, fsys, func(st *State) (*State, error) {
		if !st.Pending {
			return st, nil
		}
		st.Pending, st.Attempts = false, 0
		if err := writeState(fsys, st); err != nil {
			return nil, err
		}
		return st, nil
	})
}

// BootAttempt records one boot of a pending slot; the host calls it early
// in every boot. After MaxAttempts boots without Confirm, the slot is
// rolled back to the previous one. It returns the state to boot from.
func BootAttempt(ctx context.Context, fsys FS) (*State, error) {
	return onState(ctx, fsys, func(st *State) (*State, error) {
		if !st.Pending {
			return st, nil
		}
		st.Attempts++
		if st.Attempts > st.MaxAttempts {
			return rollback(ctx, fsys, st)
		}
		if err := writeState(fsys, st); err != nil {
			return nil, err
		}
		return st, nil
	})
}

// Rollback switches back to the previous slot now.
func Rollback(ctx context.Context, fsys FS) (*State, error) {
	return onState(ctx, fsys, func(st *State) (*State, error) { return rollback(ctx, fsys, st) })
}

// onState runs f on the recovered state while holding the target's lock:
// the common frame of every host call that changes the state.
func onState(ctx context.Context, fsys FS, f func(*State) (*State, error)) (*State, error) {
	unlock, err := lockTarget(ctx, fsys, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := recoveredState(ctx, fsys)
	if err != nil {
		return nil, err
	}
	return f(st)
}

// recoveredState finishes or undoes any interrupted apply, then reads the
// state: every host call that acts on slots starts from a clean target.
func recoveredState(ctx context.Context, fsys FS) (*State, error) {
	if _, err := recoverTarget(ctx, fsys); err != nil {
		return nil, err
	}
	return ReadState(fsys)
}

func rollback(ctx context.Context, fsys FS, st *State) (*State, error) {
	if st.Previous == nil {
		return nil, fmt.Errorf("%w: no previous slot to roll back to", ErrNotApplicable)
	}
	if info, err := fsys.Lstat(st.Previous.Dir()); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("%w: previous slot %s is missing", ErrState, st.Previous.Name)
	}
	failed := st.Current
	// The failed slot's sequence stays the floor: rolling back must not
	// reopen the door to the versions between the two slots.
	ns := &State{Format: FormatVersion, Vendor: st.Vendor, Product: st.Product, Channel: st.Channel,
		Current: *st.Previous, RolledBack: &failed, HighestSequence: st.floor()}
	if err := writeState(fsys, ns); err != nil {
		return nil, err
	}
	if _, err := recoverTarget(ctx, fsys); err != nil {
		return nil, err
	}
	return ns, nil
}
