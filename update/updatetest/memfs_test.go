package updatetest_test

import (
	"errors"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/update"
	"github.com/fogkit/fogkit/update/updatetest"
)

// MemFS satisfies update's interfaces without importing update; this
// file is the one place that checks it does.
var (
	_ update.FS     = (*updatetest.MemFS)(nil)
	_ update.Locker = (*updatetest.MemFS)(nil)
)

// TestLockIsErrBusy: a held lock is refused with update.ErrBusy, which
// Apply's ApplyOptions.WaitLock relies on to retry.
func TestLockIsErrBusy(t *testing.T) {
	m := updatetest.NewMemFS()
	unlock, err := m.TryLock()
	require.NoError(t, err)
	_, err = m.TryLock()
	require.ErrorIs(t, err, update.ErrBusy)
	require.NoError(t, unlock())
	unlock, err = m.TryLock()
	require.NoError(t, err)
	require.NoError(t, unlock())
}

// TestCrashLosesUnsynced: after CrashAfter(n), the (n+1)-th mutating
// operation fails with ErrCrashed, and Reboot keeps only what was synced.
func TestCrashLosesUnsynced(t *testing.T) {
	m := updatetest.NewMemFS()
	write := func(name string, sync bool) error {
		f, err := m.Create(name, 0o644)
		if err != nil {
			return err
		}
		if _, err := f.Write([]byte(name)); err != nil {
			return err
		}
		if sync {
			if err := f.Sync(); err != nil {
				return err
			}
		}
		return f.Close()
	}
	require.NoError(t, write("durable", true))
	require.NoError(t, m.SyncDir("."))
	require.NoError(t, write("volatile", false))
	m.CrashAfter(0)
	err := m.Mkdir("d", 0o755)
	require.ErrorIs(t, err, updatetest.ErrCrashed)
	require.True(t, m.Crashed())
	_, err = m.Lstat("durable")
	require.ErrorIs(t, err, updatetest.ErrCrashed)

	r := m.Reboot()
	_, err = r.Lstat("durable")
	require.NoError(t, err)
	_, err = r.Lstat("volatile")
	require.True(t, errors.Is(err, fs.ErrNotExist), "unsynced entry survived: %v", err)
}
