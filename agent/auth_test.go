package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBearerRequired(t *testing.T) {
	e := newAPIEnv(t, nil)
	bearer := e.claim()
	for _, h := range []string{"", "Bearer", "Bearer ", "Basic " + bearer, "Bearer " + bearer + "x", "Bearer x" + bearer} {
		rec := e.do("GET", "/api/v1/status", "", nil, withHeader("Authorization", h), fromIP(fmt.Sprintf("10.0.0.%d", len(h))))
		requireAPIError(t, rec, http.StatusUnauthorized, CodeUnauthorized)
		assert.NotEmpty(t, rec.Header().Get("WWW-Authenticate"))
	}
	require.Equal(t, http.StatusOK, e.do("GET", "/api/v1/status", bearer, nil).Code)
	require.Equal(t, http.StatusOK, e.do("GET", "/api/v1/status", "", nil, withHeader("Authorization", "bearer "+bearer)).Code)
	// A cookie carrying the token authenticates nothing.
	requireAPIError(t, e.do("GET", "/api/v1/status", "", nil, withHeader("Cookie", "token="+bearer)), http.StatusUnauthorized, CodeUnauthorized)
}

func TestBearerBackoff(t *testing.T) {
	e := newAPIEnv(t, nil)
	bearer := e.claim()
	const attacker = "192.0.2.7"
	for i := 0; i < freeFailures; i++ {
		requireAPIError(t, e.do("GET", "/api/v1/status", "wrong", nil, fromIP(attacker)), http.StatusUnauthorized, CodeUnauthorized)
	}
	rec := e.do("GET", "/api/v1/status", bearer, nil, fromIP(attacker))
	requireAPIError(t, rec, http.StatusTooManyRequests, CodeTooManyAttempts)
	first, err := strconv.Atoi(rec.Header().Get("Retry-After"))
	require.NoError(t, err)
	require.Positive(t, first)
	// Other clients are not affected.
	require.Equal(t, http.StatusOK, e.do("GET", "/api/v1/status", bearer, nil, fromIP("192.0.2.8")).Code)

	// After the lockout one more failure locks out for longer.
	e.clock.Add(time.Duration(first) * time.Second)
	requireAPIError(t, e.do("GET", "/api/v1/status", "wrong", nil, fromIP(attacker)), http.StatusUnauthorized, CodeUnauthorized)
	rec = e.do("GET", "/api/v1/status", "wrong", nil, fromIP(attacker))
	requireAPIError(t, rec, http.StatusTooManyRequests, CodeTooManyAttempts)
	second, err := strconv.Atoi(rec.Header().Get("Retry-After"))
	require.NoError(t, err)
	require.Greater(t, second, first)

	// A success after the lockout clears the record.
	e.clock.Add(time.Duration(second) * time.Second)
	require.Equal(t, http.StatusOK, e.do("GET", "/api/v1/status", bearer, nil, fromIP(attacker)).Code)
	requireAPIError(t, e.do("GET", "/api/v1/status", "wrong", nil, fromIP(attacker)), http.StatusUnauthorized, CodeUnauthorized)
}

func TestLockoutIsCapped(t *testing.T) {
	c := newAPIClock()
	l := newLimiter(c.Now)
	for i := 0; i < 100; i++ {
		l.fail("a")
	}
	assert.Equal(t, maxLockout, l.wait("a"))
}

func TestLimiterBounded(t *testing.T) {
	c := newAPIClock()
	l := newLimiter(c.Now)
	for i := 0; i < maxClients+100; i++ {
		l.fail(strconv.Itoa(i))
	}
	assert.LessOrEqual(t, len(l.m), maxClients)
}

func TestLogin(t *testing.T) {
	e := newAPIEnv(t, nil)
	first := e.claim()
	requireAPIError(t, e.json("POST", "/api/v1/login", "", `{"password":"not the password"}`), http.StatusUnauthorized, CodeBadPassword)
	requireAPIError(t, e.json("POST", "/api/v1/login", "", `{"password":1}`), http.StatusBadRequest, CodeBadRequest)
	requireAPIError(t, e.do("POST", "/api/v1/login", "", bytes.NewReader([]byte(`{"password":"`+goodPassword+`"}`))),
		http.StatusUnsupportedMediaType, CodeUnsupportedMedia)
	rec := e.json("POST", "/api/v1/login", "", `{"password":"`+goodPassword+`"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var tr TokenResponse
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &tr))
	require.NotEqual(t, first, tr.Token)
	require.Equal(t, http.StatusOK, e.do("GET", "/api/v1/status", tr.Token, nil).Code)
	require.Equal(t, http.StatusOK, e.do("GET", "/api/v1/status", first, nil).Code)

	// The new session survives a restart.
	e.restart()
	require.Equal(t, http.StatusOK, e.do("GET", "/api/v1/status", tr.Token, nil).Code)
}

func TestLoginBackoff(t *testing.T) {
	e := newAPIEnv(t, nil)
	e.claim()
	for i := 0; i < freeFailures; i++ {
		requireAPIError(t, e.json("POST", "/api/v1/login", "", `{"password":"guess number `+strconv.Itoa(i)+`"}`), http.StatusUnauthorized, CodeBadPassword)
	}
	rec := e.json("POST", "/api/v1/login", "", `{"password":"`+goodPassword+`"}`)
	requireAPIError(t, rec, http.StatusTooManyRequests, CodeTooManyAttempts)
	assert.NotEmpty(t, rec.Header().Get("Retry-After"))
}

func TestSessionsCapped(t *testing.T) {
	var a adminState
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < maxSessions+3; i++ {
		a.addSession(tokenHash(strconv.Itoa(i)), now, time.Hour)
	}
	assert.Len(t, a.Sessions, maxSessions)
	assert.False(t, a.hasSession(tokenHash("0"), now, time.Hour), "oldest dropped")
	assert.True(t, a.hasSession(tokenHash(strconv.Itoa(maxSessions+2)), now, time.Hour))
}

// TestSessionsExpire: a bearer token stops working SessionLifetime after
// it was issued, a clock set back before its issue does not revive it,
// and a login drops the expired ones.
func TestSessionsExpire(t *testing.T) {
	e := newAPIEnv(t, func(o *ServerOptions) { o.SessionLifetime = time.Hour })
	tok := e.claim()
	require.Equal(t, http.StatusOK, e.do("GET", "/api/v1/status", tok, nil).Code)
	e.clock.Add(59 * time.Minute)
	require.Equal(t, http.StatusOK, e.do("GET", "/api/v1/status", tok, nil).Code)
	e.clock.Add(2 * time.Minute)
	requireAPIError(t, e.do("GET", "/api/v1/status", tok, nil), http.StatusUnauthorized, CodeUnauthorized)
	e.clock.Add(-3 * time.Hour)
	requireAPIError(t, e.do("GET", "/api/v1/status", tok, nil), http.StatusUnauthorized, CodeUnauthorized)
	e.clock.Add(3 * time.Hour)
	rec := e.json("POST", "/api/v1/login", "", `{"password":"`+goodPassword+`"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Len(t, e.srv.admin.Sessions, 1, "the expired token was dropped")
}

// TestLogout revokes the presented token only, and for good.
func TestLogout(t *testing.T) {
	e := newAPIEnv(t, nil)
	first := e.claim()
	rec := e.json("POST", "/api/v1/login", "", `{"password":"`+goodPassword+`"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var tr TokenResponse
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &tr))
	require.Equal(t, http.StatusOK, e.do("POST", "/api/v1/logout", first, nil).Code)
	requireAPIError(t, e.do("GET", "/api/v1/status", first, nil), http.StatusUnauthorized, CodeUnauthorized)
	require.Equal(t, http.StatusOK, e.do("GET", "/api/v1/status", tr.Token, nil).Code, "the other session lives")
	e.restart()
	requireAPIError(t, e.do("GET", "/api/v1/status", first, nil), http.StatusUnauthorized, CodeUnauthorized)
	requireAPIError(t, e.do("POST", "/api/v1/logout", "", nil), http.StatusUnauthorized, CodeUnauthorized)
}

func TestPasswordHashVerify(t *testing.T) {
	ctx := t.Context()
	h, err := hashPassword(ctx, bytes.NewReader(bytes.Repeat([]byte{7}, 16)), goodPassword)
	require.NoError(t, err)
	verify := func(p string) bool {
		ok, err := h.verify(ctx, p)
		require.NoError(t, err)
		return ok
	}
	assert.True(t, verify(goodPassword))
	assert.False(t, verify(goodPassword+" "))
	// Parameters from a planted file are bounded, not obeyed.
	h.Params.Memory = 1 << 30
	assert.False(t, verify(goodPassword))
}

// With every hashing slot taken, a login waits only as long as its
// request lives and then answers 429, never hanging.
func TestLoginBusy(t *testing.T) {
	e := newAPIEnv(t, nil)
	e.claim()
	for i := 0; i < cap(kdfSlots); i++ {
		kdfSlots <- struct{}{}
	}
	defer func() {
		for i := 0; i < cap(kdfSlots); i++ {
			<-kdfSlots
		}
	}()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rec := e.json("POST", "/api/v1/login", "", `{"password":"`+goodPassword+`"}`, func(r *http.Request) { *r = *r.WithContext(ctx) })
	requireAPIError(t, rec, http.StatusTooManyRequests, CodeTooManyAttempts)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
}
