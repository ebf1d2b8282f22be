package main

import (
	"context"
	"fmt"
	"os"

	"github.com/fogkit/fogkit/backup"
	"github.com/fogkit/fogkit/sign"
)

func init() {
	commands["backup"] = command{"check that an appliance backup is whole (backup verify)", runBackup}
}

// backupReport is backup verify's machine report.
type backupReport struct {
	File     string           `json:"file"`
	Files    int64            `json:"files"`
	Bytes    int64            `json:"bytes"`
	Manifest *backup.Manifest `json:"manifest"`
}

func runBackup(ctx context.Context, e *env, args []string) error {
	const u = "fogkit backup verify (-passphrase-file F | -key K [-key-passphrase-file F]) [-json] BACKUP"
	if len(args) == 0 || args[0] != "verify" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help") {
			fmt.Fprintln(e.stdout, "usage:", u)
			return errHelp()
		}
		return usageErr("usage: %s", u)
	}
	f := newFlags(e, "backup verify", u, true)
	passFile := f.String("passphrase-file", "", "file holding the backup's passphrase (first line)")
	keyFile := f.String("key", "", "the customer's OpenPGP private key the backup was encrypted to")
	keyPass := f.String("key-passphrase-file", "", "file holding the private key's passphrase, if it has one")
	pos, err := f.parse(e, args[1:], 1)
	if err != nil {
		return err
	}
	if (*passFile == "") == (*keyFile == "") {
		return usageErr("give exactly one of -passphrase-file and -key (usage: %s)", u)
	}
	ro := &backup.ReadOptions{}
	if *passFile != "" {
		if ro.Passphrase, err = sign.ReadPassphraseFile(*passFile); err != nil {
			return err
		}
	} else if ro.Key, err = loadOpenPGPKey(*keyFile, *keyPass, "backup", "the customer's OpenPGP private key the backup was encrypted to"); err != nil {
		return err
	}
	in, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer in.Close()
	m, err := backup.Verify(ctx, in, ro)
	if err != nil {
		return fmt.Errorf("%s: %w (a wrong passphrase or key also shows as a decryption failure)", pos[0], err)
	}
	if f.asJSON() {
		n, size := m.FileTotals()
		return writeJSON(e.stdout, backupReport{pos[0], n, size, m})
	}
	return backup.WriteSummary(e.stdout, m)
}
