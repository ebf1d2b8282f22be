//go:build unix

package testutil

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockBoots takes an exclusive flock on a file in the temp directory,
// shared by every test binary of a `go test ./...` run, polling so that a
// cancelled context stops the wait.
func lockBoots(ctx context.Context) (func(), error) {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "fogkit-qemu-boot.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if err != syscall.EWOULDBLOCK {
			f.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
