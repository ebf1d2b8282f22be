package license

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fogkit/fogkit/sign"
	"github.com/stretchr/testify/require"
)

func TestFileStore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	fs := NewFileStore(path)
	require.Equal(t, path, fs.Path())

	got, err := fs.Load(t.Context())
	require.NoError(t, err, "a missing file is an empty state")
	require.Equal(t, State{}, got)

	_, err = fs.Merge(t.Context(), State{LastSeen: t0.Add(time.Hour), Sequences: map[string]uint64{"c": 4}})
	require.NoError(t, err)
	got, err = fs.Merge(t.Context(), State{LastSeen: t0, Sequences: map[string]uint64{"c": 2, "d": 1}, Revoked: []string{"x"}})
	require.NoError(t, err)
	want := State{LastSeen: t0.Add(time.Hour), Sequences: map[string]uint64{"c": 4, "d": 1}, Revoked: []string{"x"}}
	require.Equal(t, want, got, "never lowered")

	// A fresh store on the same file reads the same state.
	got, err = NewFileStore(path).Load(t.Context())
	require.NoError(t, err)
	require.Equal(t, want, got)

	// The file is deterministic JSON and no temporary files are left.
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, `{
  "lastSeen": "2026-01-01T01:00:00Z",
  "sequences": {
    "c": 4,
    "d": 1
  },
  "revoked": [
    "x"
  ]
}
`, string(data))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)

	// Concurrent merges all land.
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := fs.Merge(t.Context(), State{Sequences: map[string]uint64{"c": uint64(i)}, Revoked: []string{string(rune('a' + i))}})
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	got, err = fs.Load(t.Context())
	require.NoError(t, err)
	require.EqualValues(t, 15, got.Sequences["c"])
	require.Len(t, got.Revoked, 17)
}

func TestFileStoreCorrupt(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"garbage":  "not json",
		"unknown":  `{"lastSeen":"2026-01-01T00:00:00Z","extra":1}`,
		"trailing": `{} {}`,
		"huge":     `{"revoked":["` + string(bytes.Repeat([]byte("a"), MaxStateSize)) + `"]}`,
	} {
		path := filepath.Join(dir, name+".json")
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		_, err := NewFileStore(path).Load(t.Context())
		require.ErrorIs(t, err, ErrState, name)
		_, err = NewFileStore(path).Merge(t.Context(), State{LastSeen: t0})
		require.ErrorIs(t, err, ErrState, name)
		after, _ := os.ReadFile(path)
		require.Equal(t, content, string(after), "a corrupt state is never overwritten")
	}
	// Unwritable directory.
	_, err := NewFileStore(filepath.Join(dir, "missing", "state.json")).Merge(t.Context(), State{LastSeen: t0})
	require.ErrorIs(t, err, ErrState)
}

func TestVerifyWithFileStore(t *testing.T) {
	s := seedKey(t, 1, sign.PurposeLicense)
	r := ring(t, s.Public())
	data := mustEncode(t, fullLicense(), s)
	store := NewFileStore(filepath.Join(t.TempDir(), "state.json"))
	o := opts(t0.Add(30 * 24 * time.Hour))
	o.State = store
	_, err := Verify(t.Context(), bytes.NewReader(data), r, "acme-appliance", o)
	require.NoError(t, err)
	o2 := opts(t0.Add(2 * time.Hour))
	o2.State = store
	_, err = Verify(t.Context(), bytes.NewReader(data), r, "acme-appliance", o2)
	require.ErrorIs(t, err, ErrClockRollback)
	got, err := store.Load(t.Context())
	require.NoError(t, err)
	require.Equal(t, t0.Add(30*24*time.Hour), got.LastSeen)
	require.EqualValues(t, 3, got.Sequences["cust-42"])
}

func TestMemoryStoreCopies(t *testing.T) {
	m := NewMemoryStore(State{Sequences: map[string]uint64{"a": 1}})
	got, err := m.Load(t.Context())
	require.NoError(t, err)
	got.Sequences["a"] = 0 // must not reach the store
	got, _ = m.Load(t.Context())
	require.EqualValues(t, 1, got.Sequences["a"])
	var zero MemoryStore
	_, err = zero.Merge(t.Context(), State{LastSeen: t0})
	require.NoError(t, err)
}
