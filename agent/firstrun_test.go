package agent

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFirstRunRequiredBeforeClaim(t *testing.T) {
	e := newAPIEnv(t, nil)
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/status"}, {"PUT", "/api/v1/license"}, {"POST", "/api/v1/update"},
		{"POST", "/api/v1/reboot"}, {"POST", "/api/v1/login"},
	} {
		rec := e.json(c.method, c.path, "anything", `{"password":"x"}`)
		requireAPIError(t, rec, http.StatusForbidden, CodeFirstRunRequired)
	}
	assert.Zero(t, e.upd.Calls())
	assert.False(t, e.srv.Claimed())
}

func TestFirstRunTokenStoredHashedOnly(t *testing.T) {
	e := newAPIEnv(t, nil)
	tok := e.firstRunToken()
	require.Regexp(t, `^([A-Z2-7]{4}-){7}[A-Z2-7]{4}$`, tok)
	fi, err := os.Stat(filepath.Join(e.o.StateDir, stateFirstRun))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	all := stateDirBytes(t, e.o.StateDir)
	assert.False(t, bytes.Contains(all, []byte(tok)))
	assert.False(t, bytes.Contains(all, []byte(strings.ReplaceAll(tok, "-", ""))))
}

func TestFirstRunUsesRand(t *testing.T) {
	seeded := func(seed byte) string {
		e := newAPIEnv(t, func(o *ServerOptions) { o.Rand = rand.NewChaCha8([32]byte{seed}) })
		return e.firstRunToken()
	}
	assert.Equal(t, seeded(1), seeded(1))
	assert.NotEqual(t, seeded(1), seeded(2))
}

func TestFirstRunClaim(t *testing.T) {
	e := newAPIEnv(t, nil)
	tok := e.firstRunToken()

	rec := e.json("POST", "/api/v1/first-run", "", `{"token":"AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH","password":"`+goodPassword+`"}`)
	requireAPIError(t, rec, http.StatusUnauthorized, CodeBadFirstRunToken)
	rec = e.json("POST", "/api/v1/first-run", "", `{"token":"`+tok+`","password":"short"}`)
	requireAPIError(t, rec, http.StatusUnprocessableEntity, CodeWeakPassword)
	rec = e.json("POST", "/api/v1/first-run", "", `{"token":"`+tok+`","password":"`+strings.Repeat("x", 1025)+`"}`)
	requireAPIError(t, rec, http.StatusUnprocessableEntity, CodeWeakPassword)
	require.False(t, e.srv.Claimed())

	// Typed in lower case without dashes, it still works.
	typed := strings.ToLower(strings.ReplaceAll(tok, "-", ""))
	rec = e.json("POST", "/api/v1/first-run", "", `{"token":"`+typed+`","password":"`+goodPassword+`"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.True(t, e.srv.Claimed())
	_, err := os.Stat(filepath.Join(e.o.StateDir, stateFirstRun))
	require.ErrorIs(t, err, os.ErrNotExist, "the first-run token is burnt")

	// The token is burnt: reusing it, or any other, is a conflict.
	rec = e.json("POST", "/api/v1/first-run", "", `{"token":"`+tok+`","password":"`+goodPassword+`"}`)
	requireAPIError(t, rec, http.StatusConflict, CodeAlreadyClaimed)
	rec = e.json("POST", "/api/v1/first-run", "", `{"token":"","password":"another password!"}`)
	requireAPIError(t, rec, http.StatusConflict, CodeAlreadyClaimed)

	// The first-run token is no bearer token.
	requireAPIError(t, e.do("GET", "/api/v1/status", tok, nil), http.StatusUnauthorized, CodeUnauthorized)
}

func TestFirstRunBadRequests(t *testing.T) {
	e := newAPIEnv(t, nil)
	tok := e.firstRunToken()
	good := `{"token":"` + tok + `","password":"` + goodPassword + `"}`
	requireAPIError(t, e.do("POST", "/api/v1/first-run", "", strings.NewReader(good)), http.StatusUnsupportedMediaType, CodeUnsupportedMedia)
	requireAPIError(t, e.do("POST", "/api/v1/first-run", "", strings.NewReader(good), withHeader("Content-Type", "text/plain")),
		http.StatusUnsupportedMediaType, CodeUnsupportedMedia)
	for _, body := range []string{``, `[]`, `"x"`, `{`, `{"token":1}`, `{"token":"a","extra":1}`, good + `{}`, good + `x`} {
		requireAPIError(t, e.json("POST", "/api/v1/first-run", "", body), http.StatusBadRequest, CodeBadRequest)
	}
	big := `{"token":"` + strings.Repeat("A", maxJSONBody) + `"}`
	requireAPIError(t, e.json("POST", "/api/v1/first-run", "", big), http.StatusRequestEntityTooLarge, CodeTooLarge)
	rec := e.do("GET", "/api/v1/first-run", "", nil)
	requireAPIError(t, rec, http.StatusMethodNotAllowed, CodeMethodNotAllowed)
	assert.Equal(t, "POST", rec.Header().Get("Allow"))
	require.False(t, e.srv.Claimed(), "nothing changed")
	// Charset parameters are fine.
	rec = e.do("POST", "/api/v1/first-run", "", strings.NewReader(good), withHeader("Content-Type", "application/json; charset=utf-8"))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}

func TestFirstRunTokenBackoff(t *testing.T) {
	e := newAPIEnv(t, nil)
	bad := `{"token":"AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH","password":"` + goodPassword + `"}`
	for i := 0; i < freeFailures; i++ {
		requireAPIError(t, e.json("POST", "/api/v1/first-run", "", bad), http.StatusUnauthorized, CodeBadFirstRunToken)
	}
	// Locked out: even the right token is not looked at.
	good := `{"token":"` + e.firstRunToken() + `","password":"` + goodPassword + `"}`
	rec := e.json("POST", "/api/v1/first-run", "", good)
	requireAPIError(t, rec, http.StatusTooManyRequests, CodeTooManyAttempts)
	require.False(t, e.srv.Claimed())
	e.clock.Add(maxLockout)
	require.Equal(t, http.StatusOK, e.json("POST", "/api/v1/first-run", "", good).Code)
}

func TestNormalizeFirstRunToken(t *testing.T) {
	want := strings.Repeat("ABCD", 8)
	for _, in := range []string{want, "abcd-abcd-abcd-abcd-abcd-abcd-abcd-abcd", " ABCD ABCD-ABCD abcd ABCD ABCD ABCD ABCD "} {
		assert.Equal(t, want, normalizeFirstRunToken(in), in)
	}
	for _, in := range []string{"", "ABCD", want + "A", want[:31] + "1", want[:31] + "é", strings.Repeat("-", 200) + want} {
		assert.Empty(t, normalizeFirstRunToken(in), in)
	}
}

func TestRestartWhileUnclaimedReplacesToken(t *testing.T) {
	e := newAPIEnv(t, nil)
	old := e.firstRunToken()
	e.restart()
	fresh := e.firstRunToken()
	require.NotEqual(t, old, fresh)
	requireAPIError(t, e.json("POST", "/api/v1/first-run", "", `{"token":"`+old+`","password":"`+goodPassword+`"}`),
		http.StatusUnauthorized, CodeBadFirstRunToken)
	e.claim()
}

func TestRestartKeepsState(t *testing.T) {
	e := newAPIEnv(t, nil)
	bearer := e.claim()
	fp := e.srv.Fingerprint()
	rec := e.do("PUT", "/api/v1/license", bearer, bytes.NewReader(encodeLicense(t, e.signer, apiLicense(nil))))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	printed := e.console.Len()

	e.restart()
	assert.True(t, e.srv.Claimed())
	assert.Equal(t, fp, e.srv.Fingerprint(), "same certificate")
	assert.Equal(t, printed, e.console.Len(), "no new first-run token once claimed")
	requireAPIError(t, e.json("POST", "/api/v1/first-run", "", `{"token":"`+e.firstRunToken()+`","password":"`+goodPassword+`"}`),
		http.StatusConflict, CodeAlreadyClaimed)
	rec = e.do("GET", "/api/v1/status", bearer, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), `"status":"valid"`)
	assert.Equal(t, LicenseValid, e.srv.Licenses().Status())
}

// A claim cut short after the credential was written leaves a stale
// first-run hash; the next start removes it and stays claimed.
func TestRestartRemovesStaleFirstRunHash(t *testing.T) {
	e := newAPIEnv(t, nil)
	hash, err := os.ReadFile(filepath.Join(e.o.StateDir, stateFirstRun))
	require.NoError(t, err)
	e.claim()
	require.NoError(t, os.WriteFile(filepath.Join(e.o.StateDir, stateFirstRun), hash, 0o600))
	e.restart()
	assert.True(t, e.srv.Claimed())
	_, err = os.Stat(filepath.Join(e.o.StateDir, stateFirstRun))
	assert.ErrorIs(t, err, os.ErrNotExist)
}
