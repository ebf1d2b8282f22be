package agent

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Files on the state directory. The directory is 0700 and every file in
// it 0600: it holds the password hash, the token hashes and the TLS key.
const (
	stateFirstRun = "first-run.hash" // SHA-256 of the unused first-run token
	stateAdmin    = "admin.json"     // password hash and bearer token hashes; its presence means "claimed"
	stateTLSKey   = "tls.key"
	stateTLSCert  = "tls.crt"
	stateLicense  = "license.lic"
	stateLicState = "license-state.json" // license.FileStore: last time seen, sequences
)

// maxStateFile caps what is read back from the state directory, so a
// damaged or planted file cannot make the agent allocate without bound.
const maxStateFile = 1 << 20

// ensureStateDir creates dir (0700) when it is missing.
func ensureStateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	return nil
}

// readState reads a state file, capped at max bytes. A missing file gives
// an error matching os.ErrNotExist.
func readState(dir, name string, max int64) ([]byte, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrState, name, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrState, name, max)
	}
	return b, nil
}

// writeStateFile replaces dir/name with data so that a power cut leaves
// either the old or the new file, never a mix: a temporary file in the
// same directory, fsync, rename, fsync of the directory.
func writeStateFile(dir, name string, data []byte, perm os.FileMode) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("%w: writing %s: %w", ErrState, name, err)
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncStateDir(dir)
}

// removeStateFile removes dir/name and syncs the directory; a missing file
// is not an error.
func removeStateFile(dir, name string) error {
	if err := os.Remove(filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	return syncStateDir(dir)
}

func syncStateDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// DataStatus is the data disk's part of the status.
type DataStatus struct {
	// Mounted is true when DataDir is a mount point of its own (the data
	// disk), not a directory on the root file system.
	Mounted   bool   `json:"mounted"`
	UsedBytes uint64 `json:"usedBytes"`
	FreeBytes uint64 `json:"freeBytes"`
}
