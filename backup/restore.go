package backup

import (
	"context"
	"errors"
	"io"
)

// Restore reads the backup and replaces dir's contents with it atomically.
func Restore(ctx context.Context, r io.Reader, dir string, o *RestoreOptions) (*Manifest, error) {
	return nil, errors.New("backup: Restore not implemented yet")
}
