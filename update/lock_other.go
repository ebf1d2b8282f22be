//go:build !unix

package update

// TryLock does not lock on this platform (no flock); the operations on
// the target run unlocked.
func (o *OSFS) TryLock() (func() error, error) { return func() error { return nil }, nil }
