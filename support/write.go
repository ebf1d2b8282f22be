package support

import (
	"context"
	"errors"
	"io"
)

// Write collects every source, redacts, archives and (unless Plain)
// encrypts to o.Recipients, streaming to w.
func Write(ctx context.Context, w io.Writer, o *Options) (*Index, error) {
	return nil, errors.New("support: TODO")
}
