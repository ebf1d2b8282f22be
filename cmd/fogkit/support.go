package main

import (
	"context"
	"fmt"
	"os"

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
	return support.WriteIndex(e.stdout, b.Index)
}

// loadSupportKey reads the vendor's support key, with its passphrase
// from passFile when given.
func loadSupportKey(keyFile, passFile string) (*sign.OpenPGPSigner, error) {
	return loadOpenPGPKey(keyFile, passFile, sign.PurposeSupport, "the support.key of the vendor's key directory")
}

// loadOpenPGPKey reads an OpenPGP private key of the purpose, with its
// passphrase from passFile when given; want says which key is expected.
func loadOpenPGPKey(keyFile, passFile string, purpose sign.Purpose, want string) (*sign.OpenPGPSigner, error) {
	kb, err := sign.ReadKeyFile(keyFile)
	if err != nil {
		return nil, err
	}
	var pass []byte
	if passFile != "" {
		if pass, err = sign.ReadPassphraseFile(passFile); err != nil {
			return nil, err
		}
	}
	k, err := sign.LoadOpenPGPSigner(kb, purpose, pass)
	if err != nil {
		return nil, fmt.Errorf("-key %s: %w (want %s)", keyFile, err, want)
	}
	return k, nil
}
