package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/backup"
	"github.com/fogkit/fogkit/support"
	"github.com/fogkit/fogkit/update"
)

// webClient is a browser on the console: it keeps cookies and sends what
// a browser sends with a same-origin form (httptest's host is
// example.com).
type webClient struct {
	t       *testing.T
	e       *apiEnv
	cookies map[string]*http.Cookie
	headers map[string]string
}

func (e *apiEnv) browser() *webClient {
	return &webClient{t: e.t, e: e, cookies: map[string]*http.Cookie{},
		headers: map[string]string{"Origin": "https://example.com", "Sec-Fetch-Site": "same-origin"}}
}

func (c *webClient) do(method, path, ctype string, body io.Reader, opts ...reqOpt) *httptest.ResponseRecorder {
	c.t.Helper()
	r := httptest.NewRequest(method, path, body)
	r.Header.Set("Accept", "text/html")
	if method == http.MethodPost {
		for k, v := range c.headers {
			r.Header.Set(k, v)
		}
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	for _, ck := range c.cookies {
		r.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	for _, o := range opts {
		o(r)
	}
	rec := httptest.NewRecorder()
	c.e.h.ServeHTTP(rec, r)
	for _, ck := range rec.Result().Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	return rec
}

func (c *webClient) get(path string, opts ...reqOpt) *httptest.ResponseRecorder {
	c.t.Helper()
	return c.do(http.MethodGet, path, "", nil, opts...)
}

func (c *webClient) post(path string, form url.Values, opts ...reqOpt) *httptest.ResponseRecorder {
	c.t.Helper()
	return c.do(http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), opts...)
}

// upload posts a multipart form: fields in order, then the file.
func (c *webClient) upload(path string, fields [][2]string, file string, data []byte, opts ...reqOpt) *httptest.ResponseRecorder {
	c.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields {
		require.NoError(c.t, mw.WriteField(f[0], f[1]))
	}
	if file != "" {
		fw, err := mw.CreateFormFile(file, file+".bin")
		require.NoError(c.t, err)
		fw.Write(data)
	}
	require.NoError(c.t, mw.Close())
	return c.do(http.MethodPost, path, mw.FormDataContentType(), &b, opts...)
}

func withoutHeader(k string) reqOpt { return func(r *http.Request) { r.Header.Del(k) } }

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// csrf is the form token of the page at path.
func (c *webClient) csrf(path string) string {
	c.t.Helper()
	rec := c.get(path)
	require.Equal(c.t, http.StatusOK, rec.Code, rec.Body.String())
	m := csrfInput.FindStringSubmatch(rec.Body.String())
	require.NotNil(c.t, m, "no CSRF field on %s", path)
	require.NotEmpty(c.t, m[1])
	return m[1]
}

func (c *webClient) session() string {
	if ck := c.cookies[sessionCookie]; ck != nil {
		return ck.Value
	}
	return ""
}

// firstRun claims the appliance through the console.
func (c *webClient) firstRun() {
	c.t.Helper()
	rec := c.post("/ui/first-run", url.Values{"csrf": {c.csrf("/ui/first-run")}, "token": {c.e.firstRunToken()},
		"password": {goodPassword}, "confirm": {goodPassword}})
	require.Equal(c.t, http.StatusSeeOther, rec.Code, rec.Body.String())
	require.Equal(c.t, "/ui/", rec.Header().Get("Location"))
	require.NotEmpty(c.t, c.session())
}

func requireRedirect(t *testing.T, rec *httptest.ResponseRecorder, to string) {
	t.Helper()
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	require.Equal(t, to, rec.Header().Get("Location"))
}

func (e *apiEnv) requireNoReboot() {
	e.t.Helper()
	require.False(e.t, e.srv.rebooting.Load(), "a reboot was started")
	select {
	case <-e.reboots:
		e.t.Fatal("the appliance rebooted")
	default:
	}
}

// The console's pages and what they take.
var (
	webGetPages  = []string{"/ui/", "/ui/license", "/ui/update", "/ui/reboot", "/ui/support", "/ui/support/bundle", "/ui/support/bundle?plain=true", "/ui/backup", "/ui/restore"}
	webPostPages = []string{"/ui/logout", "/ui/license", "/ui/update", "/ui/reboot", "/ui/backup", "/ui/restore"}
)

func webEnv(t *testing.T, mut func(*ServerOptions)) *apiEnv {
	return newAPIEnv(t, func(o *ServerOptions) {
		o.Support = &SupportOptions{}
		o.Backup = &BackupOptions{Dir: t.TempDir()}
		if mut != nil {
			mut(o)
		}
	})
}

// requireNothingHappened: no reboot, no install, no license.
func (e *apiEnv) requireNothingHappened() {
	e.t.Helper()
	e.requireNoReboot()
	require.Zero(e.t, e.upd.Calls(), "an update was installed")
	require.Equal(e.t, LicenseNone, e.srv.Status().License.Status)
}

func TestWebBeforeFirstRun(t *testing.T) {
	e := webEnv(t, nil)
	b := e.browser()
	for _, p := range webGetPages {
		requireRedirect(t, b.get(p), "/ui/first-run")
	}
	requireRedirect(t, b.get("/ui/login"), "/ui/first-run")
	for _, p := range webPostPages {
		assert.Equal(t, http.StatusForbidden, b.post(p, url.Values{}).Code, p)
	}
	rec := b.get("/ui/first-run")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), `<label for="token">`)
	require.False(t, e.srv.Claimed())
	e.requireNothingHappened()
}

func TestWebFirstRunAndCookie(t *testing.T) {
	e := webEnv(t, nil)
	b := e.browser()
	bad := func(form url.Values, status int, msg string) {
		t.Helper()
		form.Set("csrf", b.csrf("/ui/first-run"))
		rec := b.post("/ui/first-run", form)
		require.Equal(t, status, rec.Code, rec.Body.String())
		require.Contains(t, rec.Body.String(), msg)
		require.False(t, e.srv.Claimed())
		require.Empty(t, b.session())
	}
	bad(url.Values{"token": {"wrong"}, "password": {goodPassword}, "confirm": {goodPassword}}, http.StatusUnauthorized, "wrong first-run token")
	bad(url.Values{"token": {e.firstRunToken()}, "password": {"short"}, "confirm": {"short"}}, http.StatusUnprocessableEntity, "at least 12 characters")
	bad(url.Values{"token": {e.firstRunToken()}, "password": {goodPassword}, "confirm": {goodPassword + "x"}}, http.StatusUnprocessableEntity, "differ")

	b.firstRun()
	rec := b.get("/ui/")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), apiProduct)
	require.NotContains(t, rec.Body.String(), b.session(), "the bearer token never appears in a page")

	// The cookie: __Host- prefix, Secure, HttpOnly, SameSite=Strict, Path=/, no Domain.
	ck := b.cookies[sessionCookie]
	assert.True(t, ck.Secure)
	assert.True(t, ck.HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, ck.SameSite)
	assert.Equal(t, "/", ck.Path)
	assert.Empty(t, ck.Domain)
	assert.Equal(t, int(DefaultSessionLifetime.Seconds()), ck.MaxAge)
	// It is a bearer token of the API's session store.
	require.Equal(t, http.StatusOK, e.do("GET", "/api/v1/status", b.session(), nil).Code)

	// First run is over: the page sends to sign-in, a post is refused.
	requireRedirect(t, b.get("/ui/first-run"), "/ui/login")
	other := e.browser()
	requireRedirect(t, other.get("/ui/first-run"), "/ui/login")
	rec = other.post("/ui/first-run", url.Values{"token": {"anything"}, "password": {"another password 1"}, "confirm": {"another password 1"}})
	require.Equal(t, http.StatusConflict, rec.Code)
	require.Empty(t, other.session())
	// A new server on the same state never serves the first-run form again.
	e.restart()
	requireRedirect(t, other.get("/ui/first-run"), "/ui/login")
}

func TestWebPagesNeedSession(t *testing.T) {
	e := webEnv(t, nil)
	e.claim()
	b := e.browser()
	for _, p := range webGetPages {
		requireRedirect(t, b.get(p), "/ui/login")
	}
	for _, p := range webPostPages {
		rec := b.upload(p, [][2]string{{"csrf", "x"}}, "package", []byte("x"))
		assert.Equal(t, http.StatusForbidden, rec.Code, p)
		rec = b.post(p, url.Values{"csrf": {"x"}})
		assert.Equal(t, http.StatusForbidden, rec.Code, p)
	}
	// A cookie holding no live token is no better, and is cleared.
	b.cookies[sessionCookie] = &http.Cookie{Name: sessionCookie, Value: "not-a-token"}
	rec := b.get("/ui/")
	requireRedirect(t, rec, "/ui/login")
	require.Empty(t, b.session())
	// An API bearer token in the header does not open the console.
	requireRedirect(t, b.get("/ui/", withHeader("Authorization", "Bearer "+e.claimToken())), "/ui/login")
	e.requireNothingHappened()
}

// claimToken logs in through the API.
func (e *apiEnv) claimToken() string {
	e.t.Helper()
	rec := e.json("POST", "/api/v1/login", "", `{"password":"`+goodPassword+`"}`)
	require.Equal(e.t, http.StatusOK, rec.Code, rec.Body.String())
	return strings.Split(strings.Split(rec.Body.String(), `"token":"`)[1], `"`)[0]
}

func TestWebLogin(t *testing.T) {
	e := webEnv(t, nil)
	e.claim()
	b := e.browser()
	rec := b.post("/ui/login", url.Values{"csrf": {b.csrf("/ui/login")}, "password": {"wrong password!"}})
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	require.Contains(t, rec.Body.String(), "wrong password")
	require.Empty(t, b.session())
	rec = b.post("/ui/login", url.Values{"csrf": {b.csrf("/ui/login")}, "password": {goodPassword}})
	requireRedirect(t, rec, "/ui/")
	require.Equal(t, http.StatusOK, b.get("/ui/").Code)
	requireRedirect(t, b.get("/ui/login"), "/ui/")
}

func TestWebLoginBackoff(t *testing.T) {
	e := webEnv(t, nil)
	e.claim()
	b := e.browser()
	for range freeFailures {
		rec := b.post("/ui/login", url.Values{"csrf": {b.csrf("/ui/login")}, "password": {"wrong password!"}})
		require.Equal(t, http.StatusUnauthorized, rec.Code)
	}
	rec := b.post("/ui/login", url.Values{"csrf": {b.csrf("/ui/login")}, "password": {goodPassword}})
	require.Equal(t, http.StatusTooManyRequests, rec.Code, "the API's lockout applies to the console")
	require.NotEmpty(t, rec.Header().Get("Retry-After"))
	require.Empty(t, b.session())
	// The API sees the same lockout.
	requireAPIError(t, e.json("POST", "/api/v1/login", "", `{"password":"`+goodPassword+`"}`), http.StatusTooManyRequests, CodeTooManyAttempts)
}

// TestWebForgedPostsRefused: a form another site posts with the admin's
// cookie, or one without this session's CSRF token, changes nothing.
func TestWebForgedPostsRefused(t *testing.T) {
	e := webEnv(t, nil)
	b := e.browser()
	b.firstRun()
	good := b.csrf("/ui/")
	other := e.browser()
	other.post("/ui/login", url.Values{"csrf": {other.csrf("/ui/login")}, "password": {goodPassword}})
	require.NotEmpty(t, other.session())
	otherCSRF := other.csrf("/ui/")
	require.NotEqual(t, good, otherCSRF, "CSRF tokens are bound to the session")
	lic := encodeLicense(t, e.signer, apiLicense(nil))

	forged := []struct {
		name  string
		csrf  string
		opts  []reqOpt
		strip bool
	}{
		{"evil origin", good, []reqOpt{withHeader("Origin", "https://evil.example")}, false},
		{"null origin", good, []reqOpt{withHeader("Origin", "null"), withoutHeader("Sec-Fetch-Site")}, false},
		{"null origin from another site", good, []reqOpt{withHeader("Origin", "null"), withHeader("Sec-Fetch-Site", "cross-site")}, false},
		{"evil origin said same-origin", good, []reqOpt{withHeader("Origin", "https://evil.example"), withHeader("Sec-Fetch-Site", "same-origin")}, false},
		{"cross-site fetch", good, []reqOpt{withHeader("Sec-Fetch-Site", "cross-site")}, false},
		{"same-site fetch", good, []reqOpt{withHeader("Sec-Fetch-Site", "same-site")}, false},
		{"no token", "", nil, true},
		{"wrong token", "AAAA" + good[4:], nil, true},
		{"another session's token", otherCSRF, nil, true},
	}
	for _, f := range forged {
		t.Run(f.name, func(t *testing.T) {
			for _, p := range []string{"/ui/reboot", "/ui/logout", "/ui/backup"} {
				form := url.Values{"passphrase": {backupPass}, "confirm": {backupPass}}
				if f.csrf != "" {
					form.Set("csrf", f.csrf)
				}
				rec := b.post(p, form, f.opts...)
				require.Equal(t, http.StatusForbidden, rec.Code, "%s %s", p, rec.Body.String())
				require.Empty(t, rec.Header().Get("Content-Disposition"))
			}
			for _, u := range []struct{ p, file string }{{"/ui/license", "license"}, {"/ui/update", "package"}, {"/ui/restore", "backup"}} {
				fields := [][2]string{{"passphrase", backupPass}}
				if f.csrf != "" {
					fields = append(fields, [2]string{"csrf", f.csrf})
				}
				rec := b.upload(u.p, fields, u.file, lic, f.opts...)
				require.Equal(t, http.StatusForbidden, rec.Code, "%s %s", u.p, rec.Body.String())
			}
			require.NotEmpty(t, b.session())
			require.Equal(t, http.StatusOK, b.get("/ui/").Code, "the forged logout did not sign out")
			e.requireNothingHappened()
		})
	}
	// The token after the file is as good as none: it is checked before the file is read.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("package", "p.bin")
	fw.Write([]byte("pkg"))
	mw.WriteField("csrf", good)
	mw.Close()
	require.Equal(t, http.StatusForbidden, b.do("POST", "/ui/update", mw.FormDataContentType(), &body).Code)
	e.requireNothingHappened()
}

func TestWebSessionExpiryAndLogout(t *testing.T) {
	e := webEnv(t, func(o *ServerOptions) { o.SessionLifetime = time.Hour })
	b := e.browser()
	b.firstRun()
	require.Equal(t, int(time.Hour.Seconds()), b.cookies[sessionCookie].MaxAge)
	e.clock.Add(59 * time.Minute)
	require.Equal(t, http.StatusOK, b.get("/ui/").Code)
	e.clock.Add(time.Minute)
	old := b.session()
	requireRedirect(t, b.get("/ui/"), "/ui/login")
	require.Empty(t, b.session(), "the expired cookie is cleared")
	b.cookies[sessionCookie] = &http.Cookie{Name: sessionCookie, Value: old}
	require.Equal(t, http.StatusForbidden, b.post("/ui/reboot", url.Values{}).Code)

	require.Equal(t, http.StatusSeeOther, b.post("/ui/login", url.Values{"csrf": {b.csrf("/ui/login")}, "password": {goodPassword}}).Code)
	tok := b.session()
	rec := b.post("/ui/logout", url.Values{"csrf": {b.csrf("/ui/")}})
	requireRedirect(t, rec, "/ui/login?out=1")
	require.Empty(t, b.session())
	b.cookies[sessionCookie] = &http.Cookie{Name: sessionCookie, Value: tok}
	requireRedirect(t, b.get("/ui/"), "/ui/login")
	requireAPIError(t, e.do("GET", "/api/v1/status", tok, nil), http.StatusUnauthorized, CodeUnauthorized)
}

func TestWebHeaders(t *testing.T) {
	e := webEnv(t, nil)
	b := e.browser()
	check := func(rec *httptest.ResponseRecorder) {
		t.Helper()
		h := rec.Header()
		assert.Equal(t, webCSP, h.Get("Content-Security-Policy"))
		assert.Contains(t, webCSP, "script-src 'self'")
		assert.Contains(t, webCSP, "frame-ancestors 'none'")
		assert.Equal(t, "DENY", h.Get("X-Frame-Options"))
		assert.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
		assert.Equal(t, "no-store", h.Get("Cache-Control"))
		assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	}
	for _, p := range []string{"/ui/first-run", "/ui/style.css", "/ui/app.js", "/ui/theme.css", "/ui/logo", "/ui/nope", "/ui/"} {
		check(b.get(p))
	}
	b.firstRun()
	for _, p := range append([]string{"/ui/login", "/ui/nope"}, webGetPages[:6]...) {
		rec := b.get(p)
		check(rec)
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			// No inline script or style: the CSP would block them.
			assert.NotRegexp(t, `<script>|<style|style="|onclick=|onsubmit=|javascript:`, rec.Body.String(), p)
		}
	}
	require.Equal(t, http.StatusNotFound, b.get("/ui/nope").Code)
	requireRedirect(t, b.get("/"), "/ui/")
	requireAPIError(t, e.do("GET", "/", "", nil), http.StatusNotFound, CodeNotFound)
	require.Equal(t, "text/javascript; charset=utf-8", b.get("/ui/app.js").Header().Get("Content-Type"))
	require.Equal(t, "image/svg+xml", b.get("/ui/logo").Header().Get("Content-Type"))
}

func TestWebBranding(t *testing.T) {
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 16)...)
	for _, c := range []struct {
		name string
		web  *WebOptions
		ok   bool
	}{
		{"nil", nil, true},
		{"short and long hex", &WebOptions{Colors: WebColors{Primary: "#a1f", Background: "#FFFFFF", Text: "#000"}}, true},
		{"png logo", &WebOptions{Logo: png, LogoType: "png"}, true},
		{"named colour", &WebOptions{Colors: WebColors{Primary: "red"}}, false},
		{"four digits", &WebOptions{Colors: WebColors{Primary: "#abcd"}}, false},
		{"injection", &WebOptions{Colors: WebColors{Background: "#fff;} body{display:none"}}, false},
		{"url", &WebOptions{Colors: WebColors{Text: "url(https://evil.example/x)"}}, false},
		{"newline", &WebOptions{Colors: WebColors{Text: "#fff\n"}}, false},
		{"logo without type", &WebOptions{Logo: png}, false},
		{"png that is not", &WebOptions{Logo: []byte("<svg/>"), LogoType: "png"}, false},
		{"svg that is not", &WebOptions{Logo: png, LogoType: "svg"}, false},
		{"huge logo", &WebOptions{Logo: append(png, make([]byte, maxLogoSize)...), LogoType: "png"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewServer(&ServerOptions{StateDir: t.TempDir(), Product: apiProduct, Web: c.web})
			if c.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrConfig)
			}
		})
	}

	logo := []byte(`<svg xmlns="http://www.w3.org/2000/svg"><title>Acme</title></svg>`)
	e := webEnv(t, func(o *ServerOptions) {
		o.Web = &WebOptions{ProductName: "Acme Vault", Logo: logo, LogoType: "svg", Colors: WebColors{Primary: "#123456", Text: "#222"}}
	})
	b := e.browser()
	require.Contains(t, b.get("/ui/first-run").Body.String(), "<title>First run · Acme Vault</title>")
	theme := b.get("/ui/theme.css").Body.String()
	require.Contains(t, theme, "--primary: #123456;")
	require.Contains(t, theme, "--text: #222;")
	require.NotContains(t, theme, "--background")
	require.Equal(t, logo, b.get("/ui/logo").Body.Bytes())

	off := newAPIEnv(t, func(o *ServerOptions) { o.Web = &WebOptions{Disabled: true} })
	requireAPIError(t, off.do("GET", "/ui/", "", nil), http.StatusNotFound, CodeNotFound)
	requireAPIError(t, off.do("GET", "/ui/first-run", "", nil), http.StatusNotFound, CodeNotFound)
}

// TestWebStatusAndLicense: a license uploaded by form changes the status
// page; a bad one is refused with the API's message.
func TestWebStatusAndLicense(t *testing.T) {
	e := webEnv(t, func(o *ServerOptions) {
		o.SessionLifetime = 48 * time.Hour
		o.Updater.(*apiUpdater).status = UpdateStatus{RunningSlot: "a", RunningVersion: "1.0", PendingSlot: "b",
			Last:    &UpdateResult{Version: "1.5", Sequence: 2, Result: ResultInstalled, Time: apiT0},
			History: []UpdateResult{{Version: "0.9", Result: ResultBlessed, Time: apiT0.AddDate(0, -1, 0)}, {Version: "1.5", Result: ResultInstalled, Time: apiT0}}}
	})
	require.NoError(t, os.WriteFile(filepath.Join(e.o.DataDir, "blob"), make([]byte, 4096), 0o644))
	b := e.browser()
	b.firstRun()
	e.clock.Add(26 * time.Hour)
	page := b.get("/ui/").Body.String()
	for _, want := range []string{`<dd id="product">acme-appliance</dd>`, `<dd id="version">1.0</dd>`, `<dd id="running-slot">a</dd>`,
		`<dd id="pending-slot">b (runs after the next reboot)</dd>`, "1.5: installed, 2026-01-01 00:00 UTC", `<dd id="uptime">1 d 2 h 0 min</dd>`,
		`id="license-status" class="license-none">none</dd>`, `<table id="history">`, "<td>0.9</td><td>blessed</td>", `% used:`} {
		require.Contains(t, page, want)
	}

	badLic := encodeLicense(t, licenseSigner(t, 9), apiLicense(nil))
	rec := b.upload("/ui/license", [][2]string{{"csrf", b.csrf("/ui/license")}}, "license", badLic)
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Contains(t, rec.Body.String(), "not a valid license file")
	require.Equal(t, LicenseNone, e.srv.Status().License.Status)

	rec = b.upload("/ui/license", [][2]string{{"csrf", b.csrf("/ui/license")}}, "license", encodeLicense(t, e.signer, apiLicense(nil)))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), "The license was installed.")
	require.Equal(t, LicenseValid, e.srv.Status().License.Status)
	page = b.get("/ui/").Body.String()
	require.Contains(t, page, `id="license-status" class="license-valid">valid (364 days left)</dd>`)
	require.Contains(t, page, `<dd id="license-customer">Example Corp</dd>`)

	big := bytes.Repeat([]byte("x"), int(DefaultMaxLicenseSize)+10)
	rec = b.upload("/ui/license", [][2]string{{"csrf", b.csrf("/ui/license")}}, "license", big)
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
}

func TestWebDaysLeft(t *testing.T) {
	d := func(days int) *time.Time { v := apiT0.AddDate(0, 0, days); return &v }
	for _, c := range []struct {
		sum  LicenseSummary
		want string
	}{
		{LicenseSummary{Status: LicenseNone}, ""},
		{LicenseSummary{Status: LicenseValid}, "perpetual"},
		{LicenseSummary{Status: LicenseValid, NotAfter: d(30)}, "30 days left"},
		{LicenseSummary{Status: LicenseGrace, NotAfter: d(-1), GraceUntil: d(13)}, "expired; 13 days of grace left"},
		{LicenseSummary{Status: LicenseExpired, NotAfter: d(-20), GraceUntil: d(-6)}, "expired"},
	} {
		assert.Equal(t, c.want, daysLeft(c.sum, apiT0))
	}
}

func TestWebUpdateAndReboot(t *testing.T) {
	e := webEnv(t, nil)
	b := e.browser()
	b.firstRun()
	pkg := bytes.Repeat([]byte("package bytes "), 1000)
	rec := b.upload("/ui/update", [][2]string{{"csrf", b.csrf("/ui/update")}}, "package", pkg)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `<p id="installed">Installed version 2.0 in slot b.`)
	require.Equal(t, 1, e.upd.Calls())
	require.Equal(t, pkg, e.upd.got, "the Updater got the file and nothing else")
	ents, err := os.ReadDir(filepath.Join(e.o.StateDir, "incoming"))
	require.NoError(t, err)
	require.Empty(t, ents, "the spool file is gone")

	e.upd.install = func(context.Context, io.ReaderAt, int64) (*Installed, error) { return nil, update.ErrDowngrade }
	rec = b.upload("/ui/update", [][2]string{{"csrf", b.csrf("/ui/update")}}, "package", pkg)
	require.Equal(t, http.StatusConflict, rec.Code)
	require.Contains(t, rec.Body.String(), update.ErrDowngrade.Error())

	requireRedirect(t, b.get("/ui/reboot"), "/ui/")
	e.requireNoReboot()
	rec = b.post("/ui/reboot", url.Values{"csrf": {b.csrf("/ui/")}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `data-poll="/ui/"`)
	select {
	case <-e.reboots:
	case <-time.After(10 * time.Second):
		t.Fatal("no reboot")
	}
	rec = b.post("/ui/reboot", url.Values{"csrf": {b.csrf("/ui/")}})
	require.Equal(t, http.StatusConflict, rec.Code, "one reboot at a time")
}

func TestWebUpdateOversize(t *testing.T) {
	e := webEnv(t, func(o *ServerOptions) { o.MaxUpdateSize = 100 })
	b := e.browser()
	b.firstRun()
	rec := b.upload("/ui/update", [][2]string{{"csrf", b.csrf("/ui/update")}}, "package", make([]byte, 101))
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code, rec.Body.String())
	require.Zero(t, e.upd.Calls())
}

// TestWebBackupAndRestore: a backup downloaded by form restores by form.
func TestWebBackupAndRestore(t *testing.T) {
	files := map[string]string{"notes.txt": "first\nsecond\n"}
	e, dir, _ := backupEnv(t, 2, "", files)
	b := e.browser()
	require.Equal(t, http.StatusSeeOther, b.post("/ui/login", url.Values{"csrf": {b.csrf("/ui/login")}, "password": {goodPassword}}).Code)

	rec := b.post("/ui/backup", url.Values{"csrf": {b.csrf("/ui/backup")}, "passphrase": {backupPass}, "confirm": {backupPass + "!"}})
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	rec = b.post("/ui/backup", url.Values{"csrf": {b.csrf("/ui/backup")}, "passphrase": {"short"}, "confirm": {"short"}})
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Contains(t, rec.Body.String(), "at least 12 characters")

	rec = b.post("/ui/backup", url.Values{"csrf": {b.csrf("/ui/backup")}, "passphrase": {backupPass}, "confirm": {backupPass}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Regexp(t, `attachment; filename="acme-appliance-1.0-backup-\d{8}T\d{6}Z.fogbak"`, rec.Header().Get("Content-Disposition"))
	bk := rec.Body.Bytes()
	_, err := backup.Verify(context.Background(), bytes.NewReader(bk), &backup.ReadOptions{Passphrase: []byte(backupPass)})
	require.NoError(t, err)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("changed\n"), 0o644))
	rec = b.upload("/ui/restore", [][2]string{{"csrf", b.csrf("/ui/restore")}, {"passphrase", "wrong passphrase here"}}, "backup", bk)
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Equal(t, "changed\n", treeFiles(t, dir)["notes.txt"])
	rec = b.upload("/ui/restore", [][2]string{{"csrf", b.csrf("/ui/restore")}, {"passphrase", backupPass}}, "backup", bk)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `<p id="restored">Restored `)
	require.Equal(t, files, treeFiles(t, dir))
}

func TestWebSupportBundle(t *testing.T) {
	e := webEnv(t, nil)
	b := e.browser()
	b.firstRun()
	rec := b.get("/ui/support")
	require.Contains(t, rec.Body.String(), `href="/ui/support/bundle?plain=true"`)
	require.NotContains(t, rec.Body.String(), `id="bundle"`, "no support key, no encrypted bundle")
	rec = b.get("/ui/support/bundle")
	require.Equal(t, http.StatusNotImplemented, rec.Code)
	rec = b.get("/ui/support/bundle?plain=true")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Regexp(t, `attachment; filename="acme-appliance-1.0-support-\d{8}T\d{6}Z.tar.zst"`, rec.Header().Get("Content-Disposition"))
	bun, err := support.Open(context.Background(), bytes.NewReader(rec.Body.Bytes()), nil, &support.OpenOptions{Plain: true})
	require.NoError(t, err)
	var all []byte
	for _, f := range bun.Files() {
		c, err := bun.ReadFile(f)
		require.NoError(t, err)
		all = append(all, c...)
	}
	require.NotContains(t, string(all), b.session(), "the session's token is redacted")
}

// FuzzWebPost throws arbitrary forms at the console's actions with a live
// session but no valid CSRF token: nothing may pass, fail inside, or act.
func FuzzWebPost(f *testing.F) {
	for _, s := range []struct {
		path  byte
		ctype string
		body  string
	}{
		{0, "application/x-www-form-urlencoded", "csrf=abc"},
		{1, "multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n--X\r\nContent-Disposition: form-data; name=\"package\"; filename=\"p\"\r\n\r\npkg\r\n--X--\r\n"},
		{2, "multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"license\"\r\n\r\nlic\r\n--X--\r\n"},
		{3, "multipart/form-data; boundary=", ""},
		{4, "text/plain", "%zz"},
		{5, "application/x-www-form-urlencoded", "passphrase=" + backupPass + "&confirm=" + backupPass},
	} {
		f.Add(s.path, s.ctype, []byte(s.body))
	}
	upd := &apiUpdater{}
	reboots := make(chan struct{}, 1)
	console := &bytes.Buffer{}
	clock := newAPIClock()
	srv, err := NewServer(&ServerOptions{StateDir: f.TempDir(), Product: apiProduct, Updater: upd, Console: console, Now: clock.Now,
		LicensePublicKey: pubPEM(f, licenseSigner(f, 1)), Support: &SupportOptions{}, Backup: &BackupOptions{Dir: f.TempDir()},
		Reboot: func() error { reboots <- struct{}{}; return nil }})
	require.NoError(f, err)
	tok, e := srv.firstRun(context.Background(), "192.0.2.1", FirstRunRequest{Token: tokenLine.FindStringSubmatch(console.String())[1], Password: goodPassword})
	require.Nil(f, e)
	h := srv.Handler()
	paths := []string{"/ui/logout", "/ui/update", "/ui/license", "/ui/restore", "/ui/reboot", "/ui/backup", "/ui/first-run", "/ui/login"}
	f.Fuzz(func(t *testing.T, path byte, ctype string, body []byte) {
		p := paths[int(path)%len(paths)]
		r := httptest.NewRequest(http.MethodPost, p, bytes.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		r.Header.Set("Origin", "https://example.com")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: tok})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code < 400 || rec.Code >= 500 {
			t.Fatalf("%s %q: %d", p, ctype, rec.Code)
		}
		if !srv.validToken(tok) {
			t.Fatal("signed out")
		}
		select {
		case <-reboots:
			t.Fatal("rebooted")
		default:
		}
		if upd.Calls() != 0 || srv.Status().License.Status != LicenseNone {
			t.Fatal("acted")
		}
	})
}

// FuzzWebColors: a colour validate accepts puts nothing but a hex colour
// into the style sheet.
func FuzzWebColors(f *testing.F) {
	for _, s := range []string{"#abc", "#A1B2C3", "red", "#abcd", "#fff;}", "#fff\n", "", "#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o := &WebOptions{Colors: WebColors{Primary: s}}
		if o.validate() != nil {
			return
		}
		css := string(themeCSS(o.Colors))
		if s == "" {
			if css != ":root {\n}\n" {
				t.Fatalf("%q", css)
			}
			return
		}
		if css != ":root {\n  --primary: "+s+";\n}\n" || strings.Trim(s[1:], "0123456789abcdefABCDEF") != "" {
			t.Fatalf("%q made %q", s, css)
		}
	})
}

// A vendor brands the console through ServerOptions.Web; the colours
// reach the browser as a same-origin style sheet.
func ExampleWebOptions() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	srv, err := NewServer(&ServerOptions{StateDir: dir, Product: "acme-vault",
		Web: &WebOptions{ProductName: "Acme Vault", Colors: WebColors{Primary: "#0b5d3b", Background: "#fafafa"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/ui/theme.css", nil))
	fmt.Print(rec.Body.String())
	_, err = NewServer(&ServerOptions{StateDir: dir, Product: "acme-vault",
		Web: &WebOptions{Colors: WebColors{Primary: "green"}}})
	fmt.Println(errors.Is(err, ErrConfig))
	// Output:
	// :root {
	//   --primary: #0b5d3b;
	//   --background: #fafafa;
	// }
	// true
}

// TestWebLabels: every visible input of every page has a label, so the
// console reads in a screen reader and a text browser.
func TestWebLabels(t *testing.T) {
	e := webEnv(t, nil)
	b := e.browser()
	pages := map[string]string{"/ui/first-run": b.get("/ui/first-run").Body.String()}
	b.firstRun()
	pages["/ui/login"] = e.browser().get("/ui/login").Body.String()
	for _, p := range []string{"/ui/", "/ui/license", "/ui/update", "/ui/support", "/ui/backup", "/ui/restore"} {
		rec := b.get(p)
		require.Equal(t, http.StatusOK, rec.Code, p)
		pages[p] = rec.Body.String()
	}
	input := regexp.MustCompile(`<input [^>]*>`)
	id := regexp.MustCompile(`\bid="([^"]+)"`)
	for p, html := range pages {
		n := 0
		for _, in := range input.FindAllString(html, -1) {
			if strings.Contains(in, `type="hidden"`) {
				continue
			}
			m := id.FindStringSubmatch(in)
			require.NotNil(t, m, "%s: input without id: %s", p, in)
			require.Contains(t, html, `<label for="`+m[1]+`">`, "%s: no label for %s", p, m[1])
			n++
		}
		if p != "/ui/" && p != "/ui/support" {
			require.NotZero(t, n, "%s has a form", p)
		}
	}
}
