package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand: its one-line synopsis and what runs it.
type command struct {
	synopsis string
	run      func(ctx context.Context, e *env, args []string) error
}

// commands is filled in by the files that hold each command, so that each
// command's code stays beside its flags.
var commands = map[string]command{}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, terminal: isTerminal(os.Stderr)})
	stop()
	os.Exit(code)
}

// env is what a command writes to; terminal says whether stderr is one
// (progress bars only then).
type env struct {
	stdout, stderr io.Writer
	terminal       bool
}

// run dispatches args to a command and turns its error into an exit code.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if _, ok := commands[args[1]]; ok {
				return run(ctx, []string{args[1], "-h"}, e)
			}
		}
		usage(e.stdout)
		return exitOK
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(e.stderr, "fogkit: unknown command %q: run fogkit help for the list\n", name)
		return exitUsage
	}
	err := c.run(ctx, e, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	code := exitCode(err)
	if err != nil && !errors.Is(err, errReported) {
		msg := strings.ReplaceAll(err.Error(), "\n", "\n  ")
		fmt.Fprintf(e.stderr, "fogkit %s: %s\n", name, msg)
	}
	return code
}

// usage lists the commands.
func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: fogkit COMMAND [flags] [args]   (fogkit COMMAND -h for a command's flags)")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].synopsis)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "exit codes: 0 ok, 1 error, 2 usage, 3 warning (e.g. license in grace), 4 refused or expired (bad signature, digest mismatch, expired license)")
}
