package update

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// LockFile is the lock file in the target directory. Every operation that
// changes the target (Apply, Confirm, BootAttempt, Rollback, Recover)
// holds an exclusive lock for its whole run, so that two of them (an
// upload through an admin API and a command line, two uploads) never
// interleave: without it, one would take the other's staging directory
// for an interrupted apply and delete it. OSFS locks with flock(2) on this
// file, a lock the kernel releases when the process dies, so a crash never
// leaves the target locked. The file is created on first use and never
// removed.
const LockFile = "update.lock"

// Locker is implemented by an FS that can lock its target against other
// writers, in this process or others. OSFS (on Unix) and updatetest.MemFS
// implement it; on an FS without it, the operations run unlocked.
type Locker interface {
	// TryLock takes the target's exclusive lock without waiting. When
	// another holder has it, it returns an error matching ErrBusy. The
	// returned function releases the lock.
	TryLock() (unlock func() error, err error)
}

// lockPoll is how often a waiting lock is retried.
const lockPoll = 50 * time.Millisecond

// lockTarget takes fsys's lock when fsys is a Locker: without waiting
// (ErrBusy when held), or, when wait is set, retrying until ctx ends.
func lockTarget(ctx context.Context, fsys FS, wait bool) (func(), error) {
	l, ok := fsys.(Locker)
	if !ok {
		return func() {}, nil
	}
	for {
		unlock, err := l.TryLock()
		if err == nil {
			return func() { _ = unlock() }, nil
		}
		if !wait || !errors.Is(err, ErrBusy) {
			return nil, err
		}
		t := time.NewTimer(lockPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (gave up waiting: %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// errBusy is the error of a lock held by someone else.
func errBusy() error {
	return fmt.Errorf("%w: another operation holds %s", ErrBusy, LockFile)
}
