package update

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// systemd-boot boot counting (https://systemd.io/AUTOMATIC_BOOT_ASSESSMENT/):
// an entry file "name+LEFT.conf" or "name+LEFT-DONE.conf" has LEFT tries
// left and DONE tries made. systemd-boot decrements LEFT (and increments
// DONE) by renaming the file before booting it, sorts entries with no tries
// left last, and so falls back to the previous entry on its own;
// systemd-bless-boot.service (or BlessBootEntry) drops the counter once the
// system is up. These helpers write and parse such names on an ESP behind
// an FS.

// BootEntryName returns the file name of a loader entry with a boot
// counter: "name+left.conf" when done is 0, "name+left-done.conf"
// otherwise, and "name.conf" when left is negative (no counting).
func BootEntryName(name string, left, done int) string {
	switch {
	case left < 0:
		return name + ".conf"
	case done == 0:
		return name + "+" + strconv.Itoa(left) + ".conf"
	default:
		return name + "+" + strconv.Itoa(left) + "-" + strconv.Itoa(done) + ".conf"
	}
}

// ParseBootEntryName splits an entry file name into its name and counters.
// counted is false for a plain "name.conf" (left and done are then -1, 0).
func ParseBootEntryName(file string) (name string, left, done int, counted bool, err error) {
	base, ok := strings.CutSuffix(file, ".conf")
	if !ok || base == "" {
		return "", 0, 0, false, fmt.Errorf("%w: %q is not a loader entry file", ErrMalformed, file)
	}
	i := strings.LastIndexByte(base, '+')
	if i < 0 {
		return base, -1, 0, false, nil
	}
	name, counter := base[:i], base[i+1:]
	l, d, hasDone := strings.Cut(counter, "-")
	if left, err = atoiSmall(l); err != nil || name == "" {
		return base, -1, 0, false, nil // a '+' that is not a counter belongs to the name
	}
	if hasDone {
		if done, err = atoiSmall(d); err != nil {
			return base, -1, 0, false, nil
		}
	}
	return name, left, done, true, nil
}

func atoiSmall(s string) (int, error) {
	if s == "" || len(s) > 4 {
		return 0, errors.New("not a counter")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("not a counter")
		}
	}
	return strconv.Atoi(s)
}

// findBootEntry returns the file in dir that holds entry name, counted or not.
func findBootEntry(fsys FS, dir, name string) (string, error) {
	ents, err := fsys.ReadDir(dir)
	if err != nil {
		return "", err
	}
	for _, e := range ents {
		if n, _, _, _, err := ParseBootEntryName(e.Name()); err == nil && n == name {
			return e.Name(), nil
		}
	}
	return "", &fs.PathError{Op: "find", Path: dir + "/" + name + ".conf", Err: fs.ErrNotExist}
}

// WriteBootEntry writes a loader entry (for example the new slot's kernel
// and initrd) into dir (usually "loader/entries" on the ESP) with tries
// boot attempts, as "name+tries.conf", atomically (temp file, fsync,
// rename, directory fsync). An existing entry of that name is replaced.
func WriteBootEntry(fsys FS, dir, name string, content []byte, tries int) error {
	if strings.ContainsAny(name, "/+\x00") || name == "" {
		return fmt.Errorf("%w: bad entry name %q", ErrMalformed, name)
	}
	if tries < 1 {
		return fmt.Errorf("%w: tries must be at least 1", ErrMalformed)
	}
	old, err := findBootEntry(fsys, dir, name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	target := dir + "/" + BootEntryName(name, tries, 0)
	if err := writeFileAtomic(fsys, target, content); err != nil {
		return err
	}
	if old != "" && dir+"/"+old != target {
		if err := fsys.Remove(dir + "/" + old); err != nil {
			return err
		}
		return fsys.SyncDir(dir)
	}
	return nil
}

// BlessBootEntry marks an entry good by dropping its counter
// ("name+1-2.conf" becomes "name.conf"), what systemd-bless-boot does.
func BlessBootEntry(fsys FS, dir, name string) error {
	cur, err := findBootEntry(fsys, dir, name)
	if err != nil {
		return err
	}
	good := BootEntryName(name, -1, 0)
	if cur == good {
		return nil
	}
	if err := fsys.Rename(dir+"/"+cur, dir+"/"+good); err != nil {
		return err
	}
	return fsys.SyncDir(dir)
}

// BootEntryTries returns the tries left and made for entry name in dir;
// left is -1 for a blessed (uncounted) entry. A left of 0 means
// systemd-boot considers the entry bad and boots the fallback.
func BootEntryTries(fsys FS, dir, name string) (left, done int, err error) {
	cur, err := findBootEntry(fsys, dir, name)
	if err != nil {
		return 0, 0, err
	}
	_, left, done, _, err = ParseBootEntryName(cur)
	return left, done, err
}
