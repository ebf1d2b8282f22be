package update

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
)

// Layout of a target directory.
const (
	// StateFile records the installed slots; replacing it (temp file,
	// fsync, rename, directory fsync) is the one atomic switch.
	StateFile = "state.json"
	// JournalFile records an apply in progress.
	JournalFile = "journal.json"
	// SlotsDir holds one directory per installed version.
	SlotsDir = "slots"
)

// DefaultMaxBootAttempts is how many boots a pending slot gets.
const DefaultMaxBootAttempts = 3

// Slot is one installed tree.
type Slot struct {
	Name     string `json:"name"` // directory under slots/
	Version  string `json:"version"`
	Sequence uint64 `json:"sequence"`
	Tree     string `json:"tree"`
}

// Dir returns the slot's directory relative to the target.
func (s Slot) Dir() string { return SlotsDir + "/" + s.Name }

// State is the content of the state file.
type State struct {
	Format  int    `json:"format"`
	Vendor  string `json:"vendor"`
	Product string `json:"product"`
	Channel string `json:"channel"`
	// Current is the slot to boot.
	Current Slot `json:"current"`
	// Previous is the slot to fall back to.
	Previous *Slot `json:"previous,omitempty"`
	// Pending is set until Confirm; BootAttempt counts Attempts and rolls
	// back after MaxAttempts.
	Pending     bool `json:"pending,omitempty"`
	Attempts    int  `json:"attempts,omitempty"`
	MaxAttempts int  `json:"maxAttempts,omitempty"`
	// RolledBack is the last slot abandoned by a rollback.
	RolledBack *Slot `json:"rolledBack,omitempty"`
	// HighestSequence is the highest sequence ever installed in the
	// target: the replay floor. A rollback or a failed boot switches back
	// to an older slot but never lowers it, so Apply keeps refusing the
	// packages older than the newest one that was ever installed (unless
	// ApplyOptions.AllowDowngrade). State files written before the field
	// existed lack it; ReadState then derives it from the slots the file
	// names (current, previous, rolled back).
	HighestSequence uint64 `json:"highestSequence,omitempty"`
}

// floor returns the highest sequence the state knows of: the recorded
// HighestSequence or, when higher (or the field is missing), the
// sequence of any slot it names.
func (s *State) floor() uint64 {
	f := s.HighestSequence
	for _, sl := range []*Slot{&s.Current, s.Previous, s.RolledBack} {
		if sl != nil && sl.Sequence > f {
			f = sl.Sequence
		}
	}
	return f
}

// journal is the content of the journal file.
type journal struct {
	Op    string `json:"op"`
	Slot  string `json:"slot"`
	Phase string `json:"phase"`
}

// ReadState returns the target's state; ErrNotInstalled when there is none.
// The state is validated like a manifest: vendor, product and channel
// must be well-formed labels (an empty one would silently disable Apply's
// check against the package), slot names plain names, versions labels,
// trees sha256 digests. Anything else is ErrState. A missing
// HighestSequence (a state file from before the field) is derived from
// the slots.
func ReadState(fsys FS) (*State, error) {
	b, err := readFileFS(fsys, StateFile, 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotInstalled
	}
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, fmt.Errorf("%w: %w", ErrState, err)
		}
		return nil, err
	}
	return parseState(b)
}

// parseState decodes and validates state file bytes.
func parseState(b []byte) (*State, error) {
	var st State
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrState, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrState)
	}
	if st.Format != FormatVersion {
		return nil, fmt.Errorf("%w: format %d (want %d)", ErrState, st.Format, FormatVersion)
	}
	for _, f := range []struct{ n, v string }{{"vendor", st.Vendor}, {"product", st.Product}, {"channel", st.Channel}} {
		if err := checkLabel(f.n, f.v, true); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrState, err)
		}
	}
	for _, s := range []struct {
		n  string
		sl *Slot
	}{{"current", &st.Current}, {"previous", st.Previous}, {"rolled back", st.RolledBack}} {
		if s.sl == nil {
			continue
		}
		if err := checkSlot(s.sl); err != nil {
			return nil, fmt.Errorf("%w: bad %s slot: %v", ErrState, s.n, err)
		}
	}
	if st.Previous != nil && st.Previous.Name == st.Current.Name {
		return nil, fmt.Errorf("%w: previous and current slot are both %s", ErrState, st.Current.Name)
	}
	if st.Attempts < 0 || st.MaxAttempts < 0 {
		return nil, fmt.Errorf("%w: negative boot attempts", ErrState)
	}
	if f := st.floor(); st.HighestSequence == 0 {
		st.HighestSequence = f
	} else if st.HighestSequence < f {
		return nil, fmt.Errorf("%w: highest sequence %d is below an installed slot's %d", ErrState, st.HighestSequence, f)
	}
	return &st, nil
}

// checkSlot validates one slot of a state file.
func checkSlot(s *Slot) error {
	if s.Name == "" || checkPath(s.Name) != nil || path.Base(s.Name) != s.Name || isStagingDir(s.Name) {
		return fmt.Errorf("name %q", s.Name)
	}
	if err := checkLabel("version", s.Version, true); err != nil {
		return err
	}
	if s.Sequence == 0 {
		return errors.New("sequence 0")
	}
	return checkDigest("tree", s.Tree)
}

// removeIfExists removes name when it exists, writing nothing otherwise.
func removeIfExists(fsys FS, name string) error {
	if _, err := fsys.Lstat(name); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	return fsys.Remove(name)
}

func writeState(fsys FS, st *State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(fsys, StateFile, append(b, '\n'))
}
