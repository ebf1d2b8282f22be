package support

import (
	"errors"
	"io/fs"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameLen bounds member names.
const maxNameLen = 1024

// validName accepts the member names Write writes and Open reads: clean,
// relative, slash-separated, valid UTF-8 without control characters or
// backslashes, not index.json.
func validName(name string) error {
	switch {
	case name == "" || name == ".":
		return errors.New("empty name")
	case len(name) > maxNameLen:
		return errors.New("name too long")
	case !utf8.ValidString(name):
		return errors.New("name is not UTF-8")
	case strings.ContainsRune(name, '\\'):
		return errors.New("backslash in name")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return errors.New("control character in name")
	case !fs.ValidPath(name):
		return errors.New("not a clean relative path")
	case name == IndexName:
		return errors.New("name reserved for the index")
	}
	return nil
}
