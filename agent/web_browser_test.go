package agent

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/internal/testutil"
)

// browserUpdater is a fake Updater whose status follows its installs, safe
// for the server's goroutines.
type browserUpdater struct {
	mu sync.Mutex
	st UpdateStatus
}

func (u *browserUpdater) Install(ctx context.Context, pkg io.ReaderAt, size int64) (*Installed, error) {
	if _, err := io.Copy(io.Discard, io.NewSectionReader(pkg, 0, size)); err != nil {
		return nil, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.st.PendingSlot = "b"
	u.st.Last = &UpdateResult{Version: "2.0", Sequence: 2, Result: ResultInstalled, Time: apiT0}
	u.st.History = append(u.st.History, *u.st.Last)
	return &Installed{Version: "2.0", Sequence: 2, Slot: "b"}, nil
}

func (u *browserUpdater) Status() UpdateStatus {
	u.mu.Lock()
	defer u.mu.Unlock()
	st := u.st
	st.History = append([]UpdateResult(nil), u.st.History...)
	return st
}

// booted is what a reboot does to the fake: the pending slot runs.
func (u *browserUpdater) booted() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.st.RunningSlot, u.st.RunningVersion, u.st.PendingSlot = "b", "2.0", ""
	if u.st.Last != nil {
		u.st.Last.Result = ResultBlessed
		u.st.History[len(u.st.History)-1].Result = ResultBlessed
	}
}

// tlsAppliance serves a Server on 127.0.0.1 with its own certificate,
// through Serve as the appliance does; Reboot stops it and starts a new
// Server on the same state and address, now running version 2.0.
type tlsAppliance struct {
	t       *testing.T
	o       *ServerOptions
	console *lockedBuffer
	upd     *browserUpdater
	addr    string
	reboots atomic.Int32

	mu   sync.Mutex
	srv  *Server
	stop context.CancelFunc
	done chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

func newTLSAppliance(t *testing.T, signerPub []byte) *tlsAppliance {
	a := &tlsAppliance{t: t, console: &lockedBuffer{}, upd: &browserUpdater{st: UpdateStatus{RunningSlot: "a", RunningVersion: "1.0"}}}
	clock := newAPIClock()
	a.o = &ServerOptions{StateDir: t.TempDir(), DataDir: t.TempDir(), Product: apiProduct, Version: "1.0", Sequence: 1,
		LicensePublicKey: signerPub, Updater: a.upd, Console: a.console, Now: clock.Now,
		Support: &SupportOptions{}, Backup: &BackupOptions{Dir: t.TempDir()},
		Web:    &WebOptions{ProductName: "Acme Appliance", Colors: WebColors{Primary: "#1f6f4a"}},
		Reboot: a.reboot}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	a.addr = ln.Addr().String()
	a.start(ln)
	t.Cleanup(func() {
		a.mu.Lock()
		stop, done := a.stop, a.done
		a.mu.Unlock()
		stop()
		<-done
	})
	return a
}

func (a *tlsAppliance) start(ln net.Listener) {
	srv, err := NewServer(a.o)
	require.NoError(a.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	a.mu.Lock()
	a.srv, a.stop, a.done = srv, cancel, done
	a.mu.Unlock()
}

// reboot runs after the console's answer went out: down, then up again.
func (a *tlsAppliance) reboot() error {
	a.reboots.Add(1)
	a.mu.Lock()
	stop, done := a.stop, a.done
	a.mu.Unlock()
	stop()
	if err := <-done; err != nil {
		return err
	}
	time.Sleep(time.Second) // down for a moment, as a real reboot is
	a.upd.booted()
	o := *a.o
	o.Version, o.Sequence = "2.0", 2
	a.o = &o
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", a.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return errors.New("the address stayed taken")
	}
	a.start(ln)
	return nil
}

func (a *tlsAppliance) spki() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, err := x509.ParseCertificate(a.srv.Certificate().Certificate[0])
	require.NoError(a.t, err)
	return testutil.SPKIHash(c)
}

// TestWebBrowserFlow runs the admin's path through the console in headless
// Chromium over the agent's own TLS: first run, sign in, a license and
// its status, an update with its progress bar, the reboot and the new
// version, a support bundle download; screenshots of each page go to the
// test's artifact directory.
func TestWebBrowserFlow(t *testing.T) {
	signer := licenseSigner(t, 1)
	a := newTLSAppliance(t, pubPEM(t, signer))
	files := t.TempDir()
	lic := filepath.Join(files, "acme.lic")
	require.NoError(t, os.WriteFile(lic, encodeLicense(t, signer, apiLicense(nil)), 0o644))
	pkg := filepath.Join(files, "acme-2.0.fogupd")
	require.NoError(t, os.WriteFile(pkg, testutil.RandomBytes(7, 3<<20), 0o644))

	ctx := testutil.Browser(t, &testutil.BrowserOptions{TrustSPKI: []string{a.spki()}})
	m := tokenLine.FindStringSubmatch(a.console.String())
	require.NotNil(t, m, "no first-run token on the console")
	res := testutil.WebFlow(t, ctx, testutil.WebFlowOptions{
		BaseURL: "https://" + a.addr, FirstRunToken: m[1], Password: goodPassword,
		License: lic, Update: pkg, Reboot: true, NewVersion: "2.0", SupportBundle: true,
		RebootTimeout: time.Minute,
	})
	require.Contains(t, res.LicenseStatus, "valid")
	require.Equal(t, "2.0", res.Version)
	require.NotEmpty(t, res.Bundle)
	require.Regexp(t, `acme-appliance-2\.0-support-\d{8}T\d{6}Z\.tar\.zst$`, res.Bundle)
	for _, name := range []string{"first-run", "login", "status", "license", "status-licensed", "update", "update-installed",
		"rebooting", "status-rebooted", "support", "backup", "restore"} {
		found := false
		for _, p := range res.Screenshots {
			found = found || filepath.Base(p) == "web-"+name+".png"
		}
		require.True(t, found, "screenshot web-%s.png", name)
	}
	a.mu.Lock()
	srv := a.srv
	a.mu.Unlock()
	require.Equal(t, LicenseValid, srv.Status().License.Status)
}

// TestWebBrowserCrossSiteRefused: a page on another site that posts a
// form to the console in the signed-in admin's browser achieves nothing:
// the browser withholds the SameSite cookie and marks the post
// cross-site, and the console refuses it.
func TestWebBrowserCrossSiteRefused(t *testing.T) {
	a := newTLSAppliance(t, pubPEM(t, licenseSigner(t, 1)))
	ctx := testutil.Browser(t, &testutil.BrowserOptions{TrustSPKI: []string{a.spki()}})
	m := tokenLine.FindStringSubmatch(a.console.String())
	require.NotNil(t, m)
	testutil.WebFlow(t, ctx, testutil.WebFlowOptions{BaseURL: "https://" + a.addr, FirstRunToken: m[1], Password: goodPassword,
		Artifacts: t.TempDir()})

	target := "https://" + a.addr
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!DOCTYPE html><form id="f" method="post" action="%s%s"><input name="csrf" value="guess"></form>`+
			`<script>document.getElementById("f").submit()</script>`, target, r.URL.Path)
	}))
	defer evil.Close()
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	for _, p := range []string{"/ui/reboot", "/ui/logout"} {
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := chromedp.Do(sctx, chromedp.Navigate(evilURL+p),
			chromedp.Poll[chromedp.Void](`location.href.startsWith(`+strconv.Quote(target)+`) && document.readyState === "complete"`))
		cancel()
		require.NoError(t, err, p)
		body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		require.NoError(t, err)
		require.Contains(t, body, "Refused", p)
	}
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	require.NoError(t, chromedp.Do(sctx, chromedp.Navigate(target+"/ui/"), chromedp.WaitVisible(chromedp.CSS("#product"))),
		"still signed in")
	require.Zero(t, a.reboots.Load(), "no reboot")
}
