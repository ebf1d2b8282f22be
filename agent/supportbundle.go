package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/support"
)

// SupportOptions configures GET /api/v1/support-bundle. The bundle always
// holds the appliance's status and update history (status.json), the
// kernel log and the system facts of support.SystemFacts; Sources adds
// the vendor's own (application logs, a diagnostics command).
type SupportOptions struct {
	// Key is the vendor's support public key as the build bakes it
	// (/etc/fogkit/support.pub, armored OpenPGP). Bundles are encrypted to
	// it; without it only plain bundles (?plain=true) can be made.
	Key []byte `json:"-"`
	// Sources are the vendor's collectors, after the agent's own.
	Sources []support.Source `json:"-"`
	// Redact adds the vendor's patterns and literals to the default
	// redactors; the agent always adds the presented bearer token and the
	// license file's key material as literals.
	Redact *support.RedactOptions `json:"redact,omitempty"`
	// MaxLines, MaxBytes and MaxTotal are the caps of support.Options;
	// 0 means its defaults.
	MaxLines int   `json:"maxLines,omitempty"`
	MaxBytes int64 `json:"maxBytes,omitempty"`
	MaxTotal int64 `json:"maxTotal,omitempty"`
}

// handleSupportBundle streams a support bundle: encrypted to the vendor's
// support key, or with ?plain=true the redacted archive itself, for the
// admin to read what would be sent. One bundle at a time.
func (s *Server) handleSupportBundle(w http.ResponseWriter, r *http.Request) {
	var literals []string
	if tok, ok := bearerToken(r.Header.Get("Authorization")); ok {
		literals = append(literals, tok)
	}
	if e := s.writeSupportBundle(r.Context(), w, r.URL.Query().Get("plain") == "true", literals); e != nil {
		writeError(w, e)
	}
}

// writeSupportBundle streams a bundle to w with its headers; the API and
// the web console both make bundles through it. literals (the caller's
// bearer token) are redacted beside the vendor's and the license's. A
// refusal is returned before anything is written; a failure after the
// headers cuts the stream.
func (s *Server) writeSupportBundle(ctx context.Context, w http.ResponseWriter, plain bool, literals []string) *APIError {
	o := s.o.Support
	if o == nil {
		return &APIError{http.StatusNotImplemented, CodeNotSupported, "this appliance makes no support bundles"}
	}
	var recipients []*sign.OpenPGPPublicKey
	if !plain {
		if len(o.Key) == 0 {
			return &APIError{http.StatusNotImplemented, CodeNotSupported, "this appliance has no support key; ask for a plain bundle with ?plain=true"}
		}
		k, err := sign.LoadOpenPGPPublicKey(o.Key, sign.PurposeSupport)
		if err != nil {
			return errInternal
		}
		recipients = []*sign.OpenPGPPublicKey{k}
	}
	if !s.dataOp.TryLock() {
		return errDataBusy
	}
	defer s.dataOp.Unlock()

	status, err := json.MarshalIndent(s.Status(), "", "  ")
	if err != nil {
		return errInternal
	}
	sources := []support.Source{support.Bytes("fogkit/status.json", append(status, '\n')), support.KernelLog()}
	sources = append(sources, support.SystemFacts()...)
	sources = append(sources, o.Sources...)
	red := support.RedactOptions{}
	if o.Redact != nil {
		red = *o.Redact
		red.Literals = append([]string(nil), o.Redact.Literals...)
	}
	red.Literals = append(red.Literals, literals...)
	red.Literals = append(red.Literals, s.licenseSecrets()...)

	now := s.now().UTC()
	name := fmt.Sprintf("%s-%s-support-%s.tar.zst", s.o.Product, safeName(s.o.Version), now.Format("20060102T150405Z"))
	if !plain {
		name += ".gpg"
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 256<<10)
	_, err = support.Write(ctx, bw, &support.Options{
		Product: s.o.Product, Version: s.o.Version, Sequence: s.o.Sequence,
		Sources: sources, MaxLines: o.MaxLines, MaxBytes: o.MaxBytes, MaxTotal: o.MaxTotal,
		Redact: &red, Recipients: recipients, Plain: plain,
		Now: func() time.Time { return now },
	})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		// The status is sent: cut the stream so the client sees a
		// truncated download rather than a bundle that looks whole.
		panic(http.ErrAbortHandler)
	}
	return nil
}

// errDataBusy: another support bundle, backup or restore holds dataOp.
var errDataBusy = &APIError{http.StatusConflict, CodeBusy, "a support bundle, backup or restore is already running"}

// licenseSecrets are the base64 lines of the installed and baked license
// files: a license file works on any appliance of the product, so a
// bundle must not carry one a reader could reassemble.
func (s *Server) licenseSecrets() []string {
	var out []string
	files := [][]byte{s.o.BakedLicense}
	if b, err := readState(s.o.StateDir, stateLicense, s.o.MaxLicenseSize); err == nil {
		files = append(files, b)
	}
	for _, f := range files {
		for _, l := range bytes.Split(f, []byte("\n")) {
			l = bytes.TrimSpace(l)
			if len(l) >= 16 && !bytes.HasPrefix(l, []byte("-----")) && !bytes.Contains(l, []byte(": ")) {
				out = append(out, string(l))
			}
		}
	}
	return out
}

// safeName keeps a version string fit for a file name.
func safeName(v string) string {
	if v == "" {
		return "unknown"
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, v)
}
