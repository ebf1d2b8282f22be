// Command license issues, verifies and inspects fogkit license files.
//
//	license keygen -key license.key -pub license.pub
//	license issue  -key license.key -product P -customer ID -name N [-seats N]
//	               [-features a,b] [-expires 2027-12-31] [-grace 14d] [-trial]
//	               [-instance ID] [-updates-until DATE] [-limit name=N]... [-meta k=v]...
//	               [-id ID] [-sequence N] [-issued TIME] -o x.lic
//	license verify -pub license.pub [-pub old.pub]... -product P [-instance ID]
//	               [-now RFC3339] [-state state.json] x.lic
//	license inspect x.lic
//
// verify exits 0 for a valid license, 3 for a license in its grace period,
// 4 for an expired one and 1 for any other failure (printing the error).
// Every other command exits 0 or 1.
//
// The issue time (-issued, alias -epoch) takes RFC 3339, a date or Unix
// seconds; it defaults to SOURCE_DATE_EPOCH when set, else the current
// time, so CI can issue byte-identical licenses. -expires and the other
// dates take RFC 3339 or a date (YYYY-MM-DD), which means 00:00 UTC of
// that day.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
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
	keyData, err := readSmall(*keyPath, sign.MaxKeyFileSize)
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
	}
	if l.IssuedAt, err = issueTime(issued); err != nil {
		return err
	}
	if *notBefore != "" {
		if l.NotBefore, err = parseTime(*notBefore); err != nil {
			return fmt.Errorf("-not-before: %w", err)
		}
	}
	if *expires != "" {
		t, err := parseTime(*expires)
		if err != nil {
			return fmt.Errorf("-expires: %w", err)
		}
		l.ExpiresAt = &t
	}
	if *updatesUntil != "" {
		t, err := parseTime(*updatesUntil)
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
	if *features != "" {
		for _, f := range strings.Split(*features, ",") {
			if f = strings.TrimSpace(f); f != "" {
				l.Features = append(l.Features, f)
			}
		}
	}
	for _, kv := range limits {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil {
			return fmt.Errorf("-limit %q: want name=integer", kv)
		}
		if l.Limits == nil {
			l.Limits = map[string]int64{}
		}
		l.Limits[k] = n
	}
	for _, kv := range meta {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("-meta %q: want key=value", kv)
		}
		if l.Metadata == nil {
			l.Metadata = map[string]string{}
		}
		l.Metadata[k] = v
	}
	l.ID = *id
	if l.ID == "" {
		h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d\x00%s", l.Product, l.Customer.ID, l.Sequence, l.IssuedAt.UTC().Format(time.RFC3339Nano)))
		l.ID = "lic-" + hex.EncodeToString(h[:8])
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
		t, err := parseTime(flagValue)
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

// parseTime accepts RFC 3339, YYYY-MM-DD (00:00 UTC) or Unix seconds.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not RFC 3339, YYYY-MM-DD or Unix seconds", s)
}

func readSmall(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return data, nil
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
	nowFlag := fs.String("now", "", "check at this time (RFC 3339) instead of the clock")
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
	ring, err := sign.NewKeyring()
	if err != nil {
		return fail(err)
	}
	for _, p := range pubs {
		data, err := readSmall(p, sign.MaxKeyFileSize)
		if err != nil {
			return fail(err)
		}
		k, err := sign.LoadPublicKey(data, sign.PurposeLicense)
		if err != nil {
			return fail(fmt.Errorf("%s: %w", p, err))
		}
		if err := ring.Add(k); err != nil {
			return fail(err)
		}
	}
	o := &license.VerifyOptions{InstanceID: *instance, Skew: *skew}
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339Nano, *nowFlag)
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
		printStatus(stdout, st, err)
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

func printStatus(w io.Writer, st *license.Status, err error) {
	state := "valid"
	switch {
	case err != nil && errors.Is(err, license.ErrExpired):
		state = "EXPIRED"
	case err != nil:
		state = "INVALID"
	case st.InGrace:
		state = "valid (in grace period)"
	}
	fmt.Fprintf(w, "status:     %s\n", state)
	if err != nil {
		fmt.Fprintf(w, "error:      %v\n", err)
	}
	fmt.Fprintf(w, "key:        %s\n", st.KeyID)
	fmt.Fprintf(w, "checked at: %s\n", st.Now.Format(time.RFC3339))
	if st.Perpetual {
		fmt.Fprintf(w, "expires:    never\n")
	} else {
		days, _ := st.DaysUntilExpiry()
		fmt.Fprintf(w, "remaining:  %d days (%s), with grace %s\n", days, round(st.Remaining), round(st.GraceRemaining))
	}
	printLicense(w, st.License)
}

func round(d time.Duration) time.Duration { return d.Truncate(time.Second) }

func printLicense(w io.Writer, l *license.License) {
	fmt.Fprintf(w, "license:    %s (sequence %d, format %d)\n", l.ID, l.Sequence, l.Format)
	fmt.Fprintf(w, "product:    %s\n", l.Product)
	fmt.Fprintf(w, "customer:   %s (%s)\n", l.Customer.ID, l.Customer.Name)
	fmt.Fprintf(w, "issued:     %s\n", l.IssuedAt.Format(time.RFC3339))
	fmt.Fprintf(w, "valid from: %s\n", l.NotBefore.Format(time.RFC3339))
	if l.ExpiresAt != nil {
		fmt.Fprintf(w, "expires at: %s (grace %s)\n", l.ExpiresAt.Format(time.RFC3339), l.GracePeriod)
	}
	if l.UpdatesUntil != nil {
		fmt.Fprintf(w, "updates:    released until %s\n", l.UpdatesUntil.Format(time.RFC3339))
	} else {
		fmt.Fprintf(w, "updates:    all\n")
	}
	if l.Seats == 0 {
		fmt.Fprintf(w, "seats:      unlimited\n")
	} else {
		fmt.Fprintf(w, "seats:      %d\n", l.Seats)
	}
	fmt.Fprintf(w, "features:   %s\n", strings.Join(l.Features, ", "))
	if len(l.Limits) > 0 {
		keys := make([]string, 0, len(l.Limits))
		for k := range l.Limits {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s=%d", k, l.Limits[k])
		}
		fmt.Fprintf(w, "limits:     %s\n", strings.Join(parts, ", "))
	}
	if l.InstanceID != "" {
		fmt.Fprintf(w, "instance:   %s\n", l.InstanceID)
	}
	if l.Trial {
		fmt.Fprintf(w, "trial:      yes\n")
	}
	if len(l.Metadata) > 0 {
		keys := make([]string, 0, len(l.Metadata))
		for k := range l.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "meta:       %s=%q\n", k, l.Metadata[k])
		}
	}
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
		printLicense(stdout, u.License)
	}
	fmt.Fprintf(stdout, "payload (%d bytes):\n%s", len(u.Payload), u.Payload)
	return err
}
