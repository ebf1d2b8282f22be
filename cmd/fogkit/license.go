package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/fogkit/fogkit/license"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/fogkit/fogkit/sign"
)

func init() {
	commands["license"] = command{"issue, verify or inspect license files (license issue|verify|inspect)", runLicense}
}

// multi is a repeatable flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func runLicense(ctx context.Context, e *env, args []string) error {
	const u = "fogkit license issue|verify|inspect [flags] (fogkit license SUB -h)"
	if len(args) == 0 {
		return usageErr("usage: %s", u)
	}
	switch args[0] {
	case "issue":
		return licenseIssue(ctx, e, args[1:])
	case "verify":
		return licenseVerify(ctx, e, args[1:])
	case "inspect":
		return licenseInspect(e, args[1:])
	case "-h", "-help", "--help":
		fmt.Fprintln(e.stdout, "usage:", u)
		return errHelp()
	}
	return usageErr("unknown license command %q (usage: %s)", args[0], u)
}

func licenseIssue(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "license issue", "fogkit license issue -key license.key -product P -customer ID [-name N] [-seats N] [-features a,b] [-expires DATE] [-grace 14d] [-trial] [-instance ID] [-updates-until DATE] [-limit k=N]... [-meta k=v]... [-id ID] [-sequence N] [-issued TIME] -o x.lic", false)
	keyPath := f.String("key", "", "license private key (license.key of a key directory)")
	product := f.String("product", "", "product id")
	customer := f.String("customer", "", "customer id")
	name := f.String("name", "", "customer name")
	id := f.String("id", "", "license id (default: derived from product, customer, sequence and issue time)")
	seq := f.Uint64("sequence", 1, "sequence number; a host refuses lower ones once it saw a higher one")
	seats := f.Int("seats", 0, "licensed seats (0 = unlimited)")
	features := f.String("features", "", "comma-separated feature names")
	expires := f.String("expires", "", "expiry (RFC 3339, YYYY-MM-DD = 00:00 UTC, or Unix seconds); empty = perpetual")
	notBefore := f.String("not-before", "", "start of validity (default: the issue time)")
	grace := f.String("grace", "", "grace period after expiry, e.g. 14d or 36h")
	updatesUntil := f.String("updates-until", "", "last release date covered (default: all)")
	trial := f.Bool("trial", false, "mark as a trial license")
	instance := f.String("instance", "", "bind to this instance id")
	issued := f.String("issued", "", "issue time (default: SOURCE_DATE_EPOCH, else now)")
	var limits, meta multi
	f.Var(&limits, "limit", "numeric limit name=N (repeatable)")
	f.Var(&meta, "meta", "metadata key=value (repeatable)")
	out := f.String("o", "", "output file (- for stdout)")
	if _, err := f.parse(e, args, 0); err != nil {
		return err
	}
	if err := required(f, "key", *keyPath, "product", *product, "customer", *customer, "o", *out); err != nil {
		return err
	}
	keyData, err := sign.ReadKeyFile(*keyPath)
	if err != nil {
		return err
	}
	signer, err := sign.LoadSigner(keyData, sign.PurposeLicense, nil)
	if err != nil {
		return fmt.Errorf("-key %s: %w (want the license.key of a key directory)", *keyPath, err)
	}
	l := &license.License{Sequence: *seq, Product: *product, Customer: license.Customer{ID: *customer, Name: *name},
		Trial: *trial, Seats: *seats, InstanceID: *instance, Features: license.ParseFeatures(*features)}
	if l.IssuedAt, err = issueTime(*issued); err != nil {
		return err
	}
	times := []struct {
		flag string
		v    string
		set  func(time.Time)
	}{
		{"not-before", *notBefore, func(t time.Time) { l.NotBefore = t }},
		{"expires", *expires, func(t time.Time) { l.ExpiresAt = &t }},
		{"updates-until", *updatesUntil, func(t time.Time) { l.UpdatesUntil = &t }},
	}
	for _, t := range times {
		if t.v == "" {
			continue
		}
		v, err := license.ParseTime(t.v)
		if err != nil {
			return usageErr("-%s: %w", t.flag, err)
		}
		t.set(v)
	}
	if *grace != "" {
		if l.GracePeriod, err = license.ParseDuration(*grace); err != nil {
			return usageErr("-grace: %w", err)
		}
	}
	if l.Limits, err = license.ParseLimits(limits); err != nil {
		return usageErr("-limit %w", err)
	}
	if l.Metadata, err = license.ParseMetadata(meta); err != nil {
		return usageErr("-meta %w", err)
	}
	if l.ID = *id; l.ID == "" {
		l.ID = l.DerivedID()
	}
	if *out == "-" {
		return license.Encode(ctx, e.stdout, l, signer)
	}
	if err := writeAtomic(*out, 0o644, func(w *os.File) error { return license.Encode(ctx, w, l, signer) }); err != nil {
		return fmt.Errorf("%s: %w", *out, err)
	}
	fmt.Fprintf(e.stderr, "issued %s for %s (%s) into %s, key %s\n", l.ID, l.Customer.ID, l.Product, *out, signer.KeyID())
	return nil
}

// issueTime reads -issued, else SOURCE_DATE_EPOCH, else the clock.
func issueTime(v string) (time.Time, error) {
	if v != "" {
		t, err := license.ParseTime(v)
		if err != nil {
			return time.Time{}, usageErr("-issued: %w", err)
		}
		return t, nil
	}
	if t, ok, err := rootfs.SourceDateEpoch(); err != nil || ok {
		return t, err
	}
	return time.Now().UTC().Truncate(time.Second), nil
}

// licenseReport is license verify's machine report.
type licenseReport struct {
	File   string      `json:"file"`
	State  string      `json:"state"` // valid, grace, expired, invalid
	Error  string      `json:"error,omitempty"`
	Status *statusJSON `json:"status,omitempty"`
}

// statusJSON is license.Status with camelCase names and durations in
// seconds.
type statusJSON struct {
	License               *license.License `json:"license"`
	KeyID                 string           `json:"keyId"`
	Now                   time.Time        `json:"now"`
	Valid                 bool             `json:"valid"`
	InGrace               bool             `json:"inGrace"`
	Perpetual             bool             `json:"perpetual"`
	RemainingSeconds      int64            `json:"remainingSeconds"`
	GraceRemainingSeconds int64            `json:"graceRemainingSeconds"`
}

func newStatusJSON(st *license.Status) *statusJSON {
	if st == nil {
		return nil
	}
	return &statusJSON{st.License, st.KeyID, st.Now, st.Valid, st.InGrace, st.Perpetual,
		int64(st.Remaining / time.Second), int64(st.GraceRemaining / time.Second)}
}

func licenseVerify(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "license verify", "fogkit license verify -pub license.pub [-pub old.pub]... -product P [-instance ID] [-now TIME] [-state state.json] [-json] x.lic", true)
	var pubs multi
	f.Var(&pubs, "pub", "license public key (license.pub); repeat for key rotation")
	product := f.String("product", "", "this product's id")
	instance := f.String("instance", "", "this installation's instance id")
	nowFlag := f.String("now", "", "check at this time (RFC 3339, date or Unix seconds) instead of the clock")
	statePath := f.String("state", "", "state file for the rollback, sequence and revocation guards")
	skew := f.Duration("skew", 0, "allowed clock skew (default 5m)")
	pos, err := f.parse(e, args, 1)
	if err != nil {
		return err
	}
	if len(pubs) == 0 {
		return usageErr("-pub is required (usage: %s)", f.usage)
	}
	if err := required(f, "product", *product); err != nil {
		return err
	}
	ring, err := licenseRing(pubs)
	if err != nil {
		return err
	}
	o := &license.VerifyOptions{InstanceID: *instance, Skew: *skew}
	if *nowFlag != "" {
		t, err := license.ParseTime(*nowFlag)
		if err != nil {
			return usageErr("-now: %w", err)
		}
		o.Now = func() time.Time { return t }
	}
	if *statePath != "" {
		o.State = license.NewFileStore(*statePath)
	}
	in, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer in.Close()
	st, verr := license.Verify(ctx, in, ring, *product, o)
	state := license.Outcome(st, verr)
	if f.asJSON() {
		r := licenseReport{File: pos[0], State: state, Status: newStatusJSON(st)}
		if verr != nil {
			r.Error = verr.Error()
		}
		if err := writeJSON(e.stdout, r); err != nil {
			return err
		}
	} else if st != nil {
		if err := license.WriteStatus(e.stdout, st, state); err != nil {
			return err
		}
	}
	switch {
	case verr != nil:
		return fmt.Errorf("%s: %w", pos[0], verr)
	case st.InGrace:
		fmt.Fprintf(e.stderr, "fogkit license verify: %s: expired, in its grace period: issue a renewal\n", pos[0])
		return withCode(exitWarning, errReported)
	}
	return nil
}

// licenseRing loads the license public keys.
func licenseRing(pubs []string) (*sign.Keyring, error) {
	ring, err := sign.ReadKeyring(sign.PurposeLicense, pubs...)
	if err != nil {
		return nil, fmt.Errorf("-pub %w (want the license.pub of the key directory)", err)
	}
	return ring, nil
}

// licenseInspectReport is what inspect shows of a license without its key.
type licenseInspectReport struct {
	Verified  bool             `json:"verified"`
	KeyID     string           `json:"keyId"`
	Algorithm string           `json:"algorithm"`
	License   *license.License `json:"license,omitempty"`
}

func licenseInspect(e *env, args []string) error {
	f := newFlags(e, "license inspect", "fogkit license inspect [-json] x.lic", true)
	pos, err := f.parse(e, args, 1)
	if err != nil {
		return err
	}
	rep, err := inspectLicense(pos[0])
	if rep == nil {
		return err
	}
	if f.asJSON() {
		if werr := writeJSON(e.stdout, rep); werr != nil {
			return werr
		}
	} else {
		printLicenseInspect(e.stdout, rep)
	}
	return err
}

// inspectLicense decodes a license file without checking its signature.
func inspectLicense(path string) (*licenseInspectReport, error) {
	in, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	u, err := license.InspectUnverified(in)
	if u == nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err != nil {
		err = fmt.Errorf("%s: %w", path, err)
	}
	return &licenseInspectReport{KeyID: u.KeyID, Algorithm: u.Algorithm, License: u.License}, err
}

func printLicenseInspect(w io.Writer, r *licenseInspectReport) {
	fmt.Fprintln(w, "UNVERIFIED: the signature was not checked (fogkit license verify -pub license.pub checks it)")
	fmt.Fprintf(w, "key:        %s (%s)\n", r.KeyID, r.Algorithm)
	if r.License != nil {
		license.WriteLicense(w, r.License)
	}
}
