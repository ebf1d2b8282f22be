package rootfs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// SpecOptions control ParseSpec and Builder.AddSpec.
type SpecOptions struct {
	// Expand looks up ${NAME} in file locations (os.LookupEnv fits). When
	// nil, or when it reports a name unknown, a ${NAME} is an error.
	Expand func(name string) (value string, ok bool) `json:"-"`
	// BaseDir is where relative file locations are found (default: the
	// working directory).
	BaseDir string `json:"baseDir,omitempty"`
}

// SpecLine is one parsed line of a gen_init_cpio list.
type SpecLine struct {
	Line     int      // 1-based line number
	Entry    Entry    // what the line adds (Size is unknown until AddSpec)
	Location string   // "file" lines: the host file, after ${VAR} expansion
	Links    []string // "file" lines: extra hard-link names
}

// maxSpecLine bounds one list line.
const maxSpecLine = 64 << 10

// ParseSpec parses the Linux usr/gen_init_cpio list format:
//
//	# a comment
//	file  <name> <location> <mode> <uid> <gid> [<hard links>...]
//	dir   <name> <mode> <uid> <gid>
//	nod   <name> <mode> <uid> <gid> <b|c> <major> <minor>
//	slink <name> <target> <mode> <uid> <gid>
//	pipe  <name> <mode> <uid> <gid>
//	sock  <name> <mode> <uid> <gid>
//
// Modes are octal, ids and device numbers decimal; ${NAME} in a location is
// replaced through opts.Expand. Errors are *SpecError values naming the
// line. ParseSpec touches no files.
func ParseSpec(r io.Reader, opts *SpecOptions) ([]SpecLine, error) {
	var o SpecOptions
	if opts != nil {
		o = *opts
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxSpecLine)
	var out []SpecLine
	n := 0
	for sc.Scan() {
		n++
		text := sc.Text()
		line := strings.TrimSpace(text)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sl, err := parseSpecLine(n, line, &o)
		if err != nil {
			return nil, err
		}
		out = append(out, sl)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &SpecError{Line: n + 1, Err: ErrSpec, Detail: fmt.Sprintf("line longer than %d bytes", maxSpecLine)}
		}
		return nil, err
	}
	return out, nil
}

func parseSpecLine(n int, line string, o *SpecOptions) (SpecLine, error) {
	f := strings.Fields(line)
	fail := func(format string, args ...any) (SpecLine, error) {
		t := line
		if len(t) > 200 {
			t = t[:200]
		}
		return SpecLine{}, &SpecError{Line: n, Text: t, Err: ErrSpec, Detail: fmt.Sprintf(format, args...)}
	}
	want := map[string]int{"file": 6, "dir": 5, "nod": 8, "slink": 6, "pipe": 5, "sock": 5}
	k, ok := want[f[0]]
	if !ok {
		return fail("unknown type %q (want file, dir, nod, slink, pipe or sock)", f[0])
	}
	if len(f) < k || (f[0] != "file" && len(f) > k) {
		return fail("%s takes %d fields, got %d", f[0], k-1, len(f)-1)
	}
	sl := SpecLine{Line: n}
	e := &sl.Entry
	p, err := CleanPath(f[1])
	if err != nil {
		return fail("name %q: %v", f[1], err)
	}
	e.Path = p
	// Position of mode, uid, gid for each type.
	mi := 2
	switch f[0] {
	case "file":
		e.Type = TypeFile
		loc, err := expand(f[2], o.Expand)
		if err != nil {
			return fail("%v", err)
		}
		sl.Location = loc
		mi = 3
	case "slink":
		e.Type, e.Linkname = TypeSymlink, f[2]
		mi = 3
	case "dir":
		e.Type = TypeDir
	case "pipe":
		e.Type = TypeFIFO
	case "sock":
		e.Type = TypeSocket
	case "nod":
		switch f[5] {
		case "c":
			e.Type = TypeChar
		case "b":
			e.Type = TypeBlock
		default:
			return fail("device type %q (want b or c)", f[5])
		}
		maj, err1 := strconv.ParseUint(f[6], 10, 32)
		min, err2 := strconv.ParseUint(f[7], 10, 32)
		if err1 != nil || err2 != nil || maj >= 1<<12 || min >= 1<<20 {
			return fail("device number %s,%s", f[6], f[7])
		}
		e.Major, e.Minor = uint32(maj), uint32(min)
	}
	mode, err := strconv.ParseUint(f[mi], 8, 32)
	if err != nil || mode > modePerm {
		return fail("mode %q (want octal up to 7777)", f[mi])
	}
	uid, err1 := strconv.ParseUint(f[mi+1], 10, 32)
	gid, err2 := strconv.ParseUint(f[mi+2], 10, 32)
	if err1 != nil || err2 != nil {
		return fail("owner %s:%s (want decimal ids)", f[mi+1], f[mi+2])
	}
	e.Mode, e.UID, e.GID = uint32(mode), uint32(uid), uint32(gid)
	if e.Type == TypeSymlink {
		if err := checkTarget(p, e.Linkname); err != nil {
			return fail("%v", err)
		}
	}
	if f[0] == "file" {
		for _, l := range f[6:] {
			lp, err := CleanPath(l)
			if err != nil {
				return fail("hard link %q: %v", l, err)
			}
			sl.Links = append(sl.Links, lp)
		}
	}
	return sl, nil
}

// expand replaces ${NAME} in s.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("unterminated ${ in %q", s)
		}
		name := s[i+2 : i+j]
		if name == "" {
			return "", fmt.Errorf("empty ${} in %q", s)
		}
		var v string
		ok := false
		if lookup != nil {
			v, ok = lookup(name)
		}
		if !ok {
			return "", fmt.Errorf("variable %s is not set", name)
		}
		b.WriteString(v)
		s = s[i+j+1:]
	}
}

// AddSpec parses a gen_init_cpio list (see ParseSpec) and adds its
// entries. File locations are checked now and streamed at write time.
// Errors name the line.
func (b *Builder) AddSpec(ctx context.Context, r io.Reader, opts *SpecOptions) error {
	lines, err := ParseSpec(r, opts)
	if err != nil {
		return err
	}
	base := ""
	if opts != nil {
		base = opts.BaseDir
	}
	for _, sl := range lines {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := sl.Entry
		var aerr error
		if e.Type == TypeFile {
			loc := sl.Location
			if !filepath.IsAbs(loc) && base != "" {
				loc = filepath.Join(base, loc)
			}
			aerr = b.AddHostFile(e, loc)
			for _, l := range sl.Links {
				if aerr != nil {
					break
				}
				aerr = b.Add(Entry{Path: l, Type: TypeHardlink, Linkname: e.Path})
			}
		} else {
			aerr = b.Add(e)
		}
		if aerr != nil {
			se := &SpecError{Line: sl.Line, Err: aerr, Detail: aerr.Error()}
			var pe *PathError
			if errors.As(aerr, &pe) {
				se.Err = pe.Err
			} else if errors.Is(aerr, os.ErrNotExist) {
				se.Detail = "location " + sl.Location + " does not exist"
			}
			se.Text = e.Path
			return se
		}
	}
	return nil
}
