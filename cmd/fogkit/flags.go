package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
)

// flags is a command's flag set with its usage line.
type flags struct {
	*flag.FlagSet
	usage string
	json  *bool
}

// newFlags makes a command's flag set; withJSON adds -json.
func newFlags(e *env, name, usage string, withJSON bool) *flags {
	f := &flags{FlagSet: flag.NewFlagSet("fogkit "+name, flag.ContinueOnError), usage: usage}
	f.SetOutput(io.Discard)
	if withJSON {
		f.json = f.Bool("json", false, "print a machine report (JSON) on stdout")
	}
	f.FlagSet.Usage = func() {}
	return f
}

// parse parses args, flags and positional arguments mixed, and checks the
// count of positional arguments (want -1: any). -h prints the usage to
// stdout and returns flag.ErrHelp.
func (f *flags) parse(e *env, args []string, want int) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if err == flag.ErrHelp {
				f.printUsage(e.stdout)
				return nil, err
			}
			return nil, usageErr("%v (usage: %s)", err, f.usage)
		}
		args = f.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if want >= 0 && len(pos) != want {
		return nil, usageErr("want %d argument(s), got %d (usage: %s)", want, len(pos), f.usage)
	}
	return pos, nil
}

func (f *flags) printUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n", f.usage)
	f.SetOutput(w)
	f.PrintDefaults()
	f.SetOutput(io.Discard)
}

// asJSON says whether -json was given.
func (f *flags) asJSON() bool { return f.json != nil && *f.json }

// writeJSON writes v indented, the machine report of every command.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// required returns a usage error naming the first empty flag.
func required(f *flags, vals ...string) error {
	for i := 0; i+1 < len(vals); i += 2 {
		if vals[i+1] == "" {
			return usageErr("-%s is required (usage: %s)", vals[i], f.usage)
		}
	}
	return nil
}

// list splits a comma-separated flag value, dropping empty items.
func list(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// errHelp ends a command after its usage was printed for -h.
func errHelp() error { return flag.ErrHelp }
