// Command update builds, verifies and applies fogkit offline update
// packages.
//
//	update keygen  -name N -key update.key -pub update.pub
//	update build   -kind full|diff|bundle -product P -version V -seq N -to DIR [-from DIR[,DIR...]]
//	               -key update.key [-encrypt-to product.pub] -o pkg.fup
//	update verify  -pub update.pub [-product P] [-decrypt product.key] pkg.fup
//	update apply   -pub update.pub [-decrypt product.key] [-wait] -target DIR pkg.fup
//	update confirm -target DIR
//	update boot    -target DIR   (count a boot attempt; rolls back when exhausted)
//	update status  -target DIR
//
// Commands that change the target take its lock; while another process
// holds it they fail at once ("target is busy"), unless apply is given
// -wait. It exits 0 on success and 1 with a one-line error otherwise.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/update"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "update:", strings.ReplaceAll(err.Error(), "\n", " "))
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: update keygen|build|verify|apply|confirm|boot|status [flags]")
	}
	cmd, args := args[0], args[1:]
	fl := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	var (
		kind     = fl.String("kind", "full", "package kind: full, diff or bundle")
		vendor   = fl.String("vendor", "fogkit", "vendor name")
		product  = fl.String("product", "", "product name")
		channel  = fl.String("channel", "", "channel (default stable when building)")
		version  = fl.String("version", "", "version of the new tree")
		seq      = fl.Uint64("seq", 0, "monotonic sequence number")
		to       = fl.String("to", "", "directory holding the new tree")
		from     = fl.String("from", "", "comma-separated base tree directories, oldest first (version = directory name)")
		keyFile  = fl.String("key", "", "private update key (armored OpenPGP or PKCS#8 PEM)")
		pubFile  = fl.String("pub", "", "public update key")
		encTo    = fl.String("encrypt-to", "", "product's public OpenPGP key to encrypt the payload to")
		decKey   = fl.String("decrypt", "", "product's private OpenPGP key to decrypt the payload")
		output   = fl.String("o", "", "output package file")
		target   = fl.String("target", "", "target directory with slots")
		fullIf   = fl.Bool("full-if-larger", false, "build a full package when a diff or bundle would be larger")
		name     = fl.String("name", "fogkit updates", "key owner name (keygen)")
		progress = fl.Bool("progress", false, "print progress to stderr")
		wait     = fl.Bool("wait", false, "apply: wait for the target's lock instead of failing when it is busy")
	)
	if err := fl.Parse(args); err != nil {
		return fmt.Errorf("%s: %v", cmd, err)
	}
	var prog func(update.Event)
	if *progress {
		var end func()
		prog, end = update.ProgressLine(os.Stderr)
		defer end()
	}
	switch cmd {
	case "keygen":
		if *keyFile == "" || *pubFile == "" {
			return errors.New("keygen: -key and -pub are required")
		}
		k, err := sign.GenerateOpenPGP(*name, "", sign.PurposeUpdate, nil)
		if err != nil {
			return err
		}
		priv, err := sign.EncodePrivateKey(k, nil)
		if err != nil {
			return err
		}
		pub, err := sign.EncodePublicKey(k.Public())
		if err != nil {
			return err
		}
		if err := os.WriteFile(*keyFile, priv, 0o600); err != nil {
			return err
		}
		if err := os.WriteFile(*pubFile, pub, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "key %s\n", k.KeyID())
		return nil

	case "build":
		if *product == "" || *version == "" || *seq == 0 || *to == "" || *keyFile == "" || *output == "" {
			return errors.New("build: -product, -version, -seq, -to, -key and -o are required")
		}
		signer, err := loadSigner(*keyFile)
		if err != nil {
			return err
		}
		o := &update.BuildOptions{Vendor: *vendor, Product: *product, Channel: *channel, Version: *version,
			Sequence: *seq, Kind: update.Kind(*kind), FullIfLarger: *fullIf, Progress: prog,
			TempDir: filepath.Dir(*output)}
		if *encTo != "" {
			pk, err := loadPGPPublic(*encTo)
			if err != nil {
				return err
			}
			o.Encrypt = update.OpenPGPEncrypter(pk)
		}
		var bases []update.Tree
		if *from != "" {
			bases = update.DirTrees(strings.Split(*from, ",")...)
		}
		tmp := *output + ".tmp"
		f, err := os.Create(tmp)
		if err != nil {
			return err
		}
		rep, err := update.Build(ctx, f, []sign.Signer{signer}, update.Tree{Version: *version, Sequence: *seq, FS: os.DirFS(*to)}, bases, o)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(tmp)
			return err
		}
		if err := os.Rename(tmp, *output); err != nil {
			return err
		}
		return update.WriteBuildSummary(out, *output, rep)

	case "verify", "apply":
		if fl.NArg() != 1 || *pubFile == "" {
			return fmt.Errorf("%s: -pub and one package file are required", cmd)
		}
		ring, err := sign.ReadKeyring(sign.PurposeUpdate, *pubFile)
		if err != nil {
			return err
		}
		vo := update.VerifyOptions{Keyring: ring, Vendor: *vendorIfSet(fl, vendor), Product: *product, Channel: *channel, Progress: prog}
		if *decKey != "" {
			k, err := loadPGPSigner(*decKey)
			if err != nil {
				return err
			}
			vo.Decrypt = update.OpenPGPDecrypter(k, 0)
		}
		f, err := os.Open(fl.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if cmd == "verify" {
			rep, err := update.Verify(ctx, f, st.Size(), &vo)
			if err != nil {
				return err
			}
			return update.WriteVerifySummary(out, rep)
		}
		if *target == "" {
			return errors.New("apply: -target is required")
		}
		fsys, err := openTarget(*target, true)
		if err != nil {
			return err
		}
		defer fsys.Close()
		rep, err := update.Apply(ctx, fsys, f, st.Size(), &update.ApplyOptions{VerifyOptions: vo, WaitLock: *wait})
		if err != nil {
			return err
		}
		return update.WriteApplySummary(out, rep)

	case "confirm", "boot", "status", "rollback":
		if *target == "" {
			return fmt.Errorf("%s: -target is required", cmd)
		}
		fsys, err := openTarget(*target, false)
		if err != nil {
			return err
		}
		defer fsys.Close()
		var st *update.State
		switch cmd {
		case "confirm":
			st, err = update.Confirm(ctx, fsys)
		case "boot":
			st, err = update.BootAttempt(ctx, fsys)
		case "rollback":
			st, err = update.Rollback(ctx, fsys)
		default:
			st, err = update.ReadState(fsys)
		}
		if err != nil {
			return err
		}
		return update.WriteStateSummary(out, st)
	}
	return fmt.Errorf("unknown command %q", cmd)
}

// vendorIfSet returns the -vendor value only when given explicitly (its
// default applies to build only).
func vendorIfSet(fl *flag.FlagSet, v *string) *string {
	set := false
	fl.Visit(func(f *flag.Flag) { set = set || f.Name == "vendor" })
	if set {
		return v
	}
	empty := ""
	return &empty
}

func openTarget(dir string, create bool) (*update.OSFS, error) {
	if create {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	return update.NewOSFS(dir)
}

func loadSigner(path string) (sign.Signer, error) {
	b, err := sign.ReadKeyFile(path)
	if err != nil {
		return nil, err
	}
	return sign.LoadSigner(b, sign.PurposeUpdate, nil)
}

// loadPGPPublic and loadPGPSigner read the product's OpenPGP key pair
// that encrypts the payload.
func loadPGPPublic(path string) (*sign.OpenPGPPublicKey, error) {
	b, err := sign.ReadKeyFile(path)
	if err != nil {
		return nil, err
	}
	return sign.LoadOpenPGPPublicKey(b, sign.PurposeUpdate)
}

func loadPGPSigner(path string) (*sign.OpenPGPSigner, error) {
	b, err := sign.ReadKeyFile(path)
	if err != nil {
		return nil, err
	}
	return sign.LoadOpenPGPSigner(b, sign.PurposeUpdate, nil)
}
