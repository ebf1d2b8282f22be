//go:build !linux

package agent

import (
	"errors"
	"os"
)

// TTY is a terminal device the console menu runs on.
type TTY struct{ *os.File }

// OpenTTY opens a terminal for ConsoleMenu; only Linux appliances have
// one.
func OpenTTY(path string) (*TTY, error) {
	return nil, errors.New("agent: console terminals are Linux only")
}

// SetEcho is not supported off Linux.
func (t *TTY) SetEcho(on bool) error { return errors.ErrUnsupported }
