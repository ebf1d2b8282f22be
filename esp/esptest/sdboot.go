package esptest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/fogkit/fogkit/esp"
)

// Errors of the systemd-boot model.
var (
	// ErrNoEntry: no bootable entry ("No loader found").
	ErrNoEntry = errors.New("esptest: systemd-boot finds no entry")
	// ErrBootFailed: the chosen entry's kernel or an initrd cannot be read
	// (image_start fails and systemd-boot returns to the firmware).
	ErrBootFailed = errors.New("esptest: chosen entry does not boot")
)

// Booted is the entry the model of systemd-boot chose.
type Booted struct {
	File    string // entry file name as found, before the counter moved
	ID      string
	Linux   string // ESP path, without the leading slash
	Initrds []string
	Options string
	// Seq is the fogkit.slot= of the options (0 when absent).
	Seq uint64
}

type sdEntry struct {
	Booted
	left, done int
	prefix     string // file name up to and including '+'
}

// Choose returns the entry systemd-boot 252 boots from fsys without a key
// press or EFI variables, following src/boot/efi/boot.c:
// config_load_entries reads loader/entries/*.conf (not "auto-*"),
// config_entry_add_type1 keeps an entry only with a linux line whose file
// exists, its id is the lower-cased file name and config_entry_parse_tries
// reads "+LEFT[-DONE]" right before ".conf"; config_entry_compare sorts
// entries with no tries left last, then by id with strverscmp_improved,
// newest first, then by more tries left and fewer done;
// config_default_entry_select takes the first entry matching loader.conf's
// `default` glob, else the first entry.
func Choose(fsys esp.FS) (*Booted, error) {
	e, err := choose(fsys)
	if err != nil {
		return nil, err
	}
	return &e.Booted, nil
}

// Boot is Choose followed by what systemd-boot does before starting the
// kernel: config_entry_bump_counters renames a counted entry to
// "+(LEFT-1)-(DONE+1)" (never below 0), then image_start reads the kernel
// and initrds, failing with ErrBootFailed when one is missing.
func Boot(fsys esp.FS) (*Booted, error) {
	e, err := choose(fsys)
	if err != nil {
		return nil, err
	}
	if e.left >= 0 {
		next := fmt.Sprintf("%s%d-%d.conf", e.prefix, max(e.left-1, 0), e.done+1)
		if err := fsys.Rename(esp.EntriesDir+"/"+e.File, esp.EntriesDir+"/"+next); err != nil {
			return nil, err
		}
		if err := fsys.Sync(esp.EntriesDir); err != nil {
			return nil, err
		}
	}
	for _, p := range append([]string{e.Linux}, e.Initrds...) {
		info, err := fsys.Stat(p)
		if err != nil || !info.Mode().IsRegular() {
			return &e.Booted, fmt.Errorf("%w: %s: %s cannot be read", ErrBootFailed, e.File, p)
		}
	}
	return &e.Booted, nil
}

func choose(fsys esp.FS) (*sdEntry, error) {
	pattern := ""
	if b, err := readAll(fsys, esp.LoaderConfFile); err == nil {
		for _, kv := range keyValues(string(b)) {
			if kv[0] == "default" {
				pattern = strings.ToLower(kv[1])
			}
		}
	}
	ents, err := fsys.ReadDir(esp.EntriesDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var list []*sdEntry
	for _, d := range ents {
		n := d.Name()
		if d.IsDir() || strings.HasPrefix(n, ".") || !strings.HasSuffix(strings.ToLower(n), ".conf") || strings.HasPrefix(n, "auto-") {
			continue
		}
		b, err := readAll(fsys, esp.EntriesDir+"/"+n)
		if err != nil {
			continue
		}
		e := &sdEntry{left: -1, done: -1}
		e.File, e.ID = n, strings.ToLower(n)
		for _, kv := range keyValues(string(b)) {
			switch kv[0] {
			case "linux":
				e.Linux = strings.TrimPrefix(kv[1], "/")
			case "initrd":
				e.Initrds = append(e.Initrds, strings.TrimPrefix(kv[1], "/"))
			case "options":
				if e.Options != "" {
					e.Options += " "
				}
				e.Options += kv[1]
			}
		}
		if e.Linux == "" {
			continue
		}
		if _, err := fsys.Stat(e.Linux); err != nil {
			continue
		}
		e.Seq, _ = esp.SlotOfCmdline(e.Options)
		parseTries(e, n)
		list = append(list, e)
	}
	if len(list) == 0 {
		return nil, ErrNoEntry
	}
	sort.SliceStable(list, func(i, j int) bool { return compare(list[i], list[j]) < 0 })
	if pattern != "" {
		for _, e := range list {
			if ok, _ := path.Match(pattern, e.ID); ok {
				return e, nil
			}
		}
	}
	return list[0], nil
}

func parseTries(e *sdEntry, file string) {
	i := strings.LastIndexByte(file, '+')
	if i < 0 {
		return
	}
	rest := file[i+1:]
	left, rest, ok := number(rest)
	if !ok {
		return
	}
	done := 0
	if strings.HasPrefix(rest, "-") {
		if done, rest, ok = number(rest[1:]); !ok {
			return
		}
	}
	if rest != ".conf" {
		return
	}
	e.left, e.done, e.prefix = left, done, file[:i+1]
}

func number(s string) (int, string, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 9 {
		return 0, s, false
	}
	n, _ := strconv.Atoi(s[:i])
	return n, s[i:], true
}

func compare(a, b *sdEntry) int {
	if r := cmpBool(a.left == 0, b.left == 0); r != 0 {
		return r
	}
	if r := -VersionCompare(a.ID, b.ID); r != 0 {
		return r
	}
	if a.left < 0 || b.left < 0 {
		return 0
	}
	if a.left != b.left {
		return b.left - a.left
	}
	return a.done - b.done
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	default:
		return -1
	}
}

// VersionCompare orders two version strings the way systemd's
// strverscmp_improved does: strings split into numeric and alphabetic
// segments; characters other than letters, digits and "~-^." separate
// segments and are dropped; a '~' prefix is oldest, '-' older than '^'
// older than '.', older than no prefix; numbers compare by value; the
// string with more segments is newer.
func VersionCompare(a, b string) int {
	valid := func(c byte) bool {
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("~-^.", c) >= 0
	}
	at := func(s string, i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	if a == "" || b == "" {
		return strings.Compare(a, b)
	}
	i, j := 0, 0
	for {
		for i < len(a) && !valid(a[i]) {
			i++
		}
		for j < len(b) && !valid(b[j]) {
			j++
		}
		for _, p := range []byte{'~'} {
			if at(a, i) == p || at(b, j) == p {
				// The string with the prefix is older.
				if r := -cmpBool(at(a, i) == p, at(b, j) == p); r != 0 {
					return r
				}
				i, j = i+1, j+1
			}
		}
		if i >= len(a) || j >= len(b) {
			return cmpInt(int(at(a, i)), int(at(b, j)))
		}
		for _, p := range []byte{'-', '^', '.'} {
			if at(a, i) == p || at(b, j) == p {
				// The string with the prefix is older.
				if r := -cmpBool(at(a, i) == p, at(b, j) == p); r != 0 {
					return r
				}
				i, j = i+1, j+1
			}
		}
		isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
		isAlpha := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
		var ea, eb int
		if isDigit(at(a, i)) || isDigit(at(b, j)) {
			for at(a, i) == '0' {
				i++
			}
			for at(b, j) == '0' {
				j++
			}
			for ea = i; isDigit(at(a, ea)); ea++ {
			}
			for eb = j; isDigit(at(b, eb)); eb++ {
			}
			if r := cmpInt(ea-i, eb-j); r != 0 {
				return r
			}
			if r := strings.Compare(a[i:ea], b[j:eb]); r != 0 {
				return r
			}
		} else {
			for ea = i; isAlpha(at(a, ea)); ea++ {
			}
			for eb = j; isAlpha(at(b, eb)); eb++ {
			}
			n := min(ea-i, eb-j)
			if r := strings.Compare(a[i:i+n], b[j:j+n]); r != 0 {
				return r
			}
			if r := cmpInt(ea-i, eb-j); r != 0 {
				return r
			}
		}
		i, j = ea, eb
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func keyValues(s string) [][2]string {
	var out [][2]string
	for _, line := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		line = strings.Trim(line, " \t")
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.IndexAny(line, " \t")
		if i < 0 {
			continue
		}
		out = append(out, [2]string{line[:i], strings.TrimLeft(line[i:], " \t")})
	}
	return out
}

func readAll(fsys esp.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}
