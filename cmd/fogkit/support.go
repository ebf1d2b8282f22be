package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/support"
)

func init() {
	commands["support"] = command{"open a support bundle with the vendor's support key (support open)", runSupport}
}

func runSupport(ctx context.Context, e *env, args []string) error {
	const u = "fogkit support open (-key support.key [-passphrase-file F] | -plain) [-x DIR] [-json] BUNDLE"
	if len(args) == 0 || args[0] != "open" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help") {
			fmt.Fprintln(e.stdout, "usage:", u)
			return errHelp()
		}
		return usageErr("usage: %s", u)
	}
	f := newFlags(e, "support open", u, true)
	keyFile := f.String("key", "", "the vendor's support private key (support.key of the key directory)")
	passFile := f.String("passphrase-file", "", "file holding the key's passphrase, if it has one")
	plain := f.Bool("plain", false, "the bundle is not encrypted (saved by the admin with ?plain=true)")
	extract := f.String("x", "", "extract the bundle into this new directory")
	pos, err := f.parse(e, args[1:], 1)
	if err != nil {
		return err
	}
	if (*keyFile == "") == !*plain {
		return usageErr("give -key or -plain (usage: %s)", u)
	}
	var key *sign.OpenPGPSigner
	if !*plain {
		if key, err = loadSupportKey(*keyFile, *passFile); err != nil {
			return err
		}
	}
	in, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer in.Close()
	b, err := support.Open(ctx, in, key, &support.OpenOptions{Plain: *plain})
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	if *extract != "" {
		if err := b.Extract(*extract); err != nil {
			return fmt.Errorf("-x %s: %w", *extract, err)
		}
	}
	if f.asJSON() {
		return writeJSON(e.stdout, b.Index)
	}
	printIndex(e.stdout, b.Index)
	return nil
}

// loadSupportKey reads the vendor's support key, with its passphrase
// from passFile when given.
func loadSupportKey(keyFile, passFile string) (*sign.OpenPGPSigner, error) {
	kb, err := sign.ReadKeyFile(keyFile)
	if err != nil {
		return nil, err
	}
	var pass []byte
	if passFile != "" {
		if pass, err = firstLine(passFile); err != nil {
			return nil, err
		}
	}
	k, err := sign.LoadOpenPGPSigner(kb, sign.PurposeSupport, pass)
	if err != nil {
		return nil, fmt.Errorf("-key %s: %w (want the support.key of the vendor's key directory)", keyFile, err)
	}
	return k, nil
}

func printIndex(w io.Writer, ix *support.Index) {
	fmt.Fprintf(w, "%s %s (sequence %d), collected %s\n", ix.Product, ix.Version, ix.Sequence, ix.Created.UTC().Format("2006-01-02 15:04:05Z"))
	fmt.Fprintf(w, "%d files, %d bytes, %d redactions, %d truncated, %d sources skipped, %d failed\n\n",
		len(ix.Files), ix.TotalBytes, ix.Redactions, ix.Truncated, ix.Skipped, ix.Failed)
	for _, f := range ix.Files {
		note := ""
		if f.Truncated {
			note = " (truncated)"
		}
		fmt.Fprintf(w, "  %-40s %10d bytes %7d lines %4d redacted%s\n", f.Path, f.Size, f.Lines, f.Redactions, note)
	}
	for _, s := range ix.Sources {
		if s.Status != support.StatusOK {
			fmt.Fprintf(w, "  source %s: %s %s\n", s.Name, s.Status, s.Error)
		}
	}
}

// firstLine reads a secret file's first line, without its line ending.
func firstLine(p string) ([]byte, error) {
	b, err := readSmall(p, 64<<10)
	if err != nil {
		return nil, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return []byte(strings.TrimRight(line, "\r")), nil
}
