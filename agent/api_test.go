package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fogkit/fogkit/license"
	"github.com/fogkit/fogkit/update"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewServerOptions(t *testing.T) {
	_, err := NewServer(nil)
	require.ErrorIs(t, err, ErrConfig)
	_, err = NewServer(&ServerOptions{StateDir: t.TempDir()})
	require.ErrorIs(t, err, ErrConfig)
	_, err = NewServer(&ServerOptions{StateDir: t.TempDir(), Product: "p", LicensePublicKey: []byte("junk")})
	require.ErrorIs(t, err, ErrConfig)
	s, err := NewServer(&ServerOptions{StateDir: filepath.Join(t.TempDir(), "new"), Product: "p"})
	require.NoError(t, err)
	assert.Nil(t, s.Licenses())
	fi, err := os.Stat(filepath.Join(s.o.StateDir, stateTLSKey))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(s.o.StateDir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())
}

func TestNotFoundAndMethods(t *testing.T) {
	e := newAPIEnv(t, nil)
	bearer := e.claim()
	requireAPIError(t, e.do("GET", "/api/v1/nope", bearer, nil), http.StatusNotFound, CodeNotFound)
	requireAPIError(t, e.do("GET", "/", "", nil), http.StatusNotFound, CodeNotFound)
	for _, c := range []struct{ method, path, allow string }{
		{"POST", "/api/v1/status", "GET"}, {"POST", "/api/v1/license", "PUT"}, {"GET", "/api/v1/update", "POST"},
		{"PUT", "/api/v1/update", "POST"}, {"DELETE", "/api/v1/reboot", "POST"}, {"GET", "/api/v1/login", "POST"},
	} {
		rec := e.do(c.method, c.path, bearer, nil)
		requireAPIError(t, rec, http.StatusMethodNotAllowed, CodeMethodNotAllowed)
		assert.Equal(t, c.allow, rec.Header().Get("Allow"))
	}
}

func TestCrossOriginRefused(t *testing.T) {
	e := newAPIEnv(t, nil)
	bearer := e.claim()
	for _, o := range []string{"https://evil.example", "null", "https://example.com.evil.example", "::"} {
		rec := e.do("POST", "/api/v1/reboot", bearer, nil, withHeader("Origin", o))
		requireAPIError(t, rec, http.StatusForbidden, CodeCrossOrigin)
	}
	select {
	case <-e.reboots:
		t.Fatal("a cross-origin request rebooted")
	default:
	}
	// The same host as the request (httptest uses example.com) passes.
	rec := e.do("GET", "/api/v1/status", bearer, nil, withHeader("Origin", "https://example.com"))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}

func TestLicensePut(t *testing.T) {
	e := newAPIEnv(t, nil)
	bearer := e.claim()
	stored := filepath.Join(e.o.StateDir, stateLicense)
	noneStored := func() {
		t.Helper()
		_, err := os.Stat(stored)
		require.ErrorIs(t, err, os.ErrNotExist)
		assert.Equal(t, LicenseNone, e.srv.Licenses().Status())
	}
	for _, c := range []struct {
		name   string
		body   []byte
		status int
		code   string
	}{
		{"garbage", []byte("hello"), 422, CodeBadLicense},
		{"empty", nil, 422, CodeBadLicense},
		{"other key", encodeLicense(t, licenseSigner(t, 2), apiLicense(nil)), 422, CodeBadLicense},
		{"other product", encodeLicense(t, e.signer, apiLicense(func(l *license.License) { l.Product = "other" })), 422, CodeWrongProduct},
		{"expired", encodeLicense(t, e.signer, apiLicense(func(l *license.License) {
			exp := apiT0.Add(-30 * 24 * time.Hour)
			l.IssuedAt, l.ExpiresAt = apiT0.AddDate(-1, 0, 0), &exp
		})), 422, CodeLicenseExpired},
		{"not yet valid", encodeLicense(t, e.signer, apiLicense(func(l *license.License) { l.NotBefore = apiT0.Add(24 * time.Hour) })), 422, CodeLicenseNotYetValid},
		{"bound elsewhere", encodeLicense(t, e.signer, apiLicense(func(l *license.License) { l.InstanceID = "other" })), 422, CodeWrongInstance},
	} {
		t.Run(c.name, func(t *testing.T) {
			requireAPIError(t, e.do("PUT", "/api/v1/license", bearer, bytes.NewReader(c.body)), c.status, c.code)
			noneStored()
		})
	}
	good := encodeLicense(t, e.signer, apiLicense(nil))
	requireAPIError(t, e.do("PUT", "/api/v1/license", bearer, bytes.NewReader(good), withHeader("Content-Type", "multipart/form-data; boundary=x")),
		http.StatusUnsupportedMediaType, CodeUnsupportedMedia)
	requireAPIError(t, e.do("PUT", "/api/v1/license", "", bytes.NewReader(good)), http.StatusUnauthorized, CodeUnauthorized)
	noneStored()

	rec := e.do("PUT", "/api/v1/license", bearer, bytes.NewReader(good), withHeader("Content-Type", "application/octet-stream"))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var sum LicenseSummary
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &sum))
	assert.Equal(t, LicenseValid, sum.Status)
	assert.Equal(t, "Example Corp", sum.Customer)
	assert.Equal(t, 5, sum.Seats)
	assert.Equal(t, []string{"backup", "sso"}, sum.Features)
	b, err := os.ReadFile(stored)
	require.NoError(t, err)
	assert.Equal(t, good, b)
	fi, err := os.Stat(stored)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	assert.True(t, e.srv.Licenses().Has("sso"), "the store sees the license at once")

	// A refused license leaves the installed one in place.
	requireAPIError(t, e.do("PUT", "/api/v1/license", bearer, strings.NewReader("junk")), 422, CodeBadLicense)
	b, err = os.ReadFile(stored)
	require.NoError(t, err)
	assert.Equal(t, good, b)
}

func TestLicensePutOversize(t *testing.T) {
	e := newAPIEnv(t, func(o *ServerOptions) { o.MaxLicenseSize = 100 })
	bearer := e.claim()
	big := bytes.Repeat([]byte("x"), 101)
	requireAPIError(t, e.do("PUT", "/api/v1/license", bearer, bytes.NewReader(big)), http.StatusRequestEntityTooLarge, CodeTooLarge)
	// Without a Content-Length the cap holds while reading.
	requireAPIError(t, e.do("PUT", "/api/v1/license", bearer, io.MultiReader(bytes.NewReader(big))), http.StatusRequestEntityTooLarge, CodeTooLarge)
	requireAPIError(t, e.do("PUT", "/api/v1/license", bearer, endless{}), http.StatusRequestEntityTooLarge, CodeTooLarge)
	_, err := os.Stat(filepath.Join(e.o.StateDir, stateLicense))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestLicenseSuperseded(t *testing.T) {
	e := newAPIEnv(t, nil)
	bearer := e.claim()
	newer := encodeLicense(t, e.signer, apiLicense(func(l *license.License) { l.Sequence, l.ID, l.Seats = 2, "lic-2", 3 }))
	older := encodeLicense(t, e.signer, apiLicense(nil))
	require.Equal(t, http.StatusOK, e.do("PUT", "/api/v1/license", bearer, bytes.NewReader(newer)).Code)
	requireAPIError(t, e.do("PUT", "/api/v1/license", bearer, bytes.NewReader(older)), http.StatusConflict, CodeLicenseSuperseded)
	assert.Equal(t, 3, e.srv.Licenses().Summary().Seats)
}

func TestLicenseNotSupportedWithoutKey(t *testing.T) {
	e := newAPIEnv(t, func(o *ServerOptions) { o.LicensePublicKey = nil })
	bearer := e.claim()
	requireAPIError(t, e.do("PUT", "/api/v1/license", bearer, bytes.NewReader(encodeLicense(t, e.signer, apiLicense(nil)))),
		http.StatusNotImplemented, CodeNotSupported)
}

func spoolEmpty(t *testing.T, e *apiEnv) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(e.o.StateDir, "incoming"))
	if !errors.Is(err, os.ErrNotExist) {
		require.NoError(t, err)
	}
	assert.Empty(t, ents, "spool file left behind")
}

func TestUpdate(t *testing.T) {
	e := newAPIEnv(t, nil)
	bearer := e.claim()
	pkg := bytes.Repeat([]byte("package!"), 1000)
	var spooled string
	e.upd.install = func(ctx context.Context, r io.ReaderAt, size int64) (*Installed, error) {
		ents, _ := os.ReadDir(filepath.Join(e.o.StateDir, "incoming"))
		if len(ents) == 1 {
			spooled = ents[0].Name()
		}
		return &Installed{Version: "2.0", Sequence: 2, Slot: "b"}, nil
	}
	rec := e.do("POST", "/api/v1/update", bearer, bytes.NewReader(pkg), withHeader("Content-Type", "application/octet-stream"))
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	assert.JSONEq(t, `{"version":"2.0","sequence":2,"slot":"b"}`, rec.Body.String())
	assert.Equal(t, pkg, e.upd.got)
	assert.NotEmpty(t, spooled, "the package went through the spool directory")
	spoolEmpty(t, e)

	requireAPIError(t, e.do("POST", "/api/v1/update", "", bytes.NewReader(pkg)), http.StatusUnauthorized, CodeUnauthorized)
	requireAPIError(t, e.do("POST", "/api/v1/update", bearer, bytes.NewReader(pkg), withHeader("Content-Type", "application/x-www-form-urlencoded")),
		http.StatusUnsupportedMediaType, CodeUnsupportedMedia)
	assert.Equal(t, 1, e.upd.Calls())
}

func TestUpdateOversize(t *testing.T) {
	e := newAPIEnv(t, func(o *ServerOptions) { o.MaxUpdateSize = 1000 })
	bearer := e.claim()
	big := bytes.Repeat([]byte("x"), 1001)
	requireAPIError(t, e.do("POST", "/api/v1/update", bearer, bytes.NewReader(big)), http.StatusRequestEntityTooLarge, CodeTooLarge)
	// Streamed without a length: the cap holds while reading, even for a
	// body that never ends.
	requireAPIError(t, e.do("POST", "/api/v1/update", bearer, io.MultiReader(bytes.NewReader(big))), http.StatusRequestEntityTooLarge, CodeTooLarge)
	requireAPIError(t, e.do("POST", "/api/v1/update", bearer, endless{}), http.StatusRequestEntityTooLarge, CodeTooLarge)
	assert.Zero(t, e.upd.Calls())
	spoolEmpty(t, e)
	// Exactly the cap is fine.
	require.Equal(t, http.StatusAccepted, e.do("POST", "/api/v1/update", bearer, io.MultiReader(bytes.NewReader(big[:1000]))).Code)
}

func TestUpdateOneAtATime(t *testing.T) {
	e := newAPIEnv(t, nil)
	bearer := e.claim()
	started, release := make(chan struct{}), make(chan struct{})
	e.upd.install = func(ctx context.Context, r io.ReaderAt, size int64) (*Installed, error) {
		close(started)
		<-release
		return &Installed{Version: "2.0", Sequence: 2, Slot: "b"}, nil
	}
	done := make(chan int)
	go func() {
		done <- e.do("POST", "/api/v1/update", bearer, strings.NewReader("first")).Code
	}()
	<-started
	requireAPIError(t, e.do("POST", "/api/v1/update", bearer, strings.NewReader("second")), http.StatusConflict, CodeUpdateInProgress)
	requireAPIError(t, e.do("POST", "/api/v1/reboot", bearer, nil), http.StatusConflict, CodeUpdateInProgress)
	rec := e.do("GET", "/api/v1/status", bearer, nil)
	assert.Contains(t, rec.Body.String(), `"updateRunning":true`)
	close(release)
	require.Equal(t, http.StatusAccepted, <-done)
	assert.Equal(t, 1, e.upd.Calls())
	assert.Equal(t, []byte("first"), e.upd.got)
	// Once done, the next one may run.
	e.upd.install = nil
	require.Equal(t, http.StatusAccepted, e.do("POST", "/api/v1/update", bearer, strings.NewReader("third")).Code)
}

func TestUpdateErrors(t *testing.T) {
	e := newAPIEnv(t, nil)
	bearer := e.claim()
	secretPath := "/data/state/incoming/update-123.spool"
	for _, c := range []struct {
		err    error
		status int
		code   string
	}{
		{&update.PolicyError{Field: "sequence", Want: "> 3", Got: "1", Err: update.ErrDowngrade}, 409, CodeDowngrade},
		{fmt.Errorf("replay of %s: %w", secretPath, update.ErrDowngrade), 409, CodeDowngrade},
		{&update.SignatureError{Signatures: 1, Err: errors.New("bad")}, 422, CodeBadPackage},
		{&update.DigestError{Name: secretPath}, 422, CodeBadPackage},
		{fmt.Errorf("%w: junk", update.ErrMalformed), 422, CodeBadPackage},
		{&update.PolicyError{Field: "product", Err: update.ErrWrongProduct}, 422, CodeWrongProduct},
		{fmt.Errorf("%w", update.ErrNoSpace), 507, CodeNoSpace},
		{fmt.Errorf("open %s: permission denied", secretPath), 500, CodeInstallFailed},
	} {
		e.upd.install = func(context.Context, io.ReaderAt, int64) (*Installed, error) { return nil, c.err }
		rec := e.do("POST", "/api/v1/update", bearer, strings.NewReader("pkg"))
		requireAPIError(t, rec, c.status, c.code)
		assert.NotContains(t, rec.Body.String(), secretPath)
		assert.NotContains(t, rec.Body.String(), "/data")
	}
	spoolEmpty(t, e)
}

func TestUpdateNotSupported(t *testing.T) {
	e := newAPIEnv(t, func(o *ServerOptions) { o.Updater = nil; o.Reboot = nil })
	bearer := e.claim()
	requireAPIError(t, e.do("POST", "/api/v1/update", bearer, strings.NewReader("x")), http.StatusNotImplemented, CodeNotSupported)
	requireAPIError(t, e.do("POST", "/api/v1/reboot", bearer, nil), http.StatusNotImplemented, CodeNotSupported)
	rec := e.do("GET", "/api/v1/status", bearer, nil)
	require.Equal(t, http.StatusOK, rec.Code)
}

func TestReboot(t *testing.T) {
	e := newAPIEnv(t, nil)
	bearer := e.claim()
	requireAPIError(t, e.do("POST", "/api/v1/reboot", "", nil), http.StatusUnauthorized, CodeUnauthorized)
	rec := e.do("POST", "/api/v1/reboot", bearer, nil)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	<-e.reboots // Reboot is called after the response
	requireAPIError(t, e.do("POST", "/api/v1/reboot", bearer, nil), http.StatusConflict, CodeUpdateInProgress)
	requireAPIError(t, e.do("POST", "/api/v1/update", bearer, strings.NewReader("x")), http.StatusConflict, CodeUpdateInProgress)
	assert.Zero(t, e.upd.Calls())
}

func TestStatus(t *testing.T) {
	last := &UpdateResult{Version: "0.9", Sequence: 0, Result: ResultBlessed, Time: apiT0}
	e := newAPIEnv(t, nil)
	e.upd.status = UpdateStatus{RunningSlot: "a", RunningVersion: "1.0", PendingSlot: "b", Last: last}
	bearer := e.claim()
	require.Equal(t, http.StatusOK, e.do("PUT", "/api/v1/license", bearer, bytes.NewReader(encodeLicense(t, e.signer, apiLicense(nil)))).Code)
	e.clock.Add(90 * time.Second)
	rec := e.do("GET", "/api/v1/status", bearer, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	var st ApplianceStatus
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &st))
	assert.Equal(t, apiProduct, st.Product)
	assert.Equal(t, "1.0", st.Version)
	assert.Equal(t, uint64(1), st.Sequence)
	assert.Equal(t, "a", st.RunningSlot)
	assert.Equal(t, "b", st.PendingSlot)
	require.NotNil(t, st.LastUpdate)
	assert.Equal(t, ResultBlessed, st.LastUpdate.Result)
	assert.Equal(t, LicenseValid, st.License.Status)
	assert.Equal(t, "Example Corp", st.License.Customer)
	assert.Equal(t, 5, st.License.Seats)
	require.NotNil(t, st.License.NotAfter)
	assert.Equal(t, apiT0.AddDate(1, 0, 0), st.License.NotAfter.UTC())
	assert.Equal(t, int64(90), st.UptimeSeconds)
	assert.Positive(t, st.Data.FreeBytes+st.Data.UsedBytes)
	assert.False(t, st.Data.Mounted, "a temp directory is no mount point")
	for _, k := range []string{`"runningSlot"`, `"pendingSlot"`, `"lastUpdate"`, `"license"`, `"data"`, `"usedBytes"`, `"freeBytes"`, `"mounted"`, `"uptimeSeconds"`, `"notAfter"`} {
		assert.Contains(t, rec.Body.String(), k)
	}
	if onLinux {
		assert.True(t, dataStatus("/").Mounted, "/ is a mount point")
	}
}

func TestSecretsStayOffConsoleAndStatus(t *testing.T) {
	e := newAPIEnv(t, nil)
	tok := e.firstRunToken()
	bearer := e.claim()
	rec := e.json("POST", "/api/v1/login", "", `{"password":"`+goodPassword+`"}`)
	require.Equal(t, http.StatusOK, rec.Code)
	var tr TokenResponse
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &tr))
	lic := encodeLicense(t, e.signer, apiLicense(nil))
	require.Equal(t, http.StatusOK, e.do("PUT", "/api/v1/license", bearer, bytes.NewReader(lic)).Code)
	e.restart()
	status := e.do("GET", "/api/v1/status", bearer, nil).Body.String()

	console := e.console.String()
	assert.Equal(t, 1, strings.Count(console, tok), "the first-run token is printed once")
	sigBlock := string(lic[bytes.Index(lic, []byte("SIGNATURE-----")):])
	sigLine := strings.Split(sigBlock, "\n")[4]
	require.Len(t, sigLine, 64)
	for _, secret := range []string{goodPassword, bearer, tr.Token, sigLine} {
		assert.NotContains(t, console, secret)
		assert.NotContains(t, status, secret)
	}
	assert.NotContains(t, status, tok)
	all := stateDirBytes(t, e.o.StateDir)
	for _, secret := range []string{goodPassword, bearer, tr.Token, tok} {
		assert.False(t, bytes.Contains(all, []byte(secret)), "state holds a secret in the clear")
	}
}

func TestServeTLS(t *testing.T) {
	e := newAPIEnv(t, nil)
	bearer := e.claim()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, ln) }()

	var peer []byte
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // trusted by fingerprint below, as an administrator would
		VerifyConnection: func(cs tls.ConnectionState) error {
			peer = cs.PeerCertificates[0].Raw
			return nil
		},
	}}}
	req, err := http.NewRequestWithContext(ctx, "GET", "https://"+ln.Addr().String()+"/api/v1/status", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	sum := sha256.Sum256(peer)
	assert.Equal(t, Fingerprint(peer), e.srv.Fingerprint())
	assert.Equal(t, strings.ToUpper(fmt.Sprintf("%x", sum[:1])), e.srv.Fingerprint()[:2])
	assert.Regexp(t, regexp.MustCompile(`admin API: https://127\.0\.0\.1:\d+  certificate sha256 `+regexp.QuoteMeta(e.srv.Fingerprint())+"\n"), e.console.String())
	client.CloseIdleConnections()

	cancel()
	require.NoError(t, <-done)
	_, err = net.DialTimeout("tcp", ln.Addr().String(), time.Second)
	assert.Error(t, err, "the listener is closed after shutdown")
}

func TestConsoleAddrs(t *testing.T) {
	assert.Equal(t, []string{"192.0.2.1:9443"}, consoleAddrs(&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 9443}))
	for _, a := range consoleAddrs(&net.TCPAddr{IP: net.IPv4zero, Port: 9443}) {
		assert.True(t, strings.HasSuffix(a, ":9443"), a)
		assert.NotContains(t, a, "127.0.0.1")
	}
	assert.Equal(t, []string{"/run/x.sock"}, consoleAddrs(&net.UnixAddr{Name: "/run/x.sock", Net: "unix"}))
}

// endless is a request body that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// failing is a request body that breaks off.
type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestUploadCutShort(t *testing.T) {
	e := newAPIEnv(t, nil)
	bearer := e.claim()
	requireAPIError(t, e.do("PUT", "/api/v1/license", bearer, failing{}), http.StatusBadRequest, CodeBadRequest)
	requireAPIError(t, e.do("POST", "/api/v1/update", bearer, failing{}), http.StatusBadRequest, CodeBadRequest)
	assert.Zero(t, e.upd.Calls())
	spoolEmpty(t, e)
}

// TestCertificateNamesTheAppliance: the hosts given when the certificate
// is first made join localhost in it; a later start keeps it unchanged.
func TestCertificateNamesTheAppliance(t *testing.T) {
	dir := t.TempDir()
	s, err := NewServer(&ServerOptions{StateDir: dir, Product: "p", CertHosts: []string{"fogdemo-5e1f0a", "10.0.2.15", "bad host", ""}})
	require.NoError(t, err)
	c, err := x509.ParseCertificate(s.Certificate().Certificate[0])
	require.NoError(t, err)
	require.Equal(t, []string{"localhost", "fogdemo-5e1f0a"}, c.DNSNames)
	require.Len(t, c.IPAddresses, 3)
	require.True(t, c.IPAddresses[2].Equal(net.ParseIP("10.0.2.15")))
	require.NoError(t, c.VerifyHostname("10.0.2.15"))

	s2, err := NewServer(&ServerOptions{StateDir: dir, Product: "p", CertHosts: []string{"other"}})
	require.NoError(t, err)
	require.Equal(t, s.Fingerprint(), s2.Fingerprint())
}
