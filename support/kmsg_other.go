//go:build !linux

package support

import (
	"errors"
	"io"
)

func openKmsg() (io.ReadCloser, error) { return nil, errors.New("no /dev/kmsg") }
