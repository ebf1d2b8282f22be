package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fogkit/fogkit/update"
)

// API limits and defaults.
const (
	// DefaultPort is the admin API's port.
	DefaultPort = 9443
	// DefaultMaxUpdateSize caps an uploaded update package.
	DefaultMaxUpdateSize = 4 << 30
	// maxJSONBody caps the JSON request bodies (first-run, login).
	maxJSONBody = 64 << 10
	// rebootDelay leaves the 202 time to reach the client before Reboot.
	rebootDelay = 500 * time.Millisecond
	// shutdownGrace bounds how long Serve waits for running requests (an
	// update install) when its context ends.
	shutdownGrace = 2 * time.Minute
)

// ServerOptions configures the admin API. Only StateDir and Product are
// required; a nil field means the documented default. The options are
// never modified.
type ServerOptions struct {
	// StateDir holds the admin credential (hashed), the first-run token's
	// hash, the TLS key and certificate and the installed license. It
	// belongs on the data disk (/data), so it survives updates. Created
	// 0700 when missing.
	StateDir string `json:"stateDir"`
	// DataDir is the data disk's mount point, reported by status (mounted,
	// used, free). "" reports nothing.
	DataDir string `json:"dataDir,omitempty"`
	// Product, Version and Sequence are the running version's identity
	// (from /etc/fogkit/release). Licenses must name Product.
	Product  string `json:"product"`
	Version  string `json:"version,omitempty"`
	Sequence uint64 `json:"sequence,omitempty"`
	// LicensePublicKey is /etc/fogkit/license.pub as the build writes it
	// (SPKI PEM of the vendor's Ed25519 license key). Without it no
	// license can be installed and status reports none.
	LicensePublicKey []byte `json:"-"`
	// BakedLicense is /etc/fogkit/license.lic, the license baked into the
	// image, used while none has been installed; optional.
	BakedLicense []byte `json:"-"`
	// InstanceID is passed to license verification for licenses bound to
	// one installation.
	InstanceID string `json:"instanceId,omitempty"`
	// Updater installs uploaded packages; nil answers the update endpoint
	// with 501 not_supported.
	Updater Updater `json:"-"`
	// Reboot restarts the appliance; nil answers the reboot endpoint with
	// 501 not_supported.
	Reboot func() error `json:"-"`
	// Console receives the first-run token (only while the appliance is
	// unclaimed) and the certificate fingerprint (on every Serve). Nothing
	// else secret is ever written anywhere. nil means io.Discard.
	Console io.Writer `json:"-"`
	// Now is the clock; nil means time.Now.
	Now func() time.Time `json:"-"`
	// Rand is the randomness for tokens, salts and the TLS key; nil means
	// crypto/rand.
	Rand io.Reader `json:"-"`
	// MaxUpdateSize caps an uploaded package: 0 means DefaultMaxUpdateSize.
	MaxUpdateSize int64 `json:"maxUpdateSize,omitempty"`
	// MaxLicenseSize caps a license file: 0 means DefaultMaxLicenseSize.
	MaxLicenseSize int64 `json:"maxLicenseSize,omitempty"`
	// SessionLifetime is how long a bearer token from first-run or login
	// works; 0 means DefaultSessionLifetime.
	SessionLifetime time.Duration `json:"sessionLifetime,omitempty"`
	// CertHosts are host names and IP addresses put in the TLS certificate
	// beside localhost when it is first made (the hostname and addresses
	// Setup configured); later starts keep the certificate as it is, so
	// its fingerprint stays the one the admin noted.
	CertHosts []string `json:"certHosts,omitempty"`
	// SpoolDir receives uploads while they stream in; "" means
	// StateDir/incoming. It should be on the data disk: an update package
	// may be larger than memory.
	SpoolDir string `json:"spoolDir,omitempty"`
	// Support enables GET /api/v1/support-bundle; nil answers 501.
	Support *SupportOptions `json:"support,omitempty"`
	// Backup enables POST /api/v1/backup and /api/v1/restore; nil
	// answers 501.
	Backup *BackupOptions `json:"backup,omitempty"`
	// Web configures the web console served beside the API under /ui/;
	// nil means the console with fogkit's default look.
	Web *WebOptions `json:"web,omitempty"`
}

// Server is the appliance's admin API. Create it with NewServer; serve it
// with Serve (HTTPS) or mount Handler behind your own TLS listener.
//
// # Security
//
// First run: on a start while the appliance is unclaimed, NewServer makes a
// fresh 160-bit first-run token, prints it on Console and stores only its
// SHA-256 on StateDir. Until POST /api/v1/first-run has used it to set the
// admin password, every other endpoint answers 403 first_run_required, so
// nobody on the network can claim the appliance without having seen its
// console. The token is burnt on use; a restart before the claim replaces
// it with a new one (the old one was only on the console).
//
// Authentication is by the Authorization header only (Bearer tokens from
// first-run or login; stored as SHA-256 hashes, compared in constant time).
// The API never sets or reads cookies, so a cross-site form or script in
// the administrator's browser cannot act with their credentials (no CSRF);
// as a second line, any request whose Origin header names another host
// than the request's is refused (403 cross_origin). The password is stored
// as a salted Argon2id hash.
//
// Failed authentication (bearer, password or first-run token) is counted
// per client address: after 5 failures the address gets 429
// too_many_attempts with Retry-After for a lockout that doubles with each
// further failure (1 s up to 5 min). Handlers never sleep.
//
// The web console under /ui/ (see WebOptions) is the one part that uses
// a cookie, and it holds one of the same bearer tokens: its forms carry a
// CSRF token bound to the session and are refused when a browser says
// they come from another site or origin.
//
// Secrets (tokens, password, license signatures) never appear in
// responses other than the one that issues a token, on the console other
// than the first-run token, or in any log: the server logs nothing.
type Server struct {
	o       ServerOptions
	now     func() time.Time
	rand    io.Reader
	console io.Writer
	start   time.Time
	cert    tls.Certificate
	fp      string
	lic     *LicenseStore
	lim     *limiter
	spool   string

	mu        sync.Mutex // guards admin, the first-run hash and token
	admin     *adminState
	firstHash []byte
	firstTok  string // the token this start printed, for the console menu

	updating  atomic.Bool
	rebooting atomic.Bool
	dataOp    sync.Mutex // one support bundle, backup or restore at a time

	web *webConsole // nil when the console is disabled
}

// NewServer opens (or on the first start, initialises) StateDir: the TLS
// certificate, the admin credential or the first-run token, the license.
func NewServer(o *ServerOptions) (*Server, error) {
	if o == nil || o.StateDir == "" {
		return nil, fmt.Errorf("%w: the admin API needs a state directory", ErrConfig)
	}
	if o.Product == "" {
		return nil, fmt.Errorf("%w: the admin API needs a product name", ErrConfig)
	}
	if err := o.Web.validate(); err != nil {
		return nil, err
	}
	s := &Server{o: *o, now: o.Now, rand: o.Rand, console: o.Console}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.console == nil {
		s.console = io.Discard
	}
	if s.o.MaxUpdateSize <= 0 {
		s.o.MaxUpdateSize = DefaultMaxUpdateSize
	}
	if s.o.MaxLicenseSize <= 0 {
		s.o.MaxLicenseSize = DefaultMaxLicenseSize
	}
	s.spool = o.SpoolDir
	if s.spool == "" {
		s.spool = filepath.Join(o.StateDir, "incoming")
	}
	s.start = s.now()
	s.lim = newLimiter(s.now)
	if err := ensureStateDir(o.StateDir); err != nil {
		return nil, err
	}
	var err error
	if len(o.LicensePublicKey) > 0 {
		s.lic, err = NewLicenseStore(&LicenseStoreOptions{Dir: o.StateDir, PublicKey: o.LicensePublicKey,
			Baked: o.BakedLicense, Product: o.Product, InstanceID: o.InstanceID, MaxSize: s.o.MaxLicenseSize, Now: s.now})
		if err != nil {
			return nil, err
		}
	}
	if s.admin, err = loadAdmin(o.StateDir); err != nil {
		return nil, err
	}
	var tok string
	if s.admin != nil {
		// A claim that was cut short after writing the credential may have
		// left the first-run hash behind; it must never be usable.
		if err := removeStateFile(o.StateDir, stateFirstRun); err != nil {
			return nil, err
		}
	} else {
		// The token is drawn first, so a seeded Rand gives the same token
		// whatever the key generation below reads.
		var h []byte
		if tok, h, err = newFirstRunToken(s.rand); err != nil {
			return nil, err
		}
		if err := writeStateFile(o.StateDir, stateFirstRun, h, 0o600); err != nil {
			return nil, err
		}
		s.firstHash, s.firstTok = h, tok
	}
	if s.cert, err = loadOrCreateCert(o.StateDir, o.Product, o.CertHosts, s.rand, s.now()); err != nil {
		return nil, err
	}
	s.fp = Fingerprint(s.cert.Certificate[0])
	if s.web, err = newWebConsole(s, o.Web); err != nil {
		return nil, err
	}
	if tok != "" {
		fmt.Fprintf(s.console, "admin API first-run token: %s\n", tok)
	}
	return s, nil
}

// Fingerprint returns the SHA-256 fingerprint of the API's certificate
// (AB:CD:...).
func (s *Server) Fingerprint() string { return s.fp }

// Certificate returns the API's TLS certificate, for a caller that serves
// Handler on its own listener.
func (s *Server) Certificate() tls.Certificate { return s.cert }

// Licenses returns the license store the API installs into, to share with
// LicenseGate in front of the vendor's app; nil without a
// LicensePublicKey.
func (s *Server) Licenses() *LicenseStore { return s.lic }

// Claimed reports whether first run has been completed.
func (s *Server) Claimed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.admin != nil
}

// Serve serves the API over TLS on ln until ctx ends, then shuts down
// gracefully (running requests get up to two minutes). It prints the
// address and certificate fingerprint on Console first. It returns nil
// after a shutdown by ctx.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	for _, a := range consoleAddrs(ln.Addr()) {
		fmt.Fprintf(s.console, "admin API: https://%s  certificate sha256 %s\n", a, s.fp)
	}
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{s.cert}}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(tls.NewListener(ln, cfg)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	err := hs.Shutdown(sctx)
	<-errc
	if err != nil {
		hs.Close()
	}
	return nil
}

// consoleAddrs names the addresses an administrator can reach: for a
// listener on all addresses (":9443"), each non-loopback interface
// address with the port; otherwise the listener's own address.
func consoleAddrs(addr net.Addr) []string {
	ta, ok := addr.(*net.TCPAddr)
	if !ok || !ta.IP.IsUnspecified() {
		return []string{addr.String()}
	}
	var out []string
	ifaddrs, _ := net.InterfaceAddrs()
	for _, ia := range ifaddrs {
		ipn, ok := ia.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() || (ta.IP.To4() != nil && ipn.IP.To4() == nil) {
			continue
		}
		out = append(out, net.JoinHostPort(ipn.IP.String(), strconv.Itoa(ta.Port)))
	}
	if len(out) == 0 {
		return []string{addr.String()}
	}
	return out
}

// apiRoute is one endpoint.
type apiRoute struct {
	method string
	auth   bool // needs a bearer token
	json   bool // body must be application/json
	h      func(w http.ResponseWriter, r *http.Request)
}

// Handler returns the API's http.Handler (no TLS: Serve adds it).
//
//	POST /api/v1/first-run  {"token","password"} → 200 {"token"}   (no bearer)
//	POST /api/v1/login      {"password"}         → 200 {"token"}   (no bearer)
//	GET  /api/v1/status                          → 200 ApplianceStatus
//	PUT  /api/v1/license    license file         → 200 LicenseSummary
//	POST /api/v1/update     update package       → 202 Installed
//	POST /api/v1/reboot                          → 202 {}
//	POST /api/v1/logout                          → 200 {} (revokes the token)
//	GET  /api/v1/support-bundle[?plain=true]     → 200 the bundle (encrypted to the vendor unless plain)
//	POST /api/v1/backup     BackupRequest        → 200 the backup (encrypted to the customer's choice)
//	POST /api/v1/restore    backup file          → 200 RestoreResult (passphrase in PassphraseHeader)
//
// Every path under /ui/ is the web console (see WebOptions), and a
// browser asking for / (Accept: text/html) is sent to it; both act
// through the same code as the endpoints above.
func (s *Server) Handler() http.Handler {
	routes := map[string]apiRoute{
		"/api/v1/first-run":      {method: http.MethodPost, json: true, h: s.handleFirstRun},
		"/api/v1/login":          {method: http.MethodPost, json: true, h: s.handleLogin},
		"/api/v1/status":         {method: http.MethodGet, auth: true, h: s.handleStatus},
		"/api/v1/license":        {method: http.MethodPut, auth: true, h: s.handleLicense},
		"/api/v1/update":         {method: http.MethodPost, auth: true, h: s.handleUpdate},
		"/api/v1/reboot":         {method: http.MethodPost, auth: true, h: s.handleReboot},
		"/api/v1/logout":         {method: http.MethodPost, auth: true, h: s.handleLogout},
		"/api/v1/support-bundle": {method: http.MethodGet, auth: true, h: s.handleSupportBundle},
		"/api/v1/backup":         {method: http.MethodPost, auth: true, json: true, h: s.handleBackup},
		"/api/v1/restore":        {method: http.MethodPost, auth: true, h: s.handleRestore},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if s.web != nil && s.web.handles(r) {
			s.web.ServeHTTP(w, r)
			return
		}
		rt, ok := routes[r.URL.Path]
		if !ok {
			writeError(w, &APIError{http.StatusNotFound, CodeNotFound, "no such endpoint"})
			return
		}
		if !sameOrigin(r) {
			writeError(w, &APIError{http.StatusForbidden, CodeCrossOrigin, "cross-origin requests are refused"})
			return
		}
		if r.Method != rt.method {
			w.Header().Set("Allow", rt.method)
			writeError(w, &APIError{http.StatusMethodNotAllowed, CodeMethodNotAllowed, "use " + rt.method})
			return
		}
		if r.URL.Path != "/api/v1/first-run" && !s.Claimed() {
			writeError(w, &APIError{http.StatusForbidden, CodeFirstRunRequired, "complete first run with the token shown on the console"})
			return
		}
		if rt.auth || rt.json {
			// Every endpoint that checks a secret is behind the backoff.
			if e := s.backoff(w, r); e != nil {
				writeError(w, e)
				return
			}
		}
		if rt.auth && !s.authorized(r) {
			s.lim.fail(clientIP(r))
			w.Header().Set("WWW-Authenticate", `Bearer realm="fogkit"`)
			writeError(w, &APIError{http.StatusUnauthorized, CodeUnauthorized, "missing or wrong bearer token"})
			return
		}
		if rt.auth {
			s.lim.succeed(clientIP(r))
		}
		if rt.json && !isJSON(r) {
			writeError(w, &APIError{http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "send Content-Type: application/json"})
			return
		}
		rt.h(w, r)
	})
}

// sameOrigin is false when the request carries an Origin header naming
// another host (or the opaque "null" origin). Non-browser clients send no
// Origin and pass.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

func isJSON(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// isForm is true for the content types a browser form can send; the raw
// upload endpoints refuse them, since their body is the file itself.
func isForm(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded" || strings.HasPrefix(mt, "multipart/") || mt == "application/json"
}

// clientIP is the peer's address; forwarding headers are not trusted.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// backoff answers 429 (with Retry-After set on w) while r's address is
// locked out after failed attempts; nil lets it try.
func (s *Server) backoff(w http.ResponseWriter, r *http.Request) *APIError {
	if d := s.lim.wait(clientIP(r)); d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
		return &APIError{http.StatusTooManyRequests, CodeTooManyAttempts, "too many failed attempts; retry later"}
	}
	return nil
}

func (s *Server) authorized(r *http.Request) bool {
	tok, ok := bearerToken(r.Header.Get("Authorization"))
	return ok && s.validToken(tok)
}

// validToken reports whether tok is a live bearer token of the admin: the
// API's Authorization header and the web console's cookie both hold one.
func (s *Server) validToken(tok string) bool {
	h := tokenHash(tok)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.admin != nil && s.admin.hasSession(h, s.now(), s.lifetime())
}

// writeError sends {"error":{"code","message"}}.
func writeError(w http.ResponseWriter, e *APIError) {
	writeJSON(w, e.Status, struct {
		Error *APIError `json:"error"`
	}{e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"encoding the response failed"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// errInternal: the state directory could not be read or written.
var errInternal = &APIError{http.StatusInternalServerError, CodeInternal, "the appliance could not update its state"}

// errBusy: no password hashing slot came free while the request lived
// (sent with Retry-After: 1).
var errBusy = &APIError{http.StatusTooManyRequests, CodeTooManyAttempts, "the appliance is busy; retry later"}

func internalError(w http.ResponseWriter) { writeError(w, errInternal) }

// FirstRunRequest is the body of POST /api/v1/first-run.
type FirstRunRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// LoginRequest is the body of POST /api/v1/login.
type LoginRequest struct {
	Password string `json:"password"`
}

// TokenResponse carries a new bearer token.
type TokenResponse struct {
	Token string `json:"token"`
}

// decodeJSON reads one JSON object of at most max bytes into v: unknown
// fields, trailing data and oversize bodies are refused.
func decodeJSON(body io.Reader, max int64, v any) *APIError {
	b, err := io.ReadAll(io.LimitReader(body, max+1))
	if err != nil {
		return &APIError{http.StatusBadRequest, CodeBadRequest, "reading the body failed"}
	}
	if int64(len(b)) > max {
		return &APIError{http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("body over %d bytes", max)}
	}
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return &APIError{http.StatusBadRequest, CodeBadRequest, "body must be a JSON object"}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &APIError{http.StatusBadRequest, CodeBadRequest, "body is not the expected JSON object"}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &APIError{http.StatusBadRequest, CodeBadRequest, "data after the JSON object"}
	}
	return nil
}

func (s *Server) handleFirstRun(w http.ResponseWriter, r *http.Request) {
	var req FirstRunRequest
	if e := decodeJSON(r.Body, maxJSONBody, &req); e != nil {
		writeError(w, e)
		return
	}
	tok, e := s.firstRun(r.Context(), clientIP(r), req)
	if e != nil {
		if e.Code == CodeTooManyAttempts {
			w.Header().Set("Retry-After", "1")
		}
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, TokenResponse{Token: tok})
}

// firstRun claims the appliance with the console's token and sets the
// admin password; it returns the first bearer token. The API and the web
// console both claim through it. Failures count against ip.
func (s *Server) firstRun(ctx context.Context, ip string, req FirstRunRequest) (string, *APIError) {
	if s.Claimed() {
		return "", &APIError{http.StatusConflict, CodeAlreadyClaimed, "first run is already done; log in instead"}
	}
	s.mu.Lock()
	stored := s.firstHash
	s.mu.Unlock()
	if !firstRunMatches(req.Token, stored) {
		s.lim.fail(ip)
		return "", &APIError{http.StatusUnauthorized, CodeBadFirstRunToken, "wrong first-run token"}
	}
	if !checkPassword(req.Password) {
		return "", &APIError{http.StatusUnprocessableEntity, CodeWeakPassword,
			fmt.Sprintf("the password needs at least %d characters", MinPasswordLength)}
	}
	ph, err := hashPassword(ctx, s.rand, req.Password)
	if errors.Is(err, errKDFBusy) {
		return "", errBusy
	}
	if err != nil {
		return "", errInternal
	}
	tok, th, err := newBearer(s.rand)
	if err != nil {
		return "", errInternal
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admin != nil { // claimed by a concurrent call meanwhile
		return "", &APIError{http.StatusConflict, CodeAlreadyClaimed, "first run is already done; log in instead"}
	}
	a := &adminState{Password: ph, Claimed: s.now().UTC()}
	a.addSession(th, s.now(), s.lifetime())
	// The credential is written before the first-run hash is removed: a
	// power cut in between leaves a claimed appliance (NewServer removes
	// the stale hash), never an unclaimed one with a burnt token.
	if err := saveAdmin(s.o.StateDir, a); err != nil {
		return "", errInternal
	}
	s.admin, s.firstHash = a, nil
	removeStateFile(s.o.StateDir, stateFirstRun)
	s.lim.succeed(ip)
	return tok, nil
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req LoginRequest
	if e := decodeJSON(r.Body, maxJSONBody, &req); e != nil {
		writeError(w, e)
		return
	}
	tok, e := s.login(r.Context(), clientIP(r), req.Password)
	if e != nil {
		if e.Code == CodeTooManyAttempts {
			w.Header().Set("Retry-After", "1")
		}
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, TokenResponse{Token: tok})
}

// login checks the admin password and returns a new bearer token; the
// API and the web console both sign in through it. Failures count against
// ip.
func (s *Server) login(ctx context.Context, ip, password string) (string, *APIError) {
	s.mu.Lock()
	ph := s.admin.Password
	s.mu.Unlock()
	ok, err := ph.verify(ctx, password)
	if err != nil {
		return "", errBusy
	}
	if !ok {
		s.lim.fail(ip)
		return "", &APIError{http.StatusUnauthorized, CodeBadPassword, "wrong password"}
	}
	tok, th, err := newBearer(s.rand)
	if err != nil {
		return "", errInternal
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := *s.admin
	a.Sessions = append([]session(nil), s.admin.Sessions...)
	a.addSession(th, s.now(), s.lifetime())
	if err := saveAdmin(s.o.StateDir, &a); err != nil {
		return "", errInternal
	}
	s.admin = &a
	s.lim.succeed(ip)
	return tok, nil
}

// ApplianceStatus is the body of GET /api/v1/status.
type ApplianceStatus struct {
	Product        string         `json:"product"`
	Version        string         `json:"version"`
	Sequence       uint64         `json:"sequence"`
	RunningSlot    string         `json:"runningSlot"`
	RunningVersion string         `json:"runningVersion,omitempty"`
	PendingSlot    string         `json:"pendingSlot,omitempty"`
	LastUpdate     *UpdateResult  `json:"lastUpdate,omitempty"`
	UpdateHistory  []UpdateResult `json:"updateHistory,omitempty"`
	UpdateRunning  bool           `json:"updateRunning"`
	License        LicenseSummary `json:"license"`
	Data           DataStatus     `json:"data"`
	UptimeSeconds  int64          `json:"uptimeSeconds"`
}

// Status returns what GET /api/v1/status reports.
func (s *Server) Status() ApplianceStatus {
	st := ApplianceStatus{Product: s.o.Product, Version: s.o.Version, Sequence: s.o.Sequence,
		UpdateRunning: s.updating.Load(), License: LicenseSummary{Status: LicenseNone},
		Data: dataStatus(s.o.DataDir), UptimeSeconds: int64(s.now().Sub(s.start) / time.Second)}
	if s.o.Updater != nil {
		u := s.o.Updater.Status()
		st.RunningSlot, st.RunningVersion, st.PendingSlot, st.LastUpdate, st.UpdateHistory = u.RunningSlot, u.RunningVersion, u.PendingSlot, u.Last, u.History
	}
	if s.lic != nil {
		st.License = s.lic.Summary()
	}
	return st
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Status())
}

func (s *Server) handleLicense(w http.ResponseWriter, r *http.Request) {
	if isForm(r) {
		writeError(w, &APIError{http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "send the license file itself as the body"})
		return
	}
	if r.ContentLength > s.o.MaxLicenseSize {
		if s.lic == nil {
			writeError(w, errNoLicenseKey)
			return
		}
		writeError(w, &APIError{http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("license over %d bytes", s.o.MaxLicenseSize)})
		return
	}
	sum, e := s.installLicense(r.Context(), r.Body)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, sum)
}

var errNoLicenseKey = &APIError{http.StatusNotImplemented, CodeNotSupported, "this appliance has no license key"}

// installLicense verifies and installs a license file read from r (capped
// at MaxLicenseSize); the API and the web console both install through it.
func (s *Server) installLicense(ctx context.Context, r io.Reader) (*LicenseSummary, *APIError) {
	if s.lic == nil {
		return nil, errNoLicenseKey
	}
	sum, err := s.lic.Install(ctx, r)
	var le *LicenseError
	switch {
	case errors.As(err, &le):
		return nil, licenseAPIError(le)
	case errors.Is(err, ErrState):
		return nil, errInternal
	case err != nil:
		return nil, &APIError{http.StatusBadRequest, CodeBadRequest, "the upload was cut short"}
	}
	return sum, nil
}

func licenseAPIError(le *LicenseError) *APIError {
	e := &APIError{Status: http.StatusUnprocessableEntity, Code: le.Code}
	switch le.Code {
	case CodeTooLarge:
		e.Status, e.Message = http.StatusRequestEntityTooLarge, "the license file is too large"
	case CodeWrongProduct:
		e.Message = "the license is for another product"
	case CodeWrongInstance:
		e.Message = "the license is bound to another installation"
	case CodeLicenseExpired:
		e.Message = "the license has expired"
	case CodeLicenseNotYetValid:
		e.Message = "the license is not valid yet"
	case CodeLicenseRevoked:
		e.Message = "the license has been revoked"
	case CodeLicenseSuperseded:
		e.Status, e.Message = http.StatusConflict, "a newer license for this customer is already installed"
	case CodeClockRollback:
		e.Status, e.Message = http.StatusConflict, "the clock is behind the last time seen; fix the clock"
	default:
		e.Message = "not a valid license file for this appliance (format or signature)"
	}
	return e
}

// handleUpdate streams the package to a spool file, capped while reading,
// and hands it to the Updater.
func (s *Server) handleUpdate(w http.ResponseWriter, r *http.Request) {
	if isForm(r) {
		writeError(w, &APIError{http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "send the package file itself as the body"})
		return
	}
	if s.o.Updater == nil {
		writeError(w, errNoUpdater)
		return
	}
	if r.ContentLength > s.o.MaxUpdateSize {
		writeError(w, &APIError{http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("package over %d bytes", s.o.MaxUpdateSize)})
		return
	}
	inst, e := s.installUpdate(r.Context(), r.Body)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusAccepted, inst)
}

var errNoUpdater = &APIError{http.StatusNotImplemented, CodeNotSupported, "this appliance takes no updates"}

// installUpdate spools the package read from r (capped at MaxUpdateSize)
// and installs it with the Updater; the API and the web console both
// install through it. One at a time: the flag is taken before r is read,
// so a second upload is refused at once.
func (s *Server) installUpdate(ctx context.Context, r io.Reader) (*Installed, *APIError) {
	if s.o.Updater == nil {
		return nil, errNoUpdater
	}
	if s.rebooting.Load() || !s.updating.CompareAndSwap(false, true) {
		return nil, &APIError{http.StatusConflict, CodeUpdateInProgress, "another update is running"}
	}
	defer s.updating.Store(false)
	if err := ensureStateDir(s.spool); err != nil {
		return nil, errInternal
	}
	f, err := os.CreateTemp(s.spool, "update-*.spool")
	if err != nil {
		return nil, errInternal
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	n, err := io.Copy(f, io.LimitReader(r, s.o.MaxUpdateSize+1))
	switch {
	case err != nil:
		return nil, &APIError{http.StatusBadRequest, CodeBadRequest, "the upload was cut short"}
	case n > s.o.MaxUpdateSize:
		return nil, &APIError{http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("package over %d bytes", s.o.MaxUpdateSize)}
	}
	// A client that hangs up after the upload does not abort the install
	// halfway (the installer would cope, but there is no reason to).
	inst, err := s.o.Updater.Install(context.WithoutCancel(ctx), f, n)
	if err != nil {
		return nil, updateAPIError(err)
	}
	if inst == nil {
		inst = &Installed{}
	}
	return inst, nil
}

// updateAPIError maps an Updater error to a code; the message names the
// sentinel only, never the error text (which may hold paths).
func updateAPIError(err error) *APIError {
	for _, m := range []struct {
		sentinel error
		status   int
		code     string
	}{
		{update.ErrDowngrade, http.StatusConflict, CodeDowngrade},
		{update.ErrSignature, http.StatusUnprocessableEntity, CodeBadPackage},
		{update.ErrDigestMismatch, http.StatusUnprocessableEntity, CodeBadPackage},
		{update.ErrMalformed, http.StatusUnprocessableEntity, CodeBadPackage},
		{update.ErrUnsafeEntry, http.StatusUnprocessableEntity, CodeBadPackage},
		{update.ErrDecrypt, http.StatusUnprocessableEntity, CodeBadPackage},
		{update.ErrUnsupported, http.StatusUnprocessableEntity, CodeBadPackage},
		{update.ErrTooLarge, http.StatusUnprocessableEntity, CodeBadPackage},
		{update.ErrWrongVendor, http.StatusUnprocessableEntity, CodeWrongProduct},
		{update.ErrWrongProduct, http.StatusUnprocessableEntity, CodeWrongProduct},
		{update.ErrWrongChannel, http.StatusUnprocessableEntity, CodeWrongProduct},
		{update.ErrBaseMismatch, http.StatusConflict, CodeNotApplicable},
		{update.ErrNotApplicable, http.StatusConflict, CodeNotApplicable},
		{update.ErrNotInstalled, http.StatusConflict, CodeNotApplicable},
		{update.ErrPending, http.StatusConflict, CodeNotApplicable},
		{update.ErrBusy, http.StatusConflict, CodeUpdateInProgress},
		{ErrBusy, http.StatusConflict, CodeUpdateInProgress},
		{update.ErrNoSpace, http.StatusInsufficientStorage, CodeNoSpace},
	} {
		if errors.Is(err, m.sentinel) {
			return &APIError{m.status, m.code, m.sentinel.Error()}
		}
	}
	return &APIError{http.StatusInternalServerError, CodeInstallFailed, "the update could not be installed; the running version is unchanged"}
}

func (s *Server) handleReboot(w http.ResponseWriter, r *http.Request) {
	if e := s.startReboot(); e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusAccepted, struct{}{})
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// startReboot calls Reboot after rebootDelay, so the answer reaches the
// client first; the API and the web console both reboot through it.
func (s *Server) startReboot() *APIError {
	if s.o.Reboot == nil {
		return &APIError{http.StatusNotImplemented, CodeNotSupported, "this appliance cannot reboot itself"}
	}
	if s.updating.Load() || !s.rebooting.CompareAndSwap(false, true) {
		return &APIError{http.StatusConflict, CodeUpdateInProgress, "an update or reboot is under way"}
	}
	reboot := s.o.Reboot
	go func() {
		time.Sleep(rebootDelay)
		if reboot() != nil {
			s.rebooting.Store(false)
		}
	}()
	return nil
}

func (s *Server) lifetime() time.Duration {
	if s.o.SessionLifetime > 0 {
		return s.o.SessionLifetime
	}
	return DefaultSessionLifetime
}

// handleLogout revokes the token the request carries.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	tok, _ := bearerToken(r.Header.Get("Authorization"))
	if err := s.logout(tok); err != nil {
		internalError(w)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// logout revokes the bearer token tok (the API's header or the web
// console's cookie).
func (s *Server) logout(tok string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admin == nil {
		return nil
	}
	a := *s.admin
	a.Sessions = append([]session(nil), s.admin.Sessions...)
	a.removeSession(tokenHash(tok))
	if err := saveAdmin(s.o.StateDir, &a); err != nil {
		return err
	}
	s.admin = &a
	return nil
}
