// Command license issues, verifies and inspects fogkit license files.
//
//	license keygen -key license.key -pub license.pub
//	license issue  -key license.key -product P -customer ID -name N [-seats N]
//	               [-features a,b] [-expires 2027-12-31] [-grace 14d] [-trial]
//	               [-instance ID] [-updates-until DATE] [-limit name=N]... [-meta k=v]...
//	               [-id ID] [-sequence N] [-issued TIME] -o x.lic
//	license verify -pub license.pub [-pub old.pub]... -product P [-instance ID]
//	               [-now TIME] [-state state.json] x.lic
//	license inspect x.lic
//
// verify exits 0 for a valid license, 3 for a license in its grace period,
// 4 for an expired one and 1 for any other failure (printing the error).
// Every other command exits 0 or 1.
//
// The issue time (-issued, alias -epoch) takes RFC 3339, a date or Unix
// seconds; it defaults to SOURCE_DATE_EPOCH when set, else the current
// time, so CI can issue byte-identical licenses. -expires, -now and the
// other dates take the same forms (license.ParseTime); a date
// (YYYY-MM-DD) means 00:00 UTC of that day.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/fogkit/fogkit/license"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/fogkit/fogkit/sign"
)

// Exit codes of verify.
const (
	exitOK      = 0
	exitFailure = 1
	exitInGrace = 3
	exitExpired = 4
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: license keygen|issue|verify|inspect [flags] (see -h of each)")
		return exitFailure
	}
	var err error
	switch args[0] {
	case "keygen":
		err = keygen(args[1:], stdout, stderr)
	case "issue":
		err = issue(ctx, args[1:], stdout, stderr)
	case "verify":
		return verify(ctx, args[1:], stdout, stderr)
	case "inspect":
		err = inspect(args[1:], stdout, stderr)
	default:
		err = fmt.Errorf("unknown command %q (want keygen, issue, verify or inspect)", args[0])
	}
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "error:", err)
		}
		return exitFailure
	}
	return exitOK
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func keygen(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keygen", stderr)
	keyPath := fs.String("key", "license.key", "private key file to create (PKCS#8 PEM, mode 0600)")
	pubPath := fs.String("pub", "license.pub", "public key file to create (SPKI PEM)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("keygen: unexpected argument %q", fs.Arg(0))
	}
	s, err := sign.GenerateEd25519(rand.Reader, sign.PurposeLicense)
	if err != nil {
		return err
	}
	priv, err := sign.EncodePrivateKey(s, nil)
	if err != nil {
		return err
	}
	pub, err := sign.EncodePublicKey(s.Public())
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*keyPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(priv); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(*pubPath, pub, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "key id %s\n", s.KeyID())
	return nil
}

func issue(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("issue", stderr)
	keyPath := fs.String("key", "", "license private key (PKCS#8 PEM)")
	product := fs.String("product", "", "product name")
	customer := fs.String("customer", "", "customer id")
	name := fs.String("name", "", "customer name")
	id := fs.String("id", "", "license id (default: derived from product, customer, sequence and issue time)")
	seq := fs.Uint64("sequence", 1, "sequence number; a host refuses lower ones once it saw a higher one")
	seats := fs.Int("seats", 0, "licensed seats (0 = unlimited)")
	features := fs.String("features", "", "comma-separated feature names")
	expires := fs.String("expires", "", "expiry (RFC 3339 or YYYY-MM-DD = 00:00 UTC); empty = perpetual")
	notBefore := fs.String("not-before", "", "start of validity (default: the issue time)")
	grace := fs.String("grace", "", "grace period after expiry, e.g. 14d or 36h")
	updatesUntil := fs.String("updates-until", "", "last release date covered (default: all)")
	trial := fs.Bool("trial", false, "mark as a trial license")
	instance := fs.String("instance", "", "bind to this instance id")
	var issued string
	fs.StringVar(&issued, "issued", "", "issue time: RFC 3339, YYYY-MM-DD or Unix seconds (default: SOURCE_DATE_EPOCH, else now)")
	fs.StringVar(&issued, "epoch", "", "alias of -issued")
	var limits, meta multi
	fs.Var(&limits, "limit", "numeric limit name=N (repeatable)")
	fs.Var(&meta, "meta", "metadata key=value (repeatable)")
	out := fs.String("o", "", "output file (- for stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("issue: unexpected argument %q", fs.Arg(0))
	}
	for flagName, v := range map[string]string{"-key": *keyPath, "-product": *product, "-customer": *customer, "-o": *out} {
		if v == "" {
			return fmt.Errorf("issue: %s is required", flagName)
		}
	}
	keyData, err := sign.ReadKeyFile(*keyPath)
	if err != nil {
		return err
	}
	signer, err := sign.LoadSigner(keyData, sign.PurposeLicense, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", *keyPath, err)
	}

	l := &license.License{
		Sequence:   *seq,
		Product:    *product,
		Customer:   license.Customer{ID: *customer, Name: *name},
		Trial:      *trial,
		Seats:      *seats,
		InstanceID: *instance,
		Features:   license.ParseFeatures(*features),
	}
	if l.IssuedAt, err = issueTime(issued); err != nil {
		return err
	}
	if *notBefore != "" {
		if l.NotBefore, err = license.ParseTime(*notBefore); err != nil {
			return fmt.Errorf("-not-before: %w", err)
		}
	}
	if *expires != "" {
		t, err := license.ParseTime(*expires)
		if err != nil {
			return fmt.Errorf("-expires: %w", err)
		}
		l.ExpiresAt = &t
	}
	if *updatesUntil != "" {
		t, err := license.ParseTime(*updatesUntil)
		if err != nil {
			return fmt.Errorf("-updates-until: %w", err)
		}
		l.UpdatesUntil = &t
	}
	if *grace != "" {
		if l.GracePeriod, err = license.ParseDuration(*grace); err != nil {
			return fmt.Errorf("-grace: %w", err)
		}
	}
	if l.Limits, err = license.ParseLimits(limits); err != nil {
		return fmt.Errorf("-limit %w", err)
	}
	if l.Metadata, err = license.ParseMetadata(meta); err != nil {
		return fmt.Errorf("-meta %w", err)
	}
	if l.ID = *id; l.ID == "" {
		l.ID = l.DerivedID()
	}

	var w io.Writer = stdout
	var f *os.File
	if *out != "-" {
		if f, err = os.Create(*out); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if err := license.Encode(ctx, w, l, signer); err != nil {
		return err
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "issued %s for %s (%s), key %s\n", l.ID, l.Customer.ID, l.Product, signer.KeyID())
	}
	return nil
}

// issueTime reads -issued, else SOURCE_DATE_EPOCH, else the clock.
func issueTime(flagValue string) (time.Time, error) {
	if flagValue != "" {
		t, err := license.ParseTime(flagValue)
		if err != nil {
			return time.Time{}, fmt.Errorf("-issued: %w", err)
		}
		return t, nil
	}
	if t, ok, err := rootfs.SourceDateEpoch(); err != nil || ok {
		return t, err
	}
	return time.Now().UTC().Truncate(time.Second), nil
}

func verify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "error:", err)
		}
		return exitFailure
	}
	fs := newFlags("verify", stderr)
	var pubs multi
	fs.Var(&pubs, "pub", "license public key (SPKI PEM); repeat for key rotation")
	product := fs.String("product", "", "this product's name")
	instance := fs.String("instance", "", "this installation's instance id")
	nowFlag := fs.String("now", "", "check at this time (RFC 3339, date or Unix seconds) instead of the clock")
	statePath := fs.String("state", "", "state file for the rollback, sequence and revocation guards")
	skew := fs.Duration("skew", 0, "allowed clock skew (default 5m)")
	if err := fs.Parse(args); err != nil {
		return fail(err)
	}
	if fs.NArg() != 1 {
		return fail(errors.New("verify: want exactly one license file"))
	}
	if len(pubs) == 0 || *product == "" {
		return fail(errors.New("verify: -pub and -product are required"))
	}
	ring, err := sign.ReadKeyring(sign.PurposeLicense, pubs...)
	if err != nil {
		return fail(err)
	}
	o := &license.VerifyOptions{InstanceID: *instance, Skew: *skew}
	if *nowFlag != "" {
		t, err := license.ParseTime(*nowFlag)
		if err != nil {
			return fail(fmt.Errorf("-now: %w", err))
		}
		o.Now = func() time.Time { return t }
	}
	if *statePath != "" {
		o.State = license.NewFileStore(*statePath)
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	st, err := license.Verify(ctx, f, ring, *product, o)
	if st != nil {
		license.WriteStatus(stdout, st, license.Outcome(st, err))
	}
	switch {
	case err == nil && st.InGrace:
		return exitInGrace
	case err == nil:
		return exitOK
	case errors.Is(err, license.ErrExpired):
		fmt.Fprintln(stderr, "error:", err)
		return exitExpired
	}
	return fail(err)
}

func inspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("inspect: want exactly one license file")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	u, err := license.InspectUnverified(f)
	if u == nil {
		return err
	}
	fmt.Fprintln(stdout, "UNVERIFIED: the signature was not checked; use verify before trusting any of this")
	fmt.Fprintf(stdout, "key:        %s (%s)\n", u.KeyID, u.Algorithm)
	if u.License != nil {
		license.WriteLicense(stdout, u.License)
	}
	fmt.Fprintf(stdout, "payload (%d bytes):\n%s", len(u.Payload), u.Payload)
	return err
}
