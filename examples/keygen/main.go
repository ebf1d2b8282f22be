package main

import (
	"crypto/rand"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/fogkit/fogkit/sign"
)

const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, time.Now))
}

// keyFile is one file keygen writes.
type keyFile struct {
	name    string
	data    []byte
	private bool
}

func run(args []string, stdout, stderr io.Writer, now func() time.Time) int {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	purpose := fs.String("purpose", "", "license, update or ova")
	name := fs.String("name", "", "key name: OpenPGP user id name or certificate CN (default \"fogkit <purpose> key\")")
	email := fs.String("email", "", "OpenPGP user id email (update)")
	out := fs.String("o", "", "output directory (created if missing)")
	years := fs.Int("years", 10, "certificate validity in years; 0 means until 9999-12-31 (ova)")
	at := fs.String("time", "", "creation time, RFC 3339 (default: now; for ova the start of today, UTC)")
	passEnv := fs.String("passphrase-env", "", "environment variable holding a passphrase for the OpenPGP private key (update)")
	force := fs.Bool("force", false, "overwrite existing files")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	usage := func(msg string) int {
		fmt.Fprintln(stderr, "keygen:", msg)
		fmt.Fprintln(stderr, "usage: keygen -purpose license|update|ova [-name NAME] -o DIR")
		return exitUsage
	}
	if fs.NArg() > 0 {
		return usage(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if *out == "" {
		return usage("-o DIR is required")
	}
	p := sign.Purpose(*purpose)
	switch p {
	case sign.PurposeLicense, sign.PurposeUpdate, sign.PurposeOVA:
	default:
		return usage(fmt.Sprintf("-purpose must be license, update or ova, not %q", *purpose))
	}
	if *name == "" {
		*name = "fogkit " + string(p) + " key"
	}
	t := now().UTC()
	if *at != "" {
		var err error
		if t, err = time.Parse(time.RFC3339, *at); err != nil {
			return usage(fmt.Sprintf("-time: %v", err))
		}
	} else if p == sign.PurposeOVA {
		t = t.Truncate(24 * time.Hour)
	}
	if *years < 0 {
		return usage("-years must not be negative")
	}
	var passphrase []byte
	if *passEnv != "" {
		if p != sign.PurposeUpdate {
			return usage("-passphrase-env applies to -purpose update only")
		}
		passphrase = []byte(os.Getenv(*passEnv))
		if len(passphrase) == 0 {
			return usage(fmt.Sprintf("environment variable %s is empty", *passEnv))
		}
	}

	id, files, err := generate(p, *name, *email, t, *years, passphrase)
	if err != nil {
		fmt.Fprintln(stderr, "keygen:", err)
		return exitFail
	}
	if err := writeFiles(*out, files, *force); err != nil {
		fmt.Fprintln(stderr, "keygen:", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "%s key %s\n", p, id)
	for _, f := range files {
		fmt.Fprintln(stdout, filepath.Join(*out, f.name))
	}
	return exitOK
}

func generate(p sign.Purpose, name, email string, t time.Time, years int, passphrase []byte) (string, []keyFile, error) {
	base := string(p)
	switch p {
	case sign.PurposeLicense:
		s, err := sign.GenerateEd25519(rand.Reader, p)
		if err != nil {
			return "", nil, err
		}
		priv, err := sign.EncodePrivateKey(s, nil)
		if err != nil {
			return "", nil, err
		}
		pub, err := sign.EncodePublicKey(s.Public())
		if err != nil {
			return "", nil, err
		}
		return s.KeyID(), []keyFile{{base + ".key", priv, true}, {base + ".pub", pub, false}}, nil
	case sign.PurposeUpdate:
		s, err := sign.GenerateOpenPGP(name, email, p, &sign.OpenPGPOptions{Time: t})
		if err != nil {
			return "", nil, err
		}
		priv, err := sign.EncodePrivateKey(s, passphrase)
		if err != nil {
			return "", nil, err
		}
		pub, err := sign.EncodePublicKey(s.Public())
		if err != nil {
			return "", nil, err
		}
		return s.KeyID(), []keyFile{{base + ".key", priv, true}, {base + ".pub", pub, false}}, nil
	case sign.PurposeOVA:
		key, err := sign.GenerateRSA(rand.Reader, 0)
		if err != nil {
			return "", nil, err
		}
		o := &sign.CertOptions{CommonName: name, NotBefore: t}
		if years > 0 {
			o.NotAfter = t.AddDate(years, 0, 0)
		}
		cert, err := sign.SelfSignedCertificate(key, o)
		if err != nil {
			return "", nil, err
		}
		s, err := sign.NewX509Signer(key, []*x509.Certificate{cert}, p)
		if err != nil {
			return "", nil, err
		}
		priv, err := sign.EncodePrivateKey(s, nil)
		if err != nil {
			return "", nil, err
		}
		return s.KeyID(), []keyFile{{base + ".key", priv, true}, {base + ".crt", sign.EncodeCertificates(s.Certificates()), false}}, nil
	}
	return "", nil, fmt.Errorf("unknown purpose %q", p)
}

// writeFiles writes every file or none: it checks for existing files first.
func writeFiles(dir string, files []keyFile, force bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if !force {
		for _, f := range files {
			if _, err := os.Lstat(filepath.Join(dir, f.name)); err == nil {
				return fmt.Errorf("%s exists (use -force to overwrite)", filepath.Join(dir, f.name))
			}
		}
	}
	for _, f := range files {
		mode := os.FileMode(0o644)
		if f.private {
			mode = 0o600
		}
		p := filepath.Join(dir, f.name)
		// A fresh temporary file (O_EXCL, created with its final mode) so a
		// private key never lands behind a planted symlink or sits readable
		// under an old file's mode, then renamed into place.
		tmp, err := os.CreateTemp(dir, "."+f.name+".*")
		if err != nil {
			return err
		}
		if err := tmp.Chmod(mode); err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			return err
		}
		_, werr := tmp.Write(f.data)
		if cerr := tmp.Close(); werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = os.Rename(tmp.Name(), p)
		}
		if werr != nil {
			os.Remove(tmp.Name())
			return werr
		}
	}
	return nil
}
