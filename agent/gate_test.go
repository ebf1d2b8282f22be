package agent

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fogkit/fogkit/license"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var gatedApp = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("app")) })

func gateDo(t *testing.T, h http.Handler) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	return rec
}

func newStore(t *testing.T, clock *apiClock, dir string, baked []byte) *LicenseStore {
	t.Helper()
	s, err := NewLicenseStore(&LicenseStoreOptions{Dir: dir, PublicKey: pubPEM(t, licenseSigner(t, 1)), Baked: baked, Product: apiProduct, Now: clock.Now})
	require.NoError(t, err)
	return s
}

func TestGateTransitions(t *testing.T) {
	clock := newAPIClock()
	s := newStore(t, clock, "", encodeLicense(t, licenseSigner(t, 1), apiLicense(nil)))
	h := LicenseGate(s, nil)(gatedApp)

	rec := gateDo(t, h)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "app", rec.Body.String())
	assert.Empty(t, rec.Header().Get(LicenseWarningHeader))
	assert.Equal(t, LicenseValid, s.Status())

	clock.Add(366 * 24 * time.Hour) // past expiry, inside 14 days of grace
	rec = gateDo(t, h)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Header().Get(LicenseWarningHeader), "grace period ends")
	assert.True(t, strings.HasPrefix(rec.Header().Get("Warning"), "299 "))
	assert.Equal(t, LicenseGrace, s.Status())
	assert.True(t, s.Has("sso"), "features work in grace")

	clock.Add(14 * 24 * time.Hour)
	requireAPIError(t, gateDo(t, h), http.StatusPaymentRequired, CodeLicenseExpired)
	assert.Equal(t, LicenseExpired, s.Status())
	assert.False(t, s.Has("sso"))
	assert.Equal(t, LicenseExpired, s.Summary().Status)
}

func TestGateOwnClock(t *testing.T) {
	clock := newAPIClock()
	s := newStore(t, clock, "", encodeLicense(t, licenseSigner(t, 1), apiLicense(nil)))
	late := func() time.Time { return apiT0.AddDate(2, 0, 0) }
	requireAPIError(t, gateDo(t, LicenseGate(s, &GateOptions{Now: late})(gatedApp)), http.StatusPaymentRequired, CodeLicenseExpired)
	require.Equal(t, http.StatusOK, gateDo(t, LicenseGate(s, nil)(gatedApp)).Code)
}

func TestGateRefusals(t *testing.T) {
	clock := newAPIClock()
	requireAPIError(t, gateDo(t, LicenseGate(newStore(t, clock, "", nil), nil)(gatedApp)), http.StatusPaymentRequired, CodeNoLicense)
	requireAPIError(t, gateDo(t, LicenseGate(nil, nil)(gatedApp)), http.StatusPaymentRequired, CodeNoLicense)

	s := newStore(t, clock, "", encodeLicense(t, licenseSigner(t, 1), apiLicense(nil)))
	requireAPIError(t, gateDo(t, LicenseGate(s, &GateOptions{Feature: "ha"})(gatedApp)), http.StatusPaymentRequired, CodeFeatureMissing)
	require.Equal(t, http.StatusOK, gateDo(t, LicenseGate(s, &GateOptions{Feature: "sso"})(gatedApp)).Code)

	inUse := 5
	seats := &GateOptions{Seats: func(*http.Request) int { return inUse }}
	require.Equal(t, http.StatusOK, gateDo(t, LicenseGate(s, seats)(gatedApp)).Code, "at the limit is fine")
	inUse = 6
	requireAPIError(t, gateDo(t, LicenseGate(s, seats)(gatedApp)), http.StatusPaymentRequired, CodeSeatsExceeded)

	unlimited := newStore(t, clock, "", encodeLicense(t, licenseSigner(t, 1), apiLicense(func(l *license.License) { l.Seats = 0 })))
	require.Equal(t, http.StatusOK, gateDo(t, LicenseGate(unlimited, seats)(gatedApp)).Code)

	future := newStore(t, clock, "", encodeLicense(t, licenseSigner(t, 1), apiLicense(func(l *license.License) { l.NotBefore = apiT0.Add(48 * time.Hour) })))
	assert.Equal(t, LicenseNotYetValid, future.Status())
	requireAPIError(t, gateDo(t, LicenseGate(future, nil)(gatedApp)), http.StatusPaymentRequired, CodeLicenseNotYetValid)
	clock.Add(49 * time.Hour)
	require.Equal(t, http.StatusOK, gateDo(t, LicenseGate(future, nil)(gatedApp)).Code)
}

func TestLicenseStoreSources(t *testing.T) {
	clock := newAPIClock()
	signer := licenseSigner(t, 1)
	baked := encodeLicense(t, signer, apiLicense(func(l *license.License) { l.ID = "baked" }))

	// Only the baked one.
	dir := t.TempDir()
	assert.Equal(t, "baked", newStore(t, clock, dir, baked).License().ID)

	// The installed one wins over the baked one.
	s := newStore(t, clock, dir, baked)
	_, err := s.Install(t.Context(), bytes.NewReader(encodeLicense(t, signer, apiLicense(func(l *license.License) { l.ID = "installed" }))))
	require.NoError(t, err)
	assert.Equal(t, "installed", s.License().ID)
	assert.Equal(t, "installed", newStore(t, clock, dir, baked).License().ID)

	// A damaged installed file falls back to the baked one.
	require.NoError(t, os.WriteFile(filepath.Join(dir, stateLicense), []byte("junk"), 0o600))
	assert.Equal(t, "baked", newStore(t, clock, dir, baked).License().ID)

	// Baked licenses that do not verify are ignored; an expired one is
	// kept and reported.
	assert.Nil(t, newStore(t, clock, t.TempDir(), encodeLicense(t, licenseSigner(t, 2), apiLicense(nil))).License())
	assert.Nil(t, newStore(t, clock, t.TempDir(), encodeLicense(t, signer, apiLicense(func(l *license.License) { l.Product = "x" }))).License())
	old := newStore(t, clock, t.TempDir(), encodeLicense(t, signer, apiLicense(func(l *license.License) {
		exp := apiT0.Add(-100 * 24 * time.Hour)
		l.IssuedAt, l.ExpiresAt = apiT0.AddDate(-1, 0, 0), &exp
	})))
	require.NotNil(t, old.License())
	assert.Equal(t, LicenseExpired, old.Status())

	// Refusals are typed.
	_, err = s.Install(t.Context(), strings.NewReader("junk"))
	require.ErrorIs(t, err, ErrLicenseRefused)
	require.ErrorIs(t, err, license.ErrMalformed)
	_, err = s.Install(t.Context(), bytes.NewReader(encodeLicense(t, signer, apiLicense(func(l *license.License) { l.Product = "x" }))))
	require.ErrorIs(t, err, license.ErrWrongProduct)
	assert.Equal(t, "installed", s.License().ID)

	_, err = NewLicenseStore(nil)
	require.ErrorIs(t, err, ErrConfig)
	_, err = NewLicenseStore(&LicenseStoreOptions{Product: apiProduct, PublicKey: []byte("junk")})
	require.ErrorIs(t, err, ErrConfig)
}

func TestServerSharesStoreWithGate(t *testing.T) {
	e := newAPIEnv(t, nil)
	bearer := e.claim()
	gate := LicenseGate(e.srv.Licenses(), nil)(gatedApp)
	requireAPIError(t, gateDo(t, gate), http.StatusPaymentRequired, CodeNoLicense)
	require.Equal(t, http.StatusOK, e.do("PUT", "/api/v1/license", bearer, bytes.NewReader(encodeLicense(t, e.signer, apiLicense(nil)))).Code)
	require.Equal(t, http.StatusOK, gateDo(t, gate).Code, "the gate sees the new license at once")
}
