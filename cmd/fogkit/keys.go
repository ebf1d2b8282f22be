package main

import (
	"context"
	"fmt"

	"github.com/fogkit/fogkit/sign"
)

func init() {
	commands["keys"] = command{"create a vendor key directory (keys create DIR)", runKeys}
}

func runKeys(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help") {
			fmt.Fprintln(e.stdout, "usage: fogkit keys create [-name N] DIR")
			return errHelp()
		}
		return usageErr("usage: fogkit keys create [-name N] DIR")
	}
	f := newFlags(e, "keys create", "fogkit keys create [-name N] [-json] DIR", true)
	name := f.String("name", "fogkit", "the vendor or product name in the OpenPGP user ids and the certificate")
	pos, err := f.parse(e, args[1:], 1)
	if err != nil {
		return err
	}
	ks, err := sign.CreateKeyDir(pos[0], &sign.KeyDirOptions{Name: *name})
	if err != nil {
		return fmt.Errorf("%s: %w (the directory must not exist or be empty)", pos[0], err)
	}
	ids := map[string]string{"dir": pos[0], "license": ks.License.KeyID(), "update": ks.Update.KeyID(), "ova": ks.OVA.KeyID()}
	if ks.Support != nil {
		ids["support"] = ks.Support.KeyID()
	}
	if f.asJSON() {
		return writeJSON(e.stdout, ids)
	}
	fmt.Fprintf(e.stdout, "created %s: license %s, update %s, ova %s, support %s (keep the .key files private)\n",
		pos[0], ids["license"], ids["update"], ids["ova"], ids["support"])
	return nil
}
