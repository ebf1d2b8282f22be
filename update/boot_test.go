package update

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBootEntryNames(t *testing.T) {
	for _, c := range []struct {
		file       string
		name       string
		left, done int
		counted    bool
	}{
		{"fogkit-2+3.conf", "fogkit-2", 3, 0, true},
		{"fogkit-2+0-3.conf", "fogkit-2", 0, 3, true},
		{"fogkit-2.conf", "fogkit-2", -1, 0, false},
		{"a+b.conf", "a+b", -1, 0, false},
		{"c++.conf", "c++", -1, 0, false},
	} {
		n, l, d, counted, err := ParseBootEntryName(c.file)
		require.NoError(t, err)
		require.Equal(t, []any{c.name, c.left, c.done, c.counted}, []any{n, l, d, counted}, c.file)
		if counted {
			require.Equal(t, c.file, BootEntryName(n, l, d))
		}
	}
	_, _, _, _, err := ParseBootEntryName("x.txt")
	require.ErrorIs(t, err, ErrMalformed)
}

func TestBootEntryLifecycle(t *testing.T) {
	m := NewMemFS()
	require.NoError(t, m.Mkdir("loader", 0o755))
	require.NoError(t, m.Mkdir("loader/entries", 0o755))
	dir := "loader/entries"
	require.NoError(t, WriteBootEntry(m, dir, "fogkit-1", []byte("title v1\n"), 3))
	require.NoError(t, BlessBootEntry(m, dir, "fogkit-1"))
	require.NoError(t, WriteBootEntry(m, dir, "fogkit-2", []byte("title v2\n"), 3))
	left, done, err := BootEntryTries(m, dir, "fogkit-2")
	require.NoError(t, err)
	require.Equal(t, []int{3, 0}, []int{left, done})
	// What systemd-boot does on a boot attempt.
	require.NoError(t, m.Rename(dir+"/fogkit-2+3.conf", dir+"/fogkit-2+2-1.conf"))
	left, done, err = BootEntryTries(m, dir, "fogkit-2")
	require.NoError(t, err)
	require.Equal(t, []int{2, 1}, []int{left, done})
	require.NoError(t, BlessBootEntry(m, dir, "fogkit-2"))
	ents, err := m.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	require.Equal(t, []string{"fogkit-1.conf", "fogkit-2.conf"}, names)
	// Rewriting an entry replaces the old file.
	require.NoError(t, WriteBootEntry(m, dir, "fogkit-2", []byte("title v2b\n"), 2))
	ents, err = m.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 2)
}
