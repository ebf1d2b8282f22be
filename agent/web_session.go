package agent

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"time"
)

// The console's cookies. The __Host- prefix makes the browser insist on
// Secure, Path=/ and no Domain, so no other host or plain-HTTP page can
// set or shadow them.
const (
	// sessionCookie holds a bearer token of the API's session store: the
	// same lifetime, the same revocation on logout.
	sessionCookie = "__Host-fogkit-session"
	// formCookie is a random value that binds the sign-in and first-run
	// forms' CSRF token to this browser before it has a session.
	formCookie = "__Host-fogkit-form"
	// csrfField is the hidden form field carrying the CSRF token.
	csrfField = "csrf"
)

// webSession is a request's live session: the bearer token (never put in
// a page) and the CSRF token of its forms.
type webSession struct {
	token string
	csrf  string
}

// hmacKey is drawn once from the server's randomness; a restart makes new
// CSRF tokens (open forms must be reloaded) but keeps the sessions.
func (c *webConsole) hmacKey() ([]byte, error) {
	c.keyOnce.Do(func() {
		k := make([]byte, 32)
		if _, err := io.ReadFull(c.s.rand, k); err != nil {
			c.keyErr = err
			return
		}
		c.key = k
	})
	return c.key, c.keyErr
}

// mac is HMAC-SHA256 of purpose and v under the console's key, base64.
func (c *webConsole) mac(purpose string, v []byte) string {
	k, err := c.hmacKey()
	if err != nil {
		return ""
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write(v)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// bootID changes with every start of the server: the rebooting page polls
// until it sees another one.
func (c *webConsole) bootID() string {
	m := c.mac("boot", nil)
	if len(m) > 16 {
		m = m[:16]
	}
	return m
}

// sessionCSRF binds a form token to the session's token hash: a page of
// one session is no use to another.
func (c *webConsole) sessionCSRF(tok string) string { return c.mac("session", tokenHash(tok)) }

// session returns the request's live session, or nil. A cookie that holds
// no live token counts as a failed attempt (like a wrong bearer token on
// the API) and is cleared, so an expired one is counted once.
func (c *webConsole) session(w http.ResponseWriter, r *http.Request) *webSession {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	if len(ck.Value) > 512 || !c.s.validToken(ck.Value) {
		c.s.lim.fail(clientIP(r))
		clearCookie(w, sessionCookie)
		return nil
	}
	c.s.lim.succeed(clientIP(r))
	return &webSession{token: ck.Value, csrf: c.sessionCSRF(ck.Value)}
}

// csrfOK compares a posted token with the session's (or, before sign-in,
// the form cookie's) in constant time.
func (c *webConsole) csrfOK(r *http.Request, sess *webSession, posted string) bool {
	want := ""
	if sess != nil {
		want = sess.csrf
	} else if ck, err := r.Cookie(formCookie); err == nil && ck.Value != "" && len(ck.Value) <= 128 {
		want = c.mac("form", []byte(ck.Value))
	}
	return want != "" && posted != "" && hmac.Equal([]byte(want), []byte(posted))
}

// formCSRF returns the CSRF token of a sign-in or first-run form, setting
// the form cookie it is bound to when the browser has none.
func (c *webConsole) formCSRF(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(formCookie); err == nil && ck.Value != "" && len(ck.Value) <= 128 {
		return c.mac("form", []byte(ck.Value))
	}
	b := make([]byte, 16)
	if _, err := io.ReadFull(c.s.rand, b); err != nil {
		return ""
	}
	v := hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: formCookie, Value: v, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode})
	return c.mac("form", []byte(v))
}

// setSession gives the browser its session cookie; it lasts as long as
// the token does.
func (c *webConsole) setSession(w http.ResponseWriter, tok string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: tok, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(c.s.lifetime() / time.Second)})
}

func clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}
