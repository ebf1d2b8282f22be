// Command support opens a fogkit support bundle on the vendor's side:
// it decrypts the bundle with the vendor's support key, checks every
// member against the bundle's index, lists what was collected (with the
// caps and redactions the appliance applied) and, with -x, extracts it.
//
//	support -key support.key [-x DIR] [-json] bundle.tar.zst.gpg
//	support -plain [-x DIR] [-json] bundle.tar.zst
//
// The key is the support.key of the vendor's key directory (examples/keygen
// or the pipeline makes it; -passphrase-file when it is protected). A
// bundle an admin saved with ?plain=true opens with -plain and no key. It
// exits 0 when the bundle opens and every member matches its index, 1
// otherwise.
//
// Without fogkit, the same bundle opens with standard tools:
//
//	gpg --decrypt bundle.tar.zst.gpg | bsdtar -xvf -
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/support"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := flag.NewFlagSet("support", flag.ContinueOnError)
	f.SetOutput(stderr)
	keyFile := f.String("key", "", "the vendor's support private key (support.key)")
	passFile := f.String("passphrase-file", "", "file holding the key's passphrase, if it has one")
	plain := f.Bool("plain", false, "the bundle is not encrypted (saved by the admin with ?plain=true)")
	extract := f.String("x", "", "extract the bundle into this new directory")
	asJSON := f.Bool("json", false, "print the bundle's index as JSON")
	if err := f.Parse(args); err != nil {
		return 2
	}
	if f.NArg() != 1 || (*keyFile == "") == !*plain {
		fmt.Fprintln(stderr, "usage: support -key support.key [-x DIR] [-json] BUNDLE  |  support -plain [-x DIR] [-json] BUNDLE")
		return 2
	}
	if err := open(ctx, f.Arg(0), *keyFile, *passFile, *plain, *extract, *asJSON, stdout); err != nil {
		fmt.Fprintf(stderr, "support: %v\n", err)
		return 1
	}
	return 0
}

func open(ctx context.Context, bundle, keyFile, passFile string, plain bool, extract string, asJSON bool, stdout io.Writer) error {
	var key *sign.OpenPGPSigner
	if !plain {
		kb, err := sign.ReadKeyFile(keyFile)
		if err != nil {
			return err
		}
		var pass []byte
		if passFile != "" {
			if pass, err = sign.ReadPassphraseFile(passFile); err != nil {
				return err
			}
		}
		if key, err = sign.LoadOpenPGPSigner(kb, sign.PurposeSupport, pass); err != nil {
			return fmt.Errorf("%s: %w", keyFile, err)
		}
	}
	in, err := os.Open(bundle)
	if err != nil {
		return err
	}
	defer in.Close()
	b, err := support.Open(ctx, in, key, &support.OpenOptions{Plain: plain})
	if err != nil {
		return fmt.Errorf("%s: %w", bundle, err)
	}
	if extract != "" {
		if err := b.Extract(extract); err != nil {
			return err
		}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(b.Index)
	}
	return support.WriteIndex(stdout, b.Index)
}
