//go:build linux

package agent

import (
	"os"

	"golang.org/x/sys/unix"
)

// TTY is a terminal device the console menu runs on.
type TTY struct{ *os.File }

// OpenTTY opens a terminal (/dev/tty1, /dev/ttyS0) for ConsoleMenu without
// making it the caller's controlling terminal, so a key such as Ctrl-C
// typed there sends no signal to /init.
func OpenTTY(path string) (*TTY, error) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	t := &TTY{f}
	// Canonical input with echo and CR-to-NL, whatever the last user left.
	if tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
		tio.Lflag |= unix.ICANON | unix.ECHO | unix.ECHOE
		tio.Lflag &^= unix.ISIG
		tio.Iflag |= unix.ICRNL
		_ = unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, tio)
	}
	return t, nil
}

// SetEcho turns the terminal's echo on or off (off while a password is
// typed).
func (t *TTY) SetEcho(on bool) error {
	tio, err := unix.IoctlGetTermios(int(t.Fd()), unix.TCGETS)
	if err != nil {
		return err
	}
	if on {
		tio.Lflag |= unix.ECHO
	} else {
		tio.Lflag &^= unix.ECHO
	}
	return unix.IoctlSetTermios(int(t.Fd()), unix.TCSETS, tio)
}
