package backup

import (
	"context"
	"errors"
	"io"
)

// Write backs up o.Dir and o.Streams to w.
func Write(ctx context.Context, w io.Writer, o *Options) (*Manifest, error) {
	return nil, errors.New("backup: Write not implemented yet")
}
