package update

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// lockHolderEnv makes the test binary a second process that takes the
// lock of the target directory it names, reports "locked" (or "busy") on
// stdout and holds the lock until its stdin closes or it is killed.
const lockHolderEnv = "FOGKIT_UPDATE_LOCK_HOLDER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(lockHolderEnv); dir != "" {
		os.Exit(holdLock(dir))
	}
	os.Exit(m.Run())
}

func holdLock(dir string) int {
	fsys, err := NewOSFS(dir)
	if err != nil {
		fmt.Println("error", err)
		return 2
	}
	if _, err := fsys.TryLock(); err != nil {
		fmt.Println("busy", err)
		return 0
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// lockHolder is the second process.
type lockHolder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	first string
}

func startHolder(t *testing.T, dir string) *lockHolder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockHolderEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	h := &lockHolder{cmd: cmd, stdin: stdin}
	t.Cleanup(func() { h.stdin.Close(); h.cmd.Process.Kill(); h.cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	h.first = strings.TrimSpace(line)
	return h
}

// TestLockAcrossProcesses: while another process holds the target's lock,
// every operation that changes the target fails at once with ErrBusy and
// writes nothing; Apply with WaitLock waits for it; a holder that dies
// (killed, no unlock) leaves the target unlocked; and the holder itself
// sees the lock of this process.
func TestLockAcrossProcesses(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	dir := t.TempDir()
	fsys, err := NewOSFS(dir)
	require.NoError(t, err)
	defer fsys.Close()
	o := applyOpts(ring)
	o.Confirmed = true
	_, err = apply(t.Context(), fsys, build(t, k, 1, nil, baseOpts(1, KindFull)), o)
	require.NoError(t, err)
	_, err = apply(t.Context(), fsys, build(t, k, 2, []int{1}, baseOpts(2, KindDiff)), applyOpts(ring))
	require.NoError(t, err) // pending
	state := func() []byte {
		b, err := os.ReadFile(filepath.Join(dir, StateFile))
		require.NoError(t, err)
		return b
	}
	before := state()
	v3 := build(t, k, 3, []int{2}, baseOpts(3, KindDiff))

	h := startHolder(t, dir)
	require.Equal(t, "locked", h.first)
	ops := map[string]func(ctx context.Context) error{
		"apply":    func(ctx context.Context) error { _, err := apply(ctx, fsys, v3, applyOpts(ring)); return err },
		"confirm":  func(ctx context.Context) error { _, err := Confirm(ctx, fsys); return err },
		"boot":     func(ctx context.Context) error { _, err := BootAttempt(ctx, fsys); return err },
		"rollback": func(ctx context.Context) error { _, err := Rollback(ctx, fsys); return err },
		"recover":  func(ctx context.Context) error { _, err := Recover(ctx, fsys); return err },
	}
	for name, op := range ops {
		err := op(t.Context())
		require.ErrorIs(t, err, ErrBusy, name)
	}
	require.Equal(t, before, state(), "nothing written while locked")

	// Waiting gives up with the context.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	wo := applyOpts(ring)
	wo.WaitLock = true
	_, err = apply(ctx, fsys, v3, wo)
	require.ErrorIs(t, err, ErrBusy)
	require.ErrorIs(t, err, context.Canceled)

	// Waiting succeeds once the holder lets go.
	_, err = Confirm(t.Context(), fsys)
	require.ErrorIs(t, err, ErrBusy)
	done := make(chan error, 1)
	go func() {
		_, err := apply(t.Context(), fsys, v3, wo)
		done <- err
	}()
	// v3 needs 1.2 confirmed: the waiting apply fails with ErrPending, not
	// ErrBusy, once it gets the lock.
	h.stdin.Close()
	require.NoError(t, h.cmd.Wait())
	err = <-done
	require.ErrorIs(t, err, ErrPending)

	// A holder killed without unlocking: the kernel drops the lock.
	h = startHolder(t, dir)
	require.Equal(t, "locked", h.first)
	_, err = Confirm(t.Context(), fsys)
	require.ErrorIs(t, err, ErrBusy)
	require.NoError(t, h.cmd.Process.Kill())
	h.cmd.Wait()
	st, err := Confirm(t.Context(), fsys)
	require.NoError(t, err)
	require.False(t, st.Pending)

	// The other way round: this process holds it, the other is refused.
	unlock, err := fsys.TryLock()
	require.NoError(t, err)
	h = startHolder(t, dir)
	require.True(t, strings.HasPrefix(h.first, "busy"), h.first)
	require.Contains(t, h.first, "busy with another operation")
	require.NoError(t, unlock())
	_, err = apply(t.Context(), fsys, v3, applyOpts(ring))
	require.NoError(t, err)
}

// TestLockMemFS: the in-memory lock refuses a second operation in the same
// process and writes nothing.
func TestLockMemFS(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	m := installed(t, k, ring, 1)
	unlock, err := m.TryLock()
	require.NoError(t, err)
	ops := m.Ops()
	_, err = apply(t.Context(), m, build(t, k, 2, []int{1}, baseOpts(2, KindDiff)), applyOpts(ring))
	require.ErrorIs(t, err, ErrBusy)
	_, err = Recover(t.Context(), m)
	require.ErrorIs(t, err, ErrBusy)
	_, err = m.TryLock()
	require.ErrorIs(t, err, ErrBusy)
	require.Equal(t, ops, m.Ops())
	require.NoError(t, unlock())
	require.NoError(t, unlock(), "unlocking twice is harmless")
	_, err = apply(t.Context(), m, build(t, k, 2, []int{1}, baseOpts(2, KindDiff)), applyOpts(ring))
	require.NoError(t, err)
}

// TestConcurrentApplies: several applies of the same package on one
// target at once (separate handles, as separate processes would have):
// each either applies, finds it already installed, or is refused with
// ErrBusy; none fails with a filesystem error from another's cleanup, and
// the target ends on the new tree.
func TestConcurrentApplies(t *testing.T) {
	k := testSigner(t, 1)
	ring := testRing(t, k)
	first, dir := osTargetV1(t, k, ring)
	pkg := build(t, k, 4, []int{1, 2, 3}, baseOpts(4, KindBundle))
	o := applyOpts(ring)
	o.Confirmed = true
	const n = 4
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			fsys, err := NewOSFS(dir)
			if err != nil {
				errs <- err
				return
			}
			defer fsys.Close()
			_, err = apply(t.Context(), fsys, pkg, o)
			errs <- err
		}()
	}
	ok := 0
	for i := 0; i < n; i++ {
		err := <-errs
		if err == nil {
			ok++
			continue
		}
		require.ErrorIs(t, err, ErrBusy)
	}
	require.Greater(t, ok, 0)
	require.Equal(t, treeDigestOf(t, versionTree(4)), currentDigest(t, first))
	ents, err := os.ReadDir(filepath.Join(dir, SlotsDir))
	require.NoError(t, err)
	require.Len(t, ents, 2, "current and previous only")
}
