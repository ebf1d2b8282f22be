// Command verifyova checks an OVA the way a careful importer would and
// prints the report: members and digests, the signer, findings, problems.
//
//	go run ./examples/verifyova [-roots ca.pem] [-allow-unsigned] [-foreign-headers] [-json] app.ova
//
// An unsigned OVA is invalid unless -allow-unsigned is given, and only the
// tar headers ova.Write writes are accepted unless -foreign-headers is
// given (for OVAs made by ovftool, VirtualBox, GNU tar or bsdtar).
//
// Exit status: 0 when the archive is valid (findings such as a self-signed
// certificate are printed but do not fail it), 1 when it is not, 2 on bad
// usage or when the file cannot be read.
package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/fogkit/fogkit/ova"
	"github.com/fogkit/fogkit/sign"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verifyova", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rootsFile := fs.String("roots", "", "PEM file of trusted root certificates (a self-signed vendor certificate may be one)")
	allowUnsigned := fs.Bool("allow-unsigned", false, "accept an OVA without signature (by default it is invalid); without -roots any certificate, self-signed too, is accepted: pass -roots to decide whom to trust")
	fs.Bool("require-signature", true, "ignored: a signature is required unless -allow-unsigned")
	foreign := fs.Bool("foreign-headers", false, "accept the tar headers other writers make (ovftool, VirtualBox, GNU tar, bsdtar), still refusing fields tar readers could read differently")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "verifyova: exactly one .ova argument")
		fs.Usage()
		return 2
	}
	opt := &ova.VerifyOptions{AllowUnsigned: *allowUnsigned, ForeignHeaders: *foreign}
	if *rootsFile != "" {
		pemBytes, err := os.ReadFile(*rootsFile)
		if err != nil {
			fmt.Fprintln(stderr, "verifyova:", err)
			return 2
		}
		roots, err := sign.ParseCertificates(pemBytes)
		if err != nil {
			fmt.Fprintf(stderr, "verifyova: %s: %v\n", *rootsFile, err)
			return 2
		}
		opt.Roots = roots
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "verifyova:", err)
		return 2
	}
	defer f.Close()
	rep, verr := ova.Verify(ctx, f, opt)

	if *asJSON {
		out := struct {
			Valid    bool        `json:"valid"`
			Report   *ova.Report `json:"report"`
			Problems []string    `json:"problems,omitempty"`
		}{Valid: verr == nil, Report: rep}
		for _, e := range leaves(verr) {
			out.Problems = append(out.Problems, e.Error())
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	} else {
		printReport(stdout, fs.Arg(0), rep, verr, opt.Roots)
	}
	if verr != nil {
		return 1
	}
	return 0
}

func printReport(w io.Writer, path string, rep *ova.Report, verr error, roots []*x509.Certificate) {
	fmt.Fprintf(w, "%s: %s (%d bytes read)\n", path, rep.Name, rep.Size)
	for _, e := range rep.Entries {
		d := e.Digest
		if d != "" {
			d = string(e.Algorithm) + ":" + d
		}
		fmt.Fprintf(w, "  %-12s %-6s %12d  %-32s %s\n", e.Kind, e.Format, e.Size, e.Name, d)
	}
	if s := rep.Signer; s != nil {
		fmt.Fprintf(w, "signer: %s\n", s.Subject)
		fmt.Fprintf(w, "  issuer %s, serial %s, %s, %s signature\n", s.Issuer, s.Serial, s.KeyType, s.Algorithm)
		fmt.Fprintf(w, "  valid %s to %s, sha256 fingerprint %s\n", s.NotBefore, s.NotAfter, s.Fingerprint)
		switch {
		case s.Trusted:
			fmt.Fprintf(w, "  trusted: chains to %s\n", s.TrustedRoot)
		case len(roots) == 0:
			fmt.Fprintln(w, "  trust: not checked (no -roots)")
		default:
			fmt.Fprintln(w, "  trust: NOT trusted by the given roots")
		}
		fmt.Fprintf(w, "  signature verified: %v\n", rep.Signed)
	} else {
		fmt.Fprintln(w, "signer: none (unsigned)")
	}
	for _, f := range rep.Findings {
		fmt.Fprintf(w, "warning: %s: %s\n", f.Code, f.Message)
	}
	if verr == nil {
		fmt.Fprintln(w, "VALID")
		return
	}
	for _, e := range leaves(verr) {
		fmt.Fprintf(w, "error: %v\n", e)
	}
	fmt.Fprintln(w, "INVALID")
}

// leaves flattens joined errors.
func leaves(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}
