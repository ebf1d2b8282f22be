package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fogkit/fogkit/license"
	"github.com/fogkit/fogkit/sign"
	"github.com/stretchr/testify/require"
)

const apiProduct = "acme-appliance"

var apiT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// apiClock is a settable clock.
type apiClock struct {
	mu sync.Mutex
	t  time.Time
}

func newAPIClock() *apiClock { return &apiClock{t: apiT0} }

func (c *apiClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *apiClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Fixed test keys: seeds, not secrets.
func licenseSigner(t testing.TB, seed byte) *sign.Ed25519Signer {
	t.Helper()
	s, err := sign.NewEd25519Signer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)), sign.PurposeLicense)
	require.NoError(t, err)
	return s
}

func pubPEM(t testing.TB, s *sign.Ed25519Signer) []byte {
	t.Helper()
	b, err := sign.EncodePublicKey(s.Public())
	require.NoError(t, err)
	return b
}

// apiLicense is valid for a year from apiT0 with a 14-day grace period.
func apiLicense(mut func(*license.License)) *license.License {
	exp := apiT0.AddDate(1, 0, 0)
	l := &license.License{ID: "lic-1", Sequence: 1, Product: apiProduct,
		Customer: license.Customer{ID: "cust-1", Name: "Example Corp"}, IssuedAt: apiT0.Add(-time.Hour),
		ExpiresAt: &exp, GracePeriod: license.Days(14), Seats: 5, Features: []string{"backup", "sso"}}
	if mut != nil {
		mut(l)
	}
	return l
}

func encodeLicense(t testing.TB, s sign.Signer, l *license.License) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, license.Encode(context.Background(), &b, l, s))
	return b.Bytes()
}

// apiUpdater records Install calls; install decides the outcome.
type apiUpdater struct {
	mu      sync.Mutex
	calls   int
	got     []byte
	install func(ctx context.Context, pkg io.ReaderAt, size int64) (*Installed, error)
	status  UpdateStatus
}

func (f *apiUpdater) Install(ctx context.Context, pkg io.ReaderAt, size int64) (*Installed, error) {
	b := make([]byte, size)
	if _, err := pkg.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, err
	}
	f.mu.Lock()
	f.calls++
	f.got = b
	inst := f.install
	f.mu.Unlock()
	if inst != nil {
		return inst(ctx, pkg, size)
	}
	return &Installed{Version: "2.0", Sequence: 2, Slot: "b"}, nil
}

func (f *apiUpdater) Status() UpdateStatus { return f.status }

func (f *apiUpdater) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// env is a server on a temp state directory with a fake clock, console,
// updater and license key.
type apiEnv struct {
	t       *testing.T
	o       *ServerOptions
	srv     *Server
	h       http.Handler
	console *bytes.Buffer
	clock   *apiClock
	upd     *apiUpdater
	signer  *sign.Ed25519Signer
	reboots chan struct{}
}

func newAPIEnv(t *testing.T, mut func(*ServerOptions)) *apiEnv {
	t.Helper()
	e := &apiEnv{t: t, console: &bytes.Buffer{}, clock: newAPIClock(), upd: &apiUpdater{}, signer: licenseSigner(t, 1),
		reboots: make(chan struct{}, 4)}
	e.o = &ServerOptions{StateDir: t.TempDir(), DataDir: t.TempDir(), Product: apiProduct, Version: "1.0", Sequence: 1,
		LicensePublicKey: pubPEM(t, e.signer), Updater: e.upd, Console: e.console, Now: e.clock.Now,
		Reboot: func() error { e.reboots <- struct{}{}; return nil }}
	if mut != nil {
		mut(e.o)
	}
	e.restart()
	return e
}

// restart makes a new Server on the same options (and state directory).
func (e *apiEnv) restart() {
	e.t.Helper()
	srv, err := NewServer(e.o)
	require.NoError(e.t, err)
	e.srv, e.h = srv, srv.Handler()
}

var tokenLine = regexp.MustCompile(`first-run token: (\S+)`)

// firstRunToken is the last token printed on the console.
func (e *apiEnv) firstRunToken() string {
	e.t.Helper()
	m := tokenLine.FindAllStringSubmatch(e.console.String(), -1)
	require.NotEmpty(e.t, m, "no first-run token on the console")
	return m[len(m)-1][1]
}

const goodPassword = "correct horse battery"

// claim completes first run and returns the admin bearer token.
func (e *apiEnv) claim() string {
	e.t.Helper()
	rec := e.json("POST", "/api/v1/first-run", "", `{"token":"`+e.firstRunToken()+`","password":"`+goodPassword+`"}`)
	require.Equal(e.t, http.StatusOK, rec.Code, rec.Body.String())
	var tr TokenResponse
	require.NoError(e.t, json.Unmarshal(rec.Body.Bytes(), &tr))
	require.NotEmpty(e.t, tr.Token)
	return tr.Token
}

type reqOpt func(*http.Request)

func withHeader(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }
func fromIP(ip string) reqOpt       { return func(r *http.Request) { r.RemoteAddr = ip + ":40000" } }

func (e *apiEnv) do(method, path, token string, body io.Reader, opts ...reqOpt) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(method, path, body)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for _, o := range opts {
		o(r)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	return rec
}

func (e *apiEnv) json(method, path, token, body string, opts ...reqOpt) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(method, path, token, strings.NewReader(body), append([]reqOpt{withHeader("Content-Type", "application/json")}, opts...)...)
}

// requireAPIError checks status and the JSON error code.
func requireAPIError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	require.Equal(t, status, rec.Code, rec.Body.String())
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var body struct {
		Error *APIError `json:"error"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	require.NotNil(t, body.Error, rec.Body.String())
	require.Equal(t, code, body.Error.Code, rec.Body.String())
	require.NotEmpty(t, body.Error.Message)
}

// stateDirBytes returns the concatenated contents of every file under dir.
func stateDirBytes(t *testing.T, dir string) []byte {
	t.Helper()
	var all []byte
	require.NoError(t, walkStateFiles(dir, func(b []byte) { all = append(all, b...) }))
	return all
}

func walkStateFiles(dir string, f func([]byte)) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		p := dir + "/" + e.Name()
		if e.IsDir() {
			if err := walkStateFiles(p, f); err != nil {
				return err
			}
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f(b)
	}
	return nil
}
