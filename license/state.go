package license

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// State is what a host remembers between verifications so that a license
// cannot be replayed against a rolled-back clock or replaced by an older
// one. It only ever grows: see Store.Merge.
type State struct {
	// LastSeen is the latest clock reading any verification saw.
	LastSeen time.Time `json:"lastSeen"`
	// Sequences holds the highest license sequence accepted per customer id.
	Sequences map[string]uint64 `json:"sequences,omitempty"`
	// Revoked lists revoked license ids, sorted.
	Revoked []string `json:"revoked,omitempty"`
}

// Merge returns the union of s and o: the later LastSeen, the higher
// sequence per customer, every revoked id. Neither input is modified.
func (s State) Merge(o State) State {
	m := State{LastSeen: s.LastSeen}
	if o.LastSeen.After(m.LastSeen) {
		m.LastSeen = o.LastSeen
	}
	if !m.LastSeen.IsZero() {
		m.LastSeen = m.LastSeen.Round(0).UTC()
	}
	if len(s.Sequences)+len(o.Sequences) > 0 {
		m.Sequences = maps.Clone(s.Sequences)
		if m.Sequences == nil {
			m.Sequences = map[string]uint64{}
		}
		for k, v := range o.Sequences {
			if cur, ok := m.Sequences[k]; !ok || v > cur {
				m.Sequences[k] = v
			}
		}
	}
	if len(s.Revoked)+len(o.Revoked) > 0 {
		m.Revoked = slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(s.Revoked), o.Revoked...))))
	}
	return m
}

// IsRevoked reports whether license id is on the revocation list.
func (s State) IsRevoked(id string) bool { return slices.Contains(s.Revoked, id) }

// Store keeps a host's State. Implementations must be safe for concurrent
// use and must never lower what they hold: Merge raises the stored state to
// the union of itself and the argument (State.Merge) atomically.
type Store interface {
	Load(ctx context.Context) (State, error)
	Merge(ctx context.Context, s State) (State, error)
}

// Revoke adds license ids to the store's revocation list.
func Revoke(ctx context.Context, st Store, ids ...string) error {
	_, err := st.Merge(ctx, State{Revoked: ids})
	return err
}

// MemoryStore is a Store in memory, for tests and for hosts that persist
// State themselves. The zero value is ready to use.
type MemoryStore struct {
	mu sync.Mutex
	s  State
}

// NewMemoryStore returns a MemoryStore holding initial.
func NewMemoryStore(initial State) *MemoryStore {
	return &MemoryStore{s: State{}.Merge(initial)}
}

// Load returns a copy of the state.
func (m *MemoryStore) Load(ctx context.Context) (State, error) {
	if err := ctx.Err(); err != nil {
		return State{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return State{}.Merge(m.s), nil
}

// Merge raises the state to include s and returns a copy of the result.
func (m *MemoryStore) Merge(ctx context.Context, s State) (State, error) {
	if err := ctx.Err(); err != nil {
		return State{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.s = m.s.Merge(s)
	return State{}.Merge(m.s), nil
}

// MaxStateSize caps the state file FileStore reads.
const MaxStateSize = 1 << 20

// FileStore is a Store in a JSON file. Writes go to a temporary file in
// the same directory, are synced and then renamed over the old file, so a
// crash leaves either the old or the new state. A missing file is an empty
// state; a corrupt one is an error (never silently reset). One FileStore
// value serialises its own callers; several processes sharing one file
// must serialise themselves.
type FileStore struct {
	path string
	mu   sync.Mutex
}

// NewFileStore returns a store kept in the file at path.
func NewFileStore(path string) *FileStore { return &FileStore{path: path} }

// Path returns the file the store uses.
func (f *FileStore) Path() string { return f.path }

// Load reads the state file.
func (f *FileStore) Load(ctx context.Context) (State, error) {
	if err := ctx.Err(); err != nil {
		return State{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.read()
}

// Merge raises the state file to include s and returns the result.
func (f *FileStore) Merge(ctx context.Context, s State) (State, error) {
	if err := ctx.Err(); err != nil {
		return State{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cur, err := f.read()
	if err != nil {
		return State{}, err
	}
	m := cur.Merge(s)
	if err := f.write(m); err != nil {
		return State{}, err
	}
	return m, nil
}

func (f *FileStore) read() (State, error) {
	fh, err := os.Open(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("%w: %w", ErrState, err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxStateSize+1))
	if err != nil {
		return State{}, fmt.Errorf("%w: %w", ErrState, err)
	}
	return parseState(data, f.path)
}

// parseState decodes a state file's bytes (named name in errors).
func parseState(data []byte, name string) (State, error) {
	if len(data) > MaxStateSize {
		return State{}, fmt.Errorf("%w: %s is larger than %d bytes", ErrState, name, MaxStateSize)
	}
	var s State
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return State{}, fmt.Errorf("%w: %s: %w", ErrState, name, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return State{}, fmt.Errorf("%w: %s: data after the state object", ErrState, name)
	}
	return State{}.Merge(s), nil
}

func (f *FileStore) write(s State) (err error) {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	data = append(data, '\n')
	dir := filepath.Dir(f.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	if err = os.Rename(tmp.Name(), f.path); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync() // best effort: make the rename durable
		d.Close()
	}
	return nil
}
