// Command backup checks and restores fogkit appliance backups on the
// customer's side, without the appliance: what an admin runs to make sure
// a backup is whole before the old appliance is switched off.
//
//	backup verify  (-passphrase-file F | -key private.asc) BACKUP
//	backup restore (-passphrase-file F | -key private.asc) -to DIR [-product P -sequence N] BACKUP
//
// verify reads the whole backup and checks every file's digest, printing
// the manifest's summary; restore does the same while writing the files
// into DIR, which it replaces only once everything checked out; with both
// -product and -sequence it also refuses another product's backup or a
// newer appliance's, as the appliance itself would. Both exit
// 0 on success and 1 on any failure. A backup made with a passphrase also
// opens with standard tools:
//
//	gpg --decrypt backup.fogbak | zstd -d | tar -tvf -
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/fogkit/fogkit/backup"
	"github.com/fogkit/fogkit/sign"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "restore") {
		fmt.Fprintln(stderr, "usage: backup verify|restore (-passphrase-file F | -key K) [-to DIR] BACKUP")
		return 2
	}
	f := flag.NewFlagSet("backup "+args[0], flag.ContinueOnError)
	f.SetOutput(stderr)
	passFile := f.String("passphrase-file", "", "file holding the backup's passphrase (first line)")
	keyFile := f.String("key", "", "the customer's OpenPGP private key the backup was encrypted to")
	keyPass := f.String("key-passphrase-file", "", "file holding the private key's passphrase, if it has one")
	to := f.String("to", "", "restore: the directory to replace with the backup's files")
	product := f.String("product", "", "restore: refuse a backup of another product")
	seq := f.Uint64("sequence", 0, "restore: refuse a backup from a newer appliance sequence (with -product)")
	if err := f.Parse(args[1:]); err != nil {
		return 2
	}
	if f.NArg() != 1 || (*passFile == "") == (*keyFile == "") || (args[0] == "restore") != (*to != "") {
		fmt.Fprintln(stderr, "usage: backup verify|restore (-passphrase-file F | -key K) [-to DIR] BACKUP")
		return 2
	}
	ro, err := readOptions(*passFile, *keyFile, *keyPass)
	if err != nil {
		fmt.Fprintf(stderr, "backup: %v\n", err)
		return 1
	}
	in, err := os.Open(f.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "backup: %v\n", err)
		return 1
	}
	defer in.Close()
	var m *backup.Manifest
	if args[0] == "verify" {
		m, err = backup.Verify(ctx, in, ro)
	} else {
		o := &backup.RestoreOptions{ReadOptions: *ro, Product: *product, Sequence: *seq}
		if *product == "" || *seq == 0 {
			// No appliance to match: accept what the backup says it is.
			o.Accept = func(*backup.Manifest) error { return nil }
		}
		m, err = backup.Restore(ctx, in, *to, o)
	}
	if err != nil {
		fmt.Fprintf(stderr, "backup: %s: %v\n", f.Arg(0), err)
		return 1
	}
	if err := backup.WriteSummary(stdout, m); err != nil {
		fmt.Fprintf(stderr, "backup: %v\n", err)
		return 1
	}
	return 0
}

func readOptions(passFile, keyFile, keyPass string) (*backup.ReadOptions, error) {
	if passFile != "" {
		p, err := sign.ReadPassphraseFile(passFile)
		if err != nil {
			return nil, err
		}
		return &backup.ReadOptions{Passphrase: p}, nil
	}
	kb, err := sign.ReadKeyFile(keyFile)
	if err != nil {
		return nil, err
	}
	var kp []byte
	if keyPass != "" {
		if kp, err = sign.ReadPassphraseFile(keyPass); err != nil {
			return nil, err
		}
	}
	k, err := sign.LoadOpenPGPSigner(kb, "backup", kp)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	return &backup.ReadOptions{Key: k}, nil
}
