package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/sign"
)

// Console lines the demo appliance prints (see demoinit): the lifecycle
// test reads the appliance's state from them the way an admin at the VM
// console would.
var (
	reBanner      = `=== fogdemo (\S+) \(fogkit demo appliance\) ===`
	reToken       = `first-run token: (\S+)`
	reFingerprint = `certificate sha256 ([0-9A-F:]{95})`
	reReady       = `fogkit-demo: ready`
)

// adminClient talks to the appliance's admin API through qemu's forwarded
// port, trusting only the certificate whose fingerprint the console showed.
type adminClient struct {
	t     *testing.T
	base  string
	app   string
	token string
	http  *http.Client
}

func newAdminClient(t *testing.T, g *testutil.Guest, fingerprint string) *adminClient {
	want := strings.ReplaceAll(strings.ToLower(fingerprint), ":", "")
	tr := &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // self-signed: pinned by fingerprint below instead
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("no certificate")
			}
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if got := hex.EncodeToString(sum[:]); got != want {
				return fmt.Errorf("certificate %s, console said %s", got, want)
			}
			return nil
		},
	}}
	return &adminClient{t: t, base: fmt.Sprintf("https://127.0.0.1:%d", g.Port(9443)),
		app: fmt.Sprintf("http://127.0.0.1:%d", g.Port(8080)), http: &http.Client{Transport: tr, Timeout: 5 * time.Minute}}
}

// do sends a request and returns status and body.
func (c *adminClient) do(method, url, ctype string, body io.Reader, token string) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), method, url, body)
	require.NoError(c.t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	require.NoError(c.t, err, "%s %s", method, url)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return resp.StatusCode, b
}

func (c *adminClient) api(method, path string, v any) (int, []byte) {
	c.t.Helper()
	var body io.Reader
	ctype := ""
	if v != nil {
		b, err := json.Marshal(v)
		require.NoError(c.t, err)
		body, ctype = bytes.NewReader(b), "application/json"
	}
	return c.do(method, c.base+path, ctype, body, c.token)
}

func (c *adminClient) upload(path, file, ctype string) (int, []byte) {
	c.t.Helper()
	f, err := os.Open(file)
	require.NoError(c.t, err)
	defer f.Close()
	return c.do(http.MethodPost, c.base+path, ctype, f, c.token)
}

// waitAPI polls until the admin API answers at all.
func (c *adminClient) waitAPI(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		req, _ := http.NewRequestWithContext(c.t.Context(), http.MethodGet, c.base+"/api/v1/status", nil)
		short := &http.Client{Transport: c.http.Transport, Timeout: 10 * time.Second}
		resp, err := short.Do(req)
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("admin API not answering after %s: %v", timeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

type status struct {
	Version     string `json:"version"`
	Sequence    uint64 `json:"sequence"`
	RunningSlot string `json:"runningSlot"`
	PendingSlot string `json:"pendingSlot"`
	LastUpdate  *struct {
		Version string `json:"version"`
		Result  string `json:"result"`
	} `json:"lastUpdate"`
	License *struct {
		Status string `json:"status"`
	} `json:"license"`
	Data struct {
		Mounted bool `json:"mounted"`
	} `json:"data"`
}

func (c *adminClient) status() status {
	c.t.Helper()
	code, b := c.api(http.MethodGet, "/api/v1/status", nil)
	require.Equal(c.t, http.StatusOK, code, "%s", b)
	var s status
	require.NoError(c.t, json.Unmarshal(b, &s), "%s", b)
	return s
}

func errorCode(t *testing.T, b []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(b, &e), "%s", b)
	return e.Error.Code
}

// lifecycle holds what the steps share: the disks, the guest, the client.
type lifecycle struct {
	t          *testing.T
	dir        string
	boot, data string
	guest      *testutil.Guest
	c          *adminClient
	adminToken string
	fp         string
	step       time.Time
	boots      int
}

func lastLinesOf(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func (l *lifecycle) timed(name string) {
	l.t.Logf("lifecycle step %q: %s", name, time.Since(l.step).Round(100*time.Millisecond))
	l.step = time.Now()
}

// start boots the appliance from its disks and waits until the admin API
// answers; it returns the version the banner named.
func (l *lifecycle) start() string {
	l.t.Helper()
	l.guest = testutil.StartGuest(l.t, testutil.GuestOptions{Disks: []string{l.boot, l.data}, Forward: []int{9443, 8080},
		ForwardTo: []netip.AddrPort{staticAPI}, MemoryMB: 768})
	l.boots++
	g, n := l.guest, l.boots
	l.t.Cleanup(func() {
		g.SaveConsole(fmt.Sprintf("lifecycle-%d.console", n))
		if l.t.Failed() {
			l.t.Logf("console of guest %d:\n%s", n, lastLinesOf(g.Console(), 60))
		}
	})
	return l.awaitReady(0)
}

// awaitReady waits, from mark, for the demo's banner and ready line.
func (l *lifecycle) awaitReady(mark int) string {
	l.t.Helper()
	m, next := l.guest.MustWaitFor(mark, reBanner, 10*time.Minute)
	// A version that fails before its ready line reboots into the next
	// try: follow banners until one gets ready.
	for {
		_, readyAt, err := l.guest.WaitFor(next, regexp.MustCompile(reReady+`|`+reBanner), 5*time.Minute)
		require.NoError(l.t, err)
		seg := l.guest.Console()[next:readyAt]
		if strings.Contains(seg, "fogkit-demo: ready") {
			fp, _ := l.guest.MustWaitFor(mark, reFingerprint, time.Second)
			l.fp = fp[1]
			l.c = newAdminClient(l.t, l.guest, l.fp)
			l.c.token = l.adminToken
			l.c.waitAPI(2 * time.Minute)
			return m[1]
		}
		m = regexp.MustCompile(reBanner).FindStringSubmatch(seg)
		next = readyAt
	}
}

func TestLifecycle(t *testing.T) {
	kernel, _, _ := testutil.DriverKernel(t)
	qemuImg := testutil.RequireTool(t, "qemu-img")
	testutil.RequireTool(t, "qemu-system-x86_64")
	testutil.RequireTool(t, "fsck.fat")
	dir := t.TempDir()
	l := &lifecycle{t: t, dir: dir, step: time.Now()}
	keys := filepath.Join(dir, "keys")
	epoch := strconv.FormatInt(testEpoch(), 10)
	build := func(version, seq, prev string, extra ...string) runResult {
		args := []string{"-keys", keys, "-kernel", kernel, "-version", version, "-seq", seq, "-data-size", "1G", "-epoch", epoch}
		if prev != "" {
			args = append(args, "-previous", prev)
		}
		return runPipeline(t, filepath.Join(dir, "v"+seq), append(args, extra...)...)
	}
	v1 := build("1.0.0", "1", "")
	v2 := build("2.0.0", "2", v1.out)
	// v3's /init exits before it blesses its boot entry.
	v3 := build("3.0.0", "3", v2.out, "-cmdline", "console=tty0 console=ttyS0 fogkit.demo.fail")
	l.timed("build v1, v2, v3")

	l.boot, l.data = filepath.Join(dir, "boot.raw"), filepath.Join(dir, "data.raw")
	testutil.MustRun(t, dir, nil, qemuImg, "convert", "-O", "raw", filepath.Join(v1.out, "fogdemo-boot.vmdk"), l.boot)
	testutil.MustRun(t, dir, nil, qemuImg, "convert", "-O", "raw", filepath.Join(v1.out, "fogdemo-data.vmdk"), l.data)

	// 1. First boot: the token is on the console only.
	require.Equal(t, "1.0.0", l.start())
	l.timed("boot v1 to API ready")
	tok, _ := l.guest.MustWaitFor(0, reToken, time.Second)
	code, body := l.c.api(http.MethodGet, "/api/v1/status", nil)
	require.Equal(t, http.StatusForbidden, code, "%s", body)
	require.Equal(t, "first_run_required", errorCode(t, body))
	code, body = l.c.api(http.MethodPost, "/api/v1/first-run", map[string]string{"token": tok[1], "password": "correct horse battery staple"})
	require.Equal(t, http.StatusOK, code, "%s", body)
	var claimed struct {
		Token string `json:"token"`
	}
	require.NoError(t, json.Unmarshal(body, &claimed))
	l.adminToken, l.c.token = claimed.Token, claimed.Token
	require.NotContains(t, l.guest.Console(), claimed.Token, "the admin token never reaches the console")

	lic := issueLicense(t, keys, dir, "lic1", 1, time.Now().Add(365*24*time.Hour))
	code, body = l.c.do(http.MethodPut, l.c.base+"/api/v1/license", "application/octet-stream", bytes.NewReader(lic), l.c.token)
	require.Equal(t, http.StatusOK, code, "%s", body)
	code, body = l.c.do(http.MethodPost, l.c.app+"/notes", "text/plain", strings.NewReader("note from v1"), "")
	require.Equal(t, http.StatusOK, code, "%s", body)
	s := l.c.status()
	require.Equal(t, "1.0.0", s.Version)
	require.True(t, s.Data.Mounted)
	l.timed("first run, license, note")

	// 2. v2, a diff from v1: installed beside v1, blessed after the reboot.
	code, body = l.c.upload("/api/v1/update", filepath.Join(v2.out, "fogdemo-1.0.0-to-2.0.0.fup"), "application/octet-stream")
	require.Equal(t, http.StatusAccepted, code, "%s", body)
	require.Contains(t, string(body), `"2.0.0"`)
	l.timed("upload and install v2")
	mark := l.guest.Mark()
	code, body = l.c.api(http.MethodPost, "/api/v1/reboot", nil)
	require.Equal(t, http.StatusAccepted, code, "%s", body)
	require.Equal(t, "2.0.0", l.awaitReady(mark))
	l.guest.MustWaitFor(mark, `update: 2\.0\.0 blessed`, 2*time.Minute)
	l.timed("reboot to v2 blessed")
	s = l.c.status()
	require.Equal(t, "2.0.0", s.Version)
	require.NotNil(t, s.LastUpdate)
	require.Equal(t, "blessed", s.LastUpdate.Result)
	l.requireNote("note from v1")

	// 3. v3 never blesses: the loader counts its tries down and boots v2.
	code, body = l.c.upload("/api/v1/update", filepath.Join(v3.out, "fogdemo-2.0.0-to-3.0.0.fup"), "application/octet-stream")
	require.Equal(t, http.StatusAccepted, code, "%s", body)
	mark = l.guest.Mark()
	code, _ = l.c.api(http.MethodPost, "/api/v1/reboot", nil)
	require.Equal(t, http.StatusAccepted, code)
	require.Equal(t, "2.0.0", l.awaitReady(mark))
	require.GreaterOrEqual(t, strings.Count(l.guest.Console()[mark:], "=== fogdemo 3.0.0"), 1, "v3 was tried")
	l.guest.MustWaitFor(mark, `update: 3\.0\.0 failed`, 2*time.Minute)
	l.timed("fallback after v3")
	s = l.c.status()
	require.Equal(t, "2.0.0", s.Version)
	require.Equal(t, "failed", s.LastUpdate.Result)
	require.Equal(t, "3.0.0", s.LastUpdate.Version)
	l.requireNote("note from v1")

	// 4. Power cuts during an install, at two points: while the package is
	// staged on the data disk (the ESP is untouched and read-only), and in
	// the middle of the ESP writes. The next boot runs v2 either way, with
	// nothing pending, and the ESP is clean.
	for i, point := range []string{`update: apply stage 1/`, `update: esp: install slot 3: 1/4`} {
		mark = l.guest.Mark()
		done := make(chan struct{})
		go func() {
			defer close(done)
			// The upload's connection dies with the guest.
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, l.c.base+"/api/v1/update",
				mustOpen(t, filepath.Join(v3.out, "fogdemo-2.0.0-to-3.0.0.fup")))
			req.Header.Set("Authorization", "Bearer "+l.c.token)
			req.Header.Set("Content-Type", "application/octet-stream")
			if resp, err := l.c.http.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		l.guest.MustWaitFor(mark, regexp.QuoteMeta(point), 5*time.Minute)
		l.guest.Kill()
		<-done
		if i == 0 {
			l.requireESPClean() // the ESP was read-only when the power went
		}
		require.Equal(t, "2.0.0", l.start(), "power cut at %q", point)
		s = l.c.status()
		require.Equal(t, "2.0.0", s.Version)
		require.Empty(t, s.PendingSlot)
		l.requireNote("note from v1")
		l.timed("power cut at " + point)
	}
	// The boot after the cut cleaned the ESP up: at rest it is clean.
	l.guest.Kill()
	l.requireESPClean()
	require.Equal(t, "2.0.0", l.start())

	// 5. Replaying v1's package is refused; a wrong token gets 401.
	before := l.c.status()
	code, body = l.c.upload("/api/v1/update", filepath.Join(v1.out, "fogdemo-1.0.0-full.fup"), "application/octet-stream")
	require.Equal(t, http.StatusConflict, code, "%s", body)
	require.Equal(t, "downgrade", errorCode(t, body))
	require.Equal(t, before, l.c.status())
	code, body = l.c.do(http.MethodGet, l.c.base+"/api/v1/status", "", nil, "not-the-token")
	require.Equal(t, http.StatusUnauthorized, code, "%s", body)
	l.timed("replay and bad token")

	// 6. Support and backup on A. The vendor opens the support bundle with
	// the support key; the admin's token is not in it. The backup of the
	// notes is taken with the customer's passphrase and verifies offline.
	aNotes := l.notes()
	require.Contains(t, aNotes, "note from v1")
	bundle := l.download(http.MethodGet, "/api/v1/support-bundle", nil, "bundle.tar.zst.gpg")
	opened := filepath.Join(dir, "bundle")
	res := testutil.Run(t, "", nil, bins["support"], "-key", filepath.Join(keys, sign.SupportKeyFile), "-x", opened, bundle)
	require.Equal(t, 0, res.ExitCode, "support: %s%s", res.Stdout, res.Stderr)
	for _, f := range []string{"fogkit/status.json", "system/kernel.log"} {
		require.FileExists(t, filepath.Join(opened, f))
		require.Contains(t, string(res.Stdout), f)
	}
	st, err := os.ReadFile(filepath.Join(opened, "fogkit/status.json"))
	require.NoError(t, err)
	require.Contains(t, string(st), `"version": "2.0.0"`)
	require.Contains(t, string(st), `"result": "failed"`, "the update history reaches the vendor")
	requireTreeLacks(t, opened, l.c.token)
	passFile := filepath.Join(dir, "backup.pass")
	require.NoError(t, os.WriteFile(passFile, []byte(backupPassphrase+"\n"), 0o600))
	bk := l.download(http.MethodPost, "/api/v1/backup", map[string]string{"passphrase": backupPassphrase}, "a.fogbak")
	res = testutil.Run(t, "", nil, bins["backup"], "verify", "-passphrase-file", passFile, bk)
	require.Equal(t, 0, res.ExitCode, "backup verify: %s%s", res.Stdout, res.Stderr)
	require.Contains(t, string(res.Stdout), "fogdemo 2.0.0")
	l.timed("support bundle and backup on A")

	// 7. A short license: the app answers 402 once it has expired.
	short := issueLicense(t, keys, dir, "lic2", 2, time.Now().Add(45*time.Second))
	code, body = l.c.do(http.MethodPut, l.c.base+"/api/v1/license", "application/octet-stream", bytes.NewReader(short), l.c.token)
	require.Equal(t, http.StatusOK, code, "%s", body)
	code, _ = l.c.do(http.MethodGet, l.c.app+"/", "", nil, "")
	require.Equal(t, http.StatusOK, code)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		code, body = l.c.do(http.MethodGet, l.c.app+"/", "", nil, "")
		if code == http.StatusPaymentRequired {
			break
		}
		require.True(t, time.Now().Before(deadline), "still %d after the license expired: %s", code, body)
		time.Sleep(2 * time.Second)
	}
	require.Equal(t, "license_expired", errorCode(t, body))
	l.timed("license expiry")
	l.guest.SaveConsole("lifecycle.console")

	// 8. A fresh appliance B from the disks of the OVA A came from (v1).
	// Its admin uses the web console in headless Chromium: first run with
	// the console's token, then a license. B gets a note of its own; A's
	// backup, made by v2, is refused as a downgrade. Back in the browser:
	// sign in, upload v2 with the progress bar to 100 %, reboot, see v2,
	// download a support bundle (which the vendor opens). Then a backup
	// with one flipped byte is refused and B's notes stay; A's backup
	// restores, and B's notes are A's.
	l.guest.Kill()
	l.boot, l.data = filepath.Join(dir, "b-boot.raw"), filepath.Join(dir, "b-data.raw")
	testutil.MustRun(t, dir, nil, qemuImg, "convert", "-O", "raw", filepath.Join(v1.out, "fogdemo-boot.vmdk"), l.boot)
	testutil.MustRun(t, dir, nil, qemuImg, "convert", "-O", "raw", filepath.Join(v1.out, "fogdemo-data.vmdk"), l.data)
	l.adminToken = ""
	require.Equal(t, "1.0.0", l.start())
	l.timed("boot fresh B")
	tok, _ = l.guest.MustWaitFor(0, reToken, time.Second)
	const bPass = "another horse battery staple"
	issueLicense(t, keys, dir, "lic3", 3, time.Now().Add(365*24*time.Hour))
	browser := testutil.Browser(t, &testutil.BrowserOptions{TrustSPKI: []string{l.spki()}})
	web := testutil.WebFlow(t, browser, testutil.WebFlowOptions{BaseURL: l.c.base, FirstRunToken: tok[1], Password: bPass,
		License: filepath.Join(dir, "lic3.lic")})
	require.Contains(t, web.LicenseStatus, "valid")
	code, body = l.c.api(http.MethodPost, "/api/v1/login", map[string]string{"password": bPass})
	require.Equal(t, http.StatusOK, code, "%s", body)
	require.NoError(t, json.Unmarshal(body, &claimed))
	l.adminToken, l.c.token = claimed.Token, claimed.Token
	code, body = l.c.do(http.MethodPost, l.c.app+"/notes", "text/plain", strings.NewReader("note from B"), "")
	require.Equal(t, http.StatusOK, code, "%s", body)
	bNotes := l.notes()
	good, err := os.ReadFile(bk)
	require.NoError(t, err)
	code, body = l.restore(good)
	require.Equal(t, http.StatusConflict, code, "%s", body)
	require.Equal(t, "downgrade", errorCode(t, body), "v1 refuses v2's backup")
	require.Equal(t, bNotes, l.notes())
	l.timed("B: first run and license in the browser, downgrade refused")
	mark = l.guest.Mark()
	// A new browser, as an admin coming back later: it signs in.
	browser = testutil.Browser(t, &testutil.BrowserOptions{TrustSPKI: []string{l.spki()}})
	web = testutil.WebFlow(t, browser, testutil.WebFlowOptions{BaseURL: l.c.base, Password: bPass,
		Update: filepath.Join(v2.out, "fogdemo-1.0.0-to-2.0.0.fup"), Reboot: true, NewVersion: "2.0.0",
		SupportBundle: true, RebootTimeout: 10 * time.Minute})
	require.Equal(t, "2.0.0", web.Version)
	l.guest.MustWaitFor(mark, `update: 2\.0\.0 blessed`, 2*time.Minute)
	require.Equal(t, "2.0.0", l.awaitReady(mark))
	res = testutil.Run(t, "", nil, bins["support"], "-key", filepath.Join(keys, sign.SupportKeyFile), web.Bundle)
	require.Equal(t, 0, res.ExitCode, "support: %s%s", res.Stdout, res.Stderr)
	require.Contains(t, string(res.Stdout), "fogkit/status.json")
	l.timed("B: update to v2, reboot and support bundle in the browser")

	damaged, err := os.ReadFile(bk)
	require.NoError(t, err)
	damaged[len(damaged)/2] ^= 0x01
	code, body = l.restore(damaged)
	require.Equal(t, http.StatusUnprocessableEntity, code, "%s", body)
	require.Equal(t, "bad_backup", errorCode(t, body))
	require.Equal(t, bNotes, l.notes(), "a refused restore leaves B's data as it was")
	code, body = l.restore(good)
	require.Equal(t, http.StatusOK, code, "%s", body)
	require.Contains(t, string(body), `"sequence":2`)
	require.Equal(t, aNotes, l.notes(), "B holds A's notes")
	l.timed("restore A's backup into B")

	// 9. The console menu on B's serial console: reset the admin password
	// (typed with echo off, so it is not on the console), sign in with the
	// new one; then a static address, where the API answers.
	mark = l.guest.Mark()
	l.guest.Type("\n")
	l.guest.MustWaitFor(mark, `Choose: `, time.Minute)
	l.guest.Type("2\n")
	l.guest.MustWaitFor(mark, `New admin password`, time.Minute)
	const resetPass = "reset at the console 2026"
	l.guest.Type(resetPass + "\n")
	l.guest.MustWaitFor(mark, `The same again`, time.Minute)
	l.guest.Type(resetPass + "\n")
	l.guest.MustWaitFor(mark, `The admin password is reset`, time.Minute)
	require.NotContains(t, l.guest.Console(), resetPass, "the password is not echoed")
	code, _ = l.c.api(http.MethodGet, "/api/v1/status", nil)
	require.Equal(t, http.StatusUnauthorized, code, "the reset signs every session out")
	code, body = l.c.api(http.MethodPost, "/api/v1/login", map[string]string{"password": resetPass})
	require.Equal(t, http.StatusOK, code, "%s", body)
	require.NoError(t, json.Unmarshal(body, &claimed))
	l.c.token = claimed.Token

	mark = l.guest.Mark()
	l.guest.Type("1\n")
	l.guest.MustWaitFor(mark, `d\) DHCP, s\) static`, time.Minute)
	l.guest.Type("s\n")
	l.guest.MustWaitFor(mark, `Address with prefix length`, time.Minute)
	l.guest.Type(staticAPI.Addr().String() + "/24\n")
	l.guest.MustWaitFor(mark, `Gateway`, time.Minute)
	l.guest.Type("10.0.2.2\n")
	l.guest.MustWaitFor(mark, `DNS servers`, time.Minute)
	l.guest.Type("10.0.2.3\n")
	l.guest.MustWaitFor(mark, `Network: \S+ `+regexp.QuoteMeta(staticAPI.Addr().String())+`/24 via static`, time.Minute)
	l.c.base = fmt.Sprintf("https://127.0.0.1:%d", l.guest.PortTo(staticAPI))
	s = l.c.status()
	require.Equal(t, "2.0.0", s.Version, "the API answers at the static address")
	l.timed("console menu: password reset and static address")
	l.guest.SaveConsole("lifecycle-b.console")
}

// staticAPI is where the console menu test moves the appliance's API: a
// static address on qemu's user network.
var staticAPI = netip.MustParseAddrPort("10.0.2.20:9443")

const backupPassphrase = "customer-chosen backup passphrase"

// spki is the admin API certificate's SPKI hash, for the browser to trust
// that certificate and no other.
func (l *lifecycle) spki() string {
	l.t.Helper()
	conn, err := tls.Dial("tcp", strings.TrimPrefix(l.c.base, "https://"), &tls.Config{InsecureSkipVerify: true})
	require.NoError(l.t, err)
	defer conn.Close()
	certs := conn.ConnectionState().PeerCertificates
	require.NotEmpty(l.t, certs)
	sum := sha256.Sum256(certs[0].Raw)
	require.Equal(l.t, strings.ReplaceAll(strings.ToLower(l.fp), ":", ""), hex.EncodeToString(sum[:]), "the certificate the console named")
	return testutil.SPKIHash(certs[0])
}

// notes returns the demo app's notes.
func (l *lifecycle) notes() string {
	l.t.Helper()
	code, body := l.c.do(http.MethodGet, l.c.app+"/notes", "", nil, "")
	require.Equal(l.t, http.StatusOK, code, "%s", body)
	return string(body)
}

// download saves what an admin API endpoint streams back into dir/name.
func (l *lifecycle) download(method, path string, v any, name string) string {
	l.t.Helper()
	code, body := l.c.api(method, path, v)
	require.Equal(l.t, http.StatusOK, code, "%s", body)
	p := filepath.Join(l.dir, name)
	require.NoError(l.t, os.WriteFile(p, body, 0o600))
	return p
}

// restore uploads a backup with the customer's passphrase.
func (l *lifecycle) restore(b []byte) (int, []byte) {
	l.t.Helper()
	req, err := http.NewRequestWithContext(l.t.Context(), http.MethodPost, l.c.base+"/api/v1/restore", bytes.NewReader(b))
	require.NoError(l.t, err)
	req.Header.Set("Authorization", "Bearer "+l.c.token)
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Fogkit-Backup-Passphrase", backupPassphrase)
	resp, err := l.c.http.Do(req)
	require.NoError(l.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(l.t, err)
	return resp.StatusCode, body
}

// requireTreeLacks fails if any file under dir contains secret.
func requireTreeLacks(t *testing.T, dir, secret string) {
	t.Helper()
	require.NotEmpty(t, secret)
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		require.NotContains(t, string(b), secret, p)
		return err
	}))
}

func mustOpen(t *testing.T, path string) *os.File {
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

func (l *lifecycle) requireNote(note string) {
	l.t.Helper()
	code, body := l.c.do(http.MethodGet, l.c.app+"/notes", "", nil, "")
	require.Equal(l.t, http.StatusOK, code, "%s", body)
	require.Contains(l.t, string(body), note)
}

// requireESPClean runs fsck.fat -n on the boot disk's ESP.
func (l *lifecycle) requireESPClean() {
	l.t.Helper()
	esp := filepath.Join(l.dir, "esp.img")
	extractESP(l.t, l.boot, esp)
	testutil.MustRun(l.t, l.dir, nil, "fsck.fat", "-n", esp)
	require.NoError(l.t, os.Remove(esp))
}

// issueLicense issues a license for the demo product with the build's key.
func issueLicense(t *testing.T, keys, dir, name string, seq int, expires time.Time) []byte {
	out := filepath.Join(dir, name+".lic")
	testutil.MustRun(t, dir, nil, bins["license"], "issue", "-key", filepath.Join(keys, sign.LicenseKeyFile),
		"-product", "fogdemo", "-customer", "acme", "-name", "ACME Corp", "-sequence", strconv.Itoa(seq),
		"-issued", time.Now().Add(-time.Minute).UTC().Format(time.RFC3339),
		"-expires", expires.UTC().Format(time.RFC3339), "-o", out)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	return b
}

// extractESP copies the ESP partition of a raw boot disk into its own file.
func extractESP(t *testing.T, bootDisk, out string) {
	t.Helper()
	f, err := os.Open(bootDisk)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	im, err := disk.Open(f, st.Size())
	require.NoError(t, err)
	require.NotEmpty(t, im.Layout.Partitions)
	p := im.Layout.Partitions[0]
	w, err := os.Create(out)
	require.NoError(t, err)
	defer w.Close()
	_, err = io.Copy(w, io.NewSectionReader(f, p.Offset, p.Size))
	require.NoError(t, err)
}
