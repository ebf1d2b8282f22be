package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/fogkit/fogkit/license"
	"github.com/fogkit/fogkit/sign"
)

// License statuses, as LicenseStore.Status and the admin API's status
// report them.
const (
	LicenseNone        = "none"        // nothing installed, or nothing that verifies
	LicenseValid       = "valid"       // within its validity
	LicenseGrace       = "grace"       // expired, within its grace period: still works, with a warning
	LicenseExpired     = "expired"     // past its grace period
	LicenseNotYetValid = "notYetValid" // before its not-before time
)

// LicenseStoreOptions configures a LicenseStore.
type LicenseStoreOptions struct {
	// Dir is where Install stores the license (license.lic) and the
	// license package's state (license-state.json: last time seen, highest
	// sequence per customer). "" keeps an installed license in memory only.
	Dir string `json:"dir,omitempty"`
	// PublicKey is the license public key file as the build writes it to
	// /etc/fogkit/license.pub (SPKI PEM of an Ed25519 key). Required.
	PublicKey []byte `json:"-"`
	// Baked is the license file baked into the image
	// (/etc/fogkit/license.lic), used while none is installed; optional.
	Baked []byte `json:"-"`
	// Product is the product name licenses must name. Required.
	Product string `json:"product"`
	// InstanceID is this installation's id, for licenses bound to one.
	InstanceID string `json:"instanceId,omitempty"`
	// MaxSize caps a license file; 0 means DefaultMaxLicenseSize.
	MaxSize int64 `json:"maxSize,omitempty"`
	// Now is the clock; nil means time.Now.
	Now func() time.Time `json:"-"`
}

// DefaultMaxLicenseSize caps a license file offered to the store or the
// admin API.
const DefaultMaxLicenseSize = 1 << 20

// LicenseStore holds the appliance's license, shared by the admin API
// (which installs and reports it) and the license gate in front of the
// vendor's app (which checks it on every request). The signature is
// verified once, when the license is loaded or installed; the time-based
// status (valid, grace, expired) is re-evaluated on every call against the
// clock, so a license runs out without a restart. It is safe for
// concurrent use.
type LicenseStore struct {
	ring    *sign.Keyring
	product string
	inst    string
	dir     string
	max     int64
	now     func() time.Time

	mu  sync.RWMutex
	lic *license.License
	// installMu serializes Install so the state file and license file
	// change together.
	installMu sync.Mutex
}

// NewLicenseStore loads the installed license from o.Dir, or else the
// baked one. A license that does not verify (damaged, another product,
// unknown key) is ignored, so the store then reports LicenseNone; an
// expired or not yet valid one is kept and reported as such. Only unusable
// options are an error (ErrConfig).
func NewLicenseStore(o *LicenseStoreOptions) (*LicenseStore, error) {
	if o == nil || o.Product == "" {
		return nil, fmt.Errorf("%w: license store needs a product", ErrConfig)
	}
	key, err := sign.LoadPublicKey(o.PublicKey, sign.PurposeLicense)
	if err != nil {
		return nil, fmt.Errorf("%w: license public key: %w", ErrConfig, err)
	}
	ring, err := sign.NewKeyring(key)
	if err != nil {
		return nil, fmt.Errorf("%w: license public key: %w", ErrConfig, err)
	}
	s := &LicenseStore{ring: ring, product: o.Product, inst: o.InstanceID, dir: o.Dir, max: o.MaxSize, now: o.Now}
	if s.max <= 0 {
		s.max = DefaultMaxLicenseSize
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.dir != "" {
		if b, err := readState(s.dir, stateLicense, s.max); err == nil {
			s.lic = s.load(b)
		}
	}
	if s.lic == nil && len(o.Baked) > 0 {
		s.lic = s.load(o.Baked)
	}
	return s, nil
}

// load verifies a license file's signature, product and instance; time
// checks are left to Status, which re-runs them on every call.
func (s *LicenseStore) load(b []byte) *license.License {
	st, err := license.Verify(context.Background(), bytes.NewReader(b), s.ring, s.product,
		&license.VerifyOptions{InstanceID: s.inst, MaxSize: s.max, Now: s.now})
	if st == nil || (err != nil && !errors.Is(err, license.ErrExpired) && !errors.Is(err, license.ErrNotYetValid)) {
		return nil
	}
	return st.License
}

// Install verifies a license file (signature, product, instance, expiry,
// supersession) and, when it passes, stores it atomically on Dir and makes
// it the store's license at once. A refused license changes nothing: the
// error is a *LicenseError whose Code is the admin API's code. A license in
// its grace period is accepted; an expired one is not.
func (s *LicenseStore) Install(ctx context.Context, r io.Reader) (*LicenseSummary, error) {
	s.installMu.Lock()
	defer s.installMu.Unlock()
	b, err := io.ReadAll(io.LimitReader(r, s.max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > s.max {
		return nil, &LicenseError{Code: CodeTooLarge, Err: license.ErrTooLarge}
	}
	vo := &license.VerifyOptions{InstanceID: s.inst, MaxSize: s.max, Now: s.now}
	if s.dir != "" {
		if err := ensureStateDir(s.dir); err != nil {
			return nil, err
		}
		vo.State = license.NewFileStore(filepath.Join(s.dir, stateLicState))
	}
	st, err := license.Verify(ctx, bytes.NewReader(b), s.ring, s.product, vo)
	if err != nil {
		if errors.Is(err, license.ErrState) {
			return nil, fmt.Errorf("%w: %w", ErrState, err)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &LicenseError{Code: licenseCode(err), Err: err}
	}
	if s.dir != "" {
		if err := writeStateFile(s.dir, stateLicense, b, 0o600); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	s.lic = st.License
	s.mu.Unlock()
	sum := s.summary(st.License, s.now())
	return &sum, nil
}

// licenseCode maps license.Verify's errors to API codes.
func licenseCode(err error) string {
	switch {
	case errors.Is(err, license.ErrTooLarge):
		return CodeTooLarge
	case errors.Is(err, license.ErrWrongProduct):
		return CodeWrongProduct
	case errors.Is(err, license.ErrWrongInstance):
		return CodeWrongInstance
	case errors.Is(err, license.ErrExpired):
		return CodeLicenseExpired
	case errors.Is(err, license.ErrNotYetValid):
		return CodeLicenseNotYetValid
	case errors.Is(err, license.ErrSuperseded):
		return CodeLicenseSuperseded
	case errors.Is(err, license.ErrClockRollback):
		return CodeClockRollback
	case errors.Is(err, license.ErrRevoked):
		return CodeLicenseRevoked
	}
	return CodeBadLicense
}

// License returns the current license (verified), or nil. Callers must not
// modify it.
func (s *LicenseStore) License() *license.License {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.lic
}

// Status returns the license's status now: one of the License* constants.
func (s *LicenseStore) Status() string { return s.StatusAt(s.now()) }

// StatusAt returns the license's status at t.
func (s *LicenseStore) StatusAt(t time.Time) string { return statusAt(s.License(), t) }

func statusAt(l *license.License, t time.Time) string {
	switch {
	case l == nil:
		return LicenseNone
	case t.Add(license.DefaultSkew).Before(l.NotBefore):
		return LicenseNotYetValid
	case l.ExpiresAt == nil || t.Before(*l.ExpiresAt):
		return LicenseValid
	}
	if end, _ := l.GraceEnd(); t.Before(end) {
		return LicenseGrace
	}
	return LicenseExpired
}

// Has reports whether the license is usable now (valid or in grace) and
// enables feature.
func (s *LicenseStore) Has(feature string) bool {
	l := s.License()
	st := statusAt(l, s.now())
	return (st == LicenseValid || st == LicenseGrace) && l.HasFeature(feature)
}

// LicenseSummary is the license's part of the status: nothing secret, no
// signature.
type LicenseSummary struct {
	Status     string     `json:"status"` // one of the License* constants
	ID         string     `json:"id,omitempty"`
	Customer   string     `json:"customer,omitempty"`
	CustomerID string     `json:"customerId,omitempty"`
	Seats      int        `json:"seats"` // 0: unlimited
	Features   []string   `json:"features,omitempty"`
	NotBefore  *time.Time `json:"notBefore,omitempty"`
	NotAfter   *time.Time `json:"notAfter,omitempty"`   // nil: perpetual
	GraceUntil *time.Time `json:"graceUntil,omitempty"` // end of the grace period
	Trial      bool       `json:"trial,omitempty"`
}

// Summary describes the license now.
func (s *LicenseStore) Summary() LicenseSummary { return s.summary(s.License(), s.now()) }

func (s *LicenseStore) summary(l *license.License, now time.Time) LicenseSummary {
	sum := LicenseSummary{Status: statusAt(l, now)}
	if l == nil {
		return sum
	}
	nb := l.NotBefore
	sum.ID, sum.Customer, sum.CustomerID = l.ID, l.Customer.Name, l.Customer.ID
	sum.Seats, sum.Features, sum.NotBefore, sum.Trial = l.Seats, slices.Clone(l.Features), &nb, l.Trial
	if l.ExpiresAt != nil {
		exp := *l.ExpiresAt
		end, _ := l.GraceEnd()
		sum.NotAfter, sum.GraceUntil = &exp, &end
	}
	return sum
}

// GateOptions configures LicenseGate.
type GateOptions struct {
	// Feature, when set, must be enabled by the license.
	Feature string `json:"feature,omitempty"`
	// Seats, when set, returns the seats in use for a request (e.g. the
	// number of active users). A request is refused when that number is
	// over the license's seats; a license with 0 seats is unlimited.
	Seats func(*http.Request) int `json:"-"`
	// Now is the clock; nil means the store's.
	Now func() time.Time `json:"-"`
}

// LicenseWarningHeader is set on responses that pass the gate while the
// license is in its grace period; its value says until when.
const LicenseWarningHeader = "Fogkit-License-Warning"

// LicenseGate returns net/http middleware that lets a request through only
// while store holds a usable license: otherwise it answers 402 Payment
// Required with the JSON body {"error":{"code":...,"message":...}} and code
// no_license, license_not_yet_valid, license_expired, feature_missing or
// seats_exceeded. The status is evaluated per request, so a license moves
// from valid to grace to expired without a restart. In grace the request
// passes with the LicenseWarningHeader and a Warning header set.
func LicenseGate(store *LicenseStore, o *GateOptions) func(http.Handler) http.Handler {
	var g GateOptions
	if o != nil {
		g = *o
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			now := time.Now
			if store != nil {
				now = store.now
			}
			if g.Now != nil {
				now = g.Now
			}
			var l *license.License
			if store != nil {
				l = store.License()
			}
			t := now()
			refuse := func(code, msg string) {
				writeError(w, &APIError{Status: http.StatusPaymentRequired, Code: code, Message: msg})
			}
			switch statusAt(l, t) {
			case LicenseNone:
				refuse(CodeNoLicense, "no license is installed")
				return
			case LicenseNotYetValid:
				refuse(CodeLicenseNotYetValid, "the license is not valid yet")
				return
			case LicenseExpired:
				refuse(CodeLicenseExpired, "the license has expired")
				return
			case LicenseGrace:
				end, _ := l.GraceEnd()
				msg := "license expired; grace period ends " + end.UTC().Format(time.RFC3339)
				w.Header().Set(LicenseWarningHeader, msg)
				w.Header().Set("Warning", `299 - "`+msg+`"`)
			}
			if g.Feature != "" && !l.HasFeature(g.Feature) {
				refuse(CodeFeatureMissing, "the license does not include this feature")
				return
			}
			if g.Seats != nil && l.Seats > 0 {
				if n := g.Seats(r); n > l.Seats {
					refuse(CodeSeatsExceeded, fmt.Sprintf("%d seats in use, the license allows %d", n, l.Seats))
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}
