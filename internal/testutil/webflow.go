package testutil

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// WebFlowOptions is what WebFlow does on an appliance's web console. It
// speaks to the console only through its pages (URLs, element ids), so
// the same flow runs against an in-process agent and a booted appliance.
type WebFlowOptions struct {
	// BaseURL is the console's origin, e.g. https://192.0.2.10:9443.
	BaseURL string `json:"baseUrl"`
	// FirstRunToken, when set, claims the appliance with it (the token the
	// VM console shows); otherwise the flow signs in.
	FirstRunToken string `json:"-"`
	// Password is the admin password (set by first run, or to sign in).
	Password string `json:"-"`
	// License, when set, is a license file uploaded on the license page;
	// the status page must then show a valid license.
	License string `json:"license,omitempty"`
	// Update, when set, is an update package uploaded with the progress
	// bar, which must reach 100 % and show the installed version.
	Update string `json:"update,omitempty"`
	// Reboot reboots after the update; the status page must then come
	// back showing NewVersion.
	Reboot     bool   `json:"reboot,omitempty"`
	NewVersion string `json:"newVersion,omitempty"`
	// SupportBundle downloads a support bundle (the vendor's encrypted one
	// when the page offers it, else the readable one).
	SupportBundle bool `json:"supportBundle,omitempty"`
	// Artifacts is where the screenshots go (web-<page>.png); "" means
	// ArtifactDir(t).
	Artifacts string `json:"artifacts,omitempty"`
	// RebootTimeout bounds the wait for the appliance to come back; 0
	// means five minutes.
	RebootTimeout time.Duration `json:"rebootTimeout,omitempty"`
}

// cspRecorder runs before each document's own scripts and keeps what the
// content security policy blocked.
const cspRecorder = `window.__fogkitCSP = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__fogkitCSP.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});`

// CSPViolations returns what the content security policy blocked on the
// current page since it loaded (recorded only in a WebFlow's browser).
func CSPViolations(t testing.TB, ctx context.Context) []string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__fogkitCSP || []`))
	if err != nil {
		t.Fatalf("reading the page's policy violations: %v", err)
	}
	return v
}

// WebFlowResult is what the flow saw and saved.
type WebFlowResult struct {
	// Screenshots are the paths of the saved screenshots, in order.
	Screenshots []string `json:"screenshots"`
	// LicenseStatus is the status page's license line after the upload.
	LicenseStatus string `json:"licenseStatus,omitempty"`
	// Version is the status page's version after the reboot.
	Version string `json:"version,omitempty"`
	// Bundle is the downloaded support bundle's path.
	Bundle string `json:"bundle,omitempty"`
}

// WebFlow drives the admin's path through the web console in the browser
// of ctx (see Browser): first run or sign in, sign out and in again, a
// license upload and its status, an update with its progress bar, a
// reboot and the new version, a support bundle download, with a
// screenshot of each page. It fails t at the first step that does not
// show what it should.
func WebFlow(t testing.TB, ctx context.Context, o WebFlowOptions) *WebFlowResult {
	t.Helper()
	dir := o.Artifacts
	if dir == "" {
		dir = ArtifactDir(t)
	}
	res := &WebFlowResult{}
	base := strings.TrimSuffix(o.BaseURL, "/")
	// failed keeps what the browser showed for the CI log and artifacts.
	failed := func(what string, err error) {
		t.Helper()
		fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if loc, lerr := chromedp.Run(fctx, chromedp.Location()); lerr == nil {
			t.Logf("web console: the browser is at %s", loc)
		}
		if body, berr := chromedp.Run(fctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`)); berr == nil {
			t.Logf("web console: the page reads:\n%s", body)
		}
		if png, serr := chromedp.Run(fctx, chromedp.FullScreenshot(100)); serr == nil {
			os.WriteFile(filepath.Join(dir, "web-failed.png"), png, 0o644)
		}
		t.Fatalf("web console: %s: %v", what, err)
	}
	stepFor := func(d time.Duration, what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			failed(what, err)
		}
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		stepFor(time.Minute, what, actions...)
	}
	text := func(sel string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("web console: reading %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	// Every page must keep to its content security policy: a blocked
	// script, style or image is a broken page.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: cspRecorder}); err != nil {
		t.Fatalf("web console: %v", err)
	}
	shot := func(name string) {
		t.Helper()
		res.Screenshots = append(res.Screenshots, Screenshot(t, ctx, dir, "web-"+name+".png"))
		if v := CSPViolations(t, ctx); len(v) > 0 {
			failed(name+" page", fmt.Errorf("content security policy violations: %s", strings.Join(v, "; ")))
		}
	}
	signIn := func() {
		t.Helper()
		step("sign in",
			chromedp.Navigate(base+"/ui/login"),
			chromedp.WaitVisible(chromedp.CSS("#password")))
		shot("login")
		step("sign in",
			chromedp.SendKeys(chromedp.CSS("#password"), o.Password),
			chromedp.Click(chromedp.CSS("#submit")),
			chromedp.WaitVisible(chromedp.CSS("#product")))
	}

	if o.FirstRunToken != "" {
		step("first run page",
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(chromedp.CSS("#token")))
		shot("first-run")
		step("first run",
			chromedp.SendKeys(chromedp.CSS("#token"), o.FirstRunToken),
			chromedp.SendKeys(chromedp.CSS("#password"), o.Password),
			chromedp.SendKeys(chromedp.CSS("#confirm"), o.Password),
			chromedp.Click(chromedp.CSS("#submit")),
			chromedp.WaitVisible(chromedp.CSS("#product")))
		shot("status-first")
		step("sign out",
			chromedp.Click(chromedp.CSS("form.logout button")),
			chromedp.WaitVisible(chromedp.CSS("#notice")))
	}
	signIn()
	shot("status")

	if o.License != "" {
		step("license page",
			chromedp.Navigate(base+"/ui/license"),
			chromedp.WaitVisible(chromedp.CSS("#license")))
		shot("license")
		step("license upload",
			chromedp.SetUploadFiles(chromedp.CSS("#license"), []string{o.License}),
			chromedp.Click(chromedp.CSS("#submit")),
			chromedp.WaitVisible(chromedp.CSS("#notice")))
		shot("license-installed")
		step("status after the license",
			chromedp.Navigate(base+"/ui/"),
			chromedp.WaitVisible(chromedp.CSS("#license-status")))
		res.LicenseStatus = text("#license-status")
		if !strings.HasPrefix(res.LicenseStatus, "valid") {
			t.Fatalf("web console: license status after the upload is %q, want valid", res.LicenseStatus)
		}
		shot("status-licensed")
	}

	if o.Update != "" {
		step("update page",
			chromedp.Navigate(base+"/ui/update"),
			chromedp.WaitVisible(chromedp.CSS("#package")))
		shot("update")
		stepFor(10*time.Minute, "update upload",
			chromedp.SetUploadFiles(chromedp.CSS("#package"), []string{o.Update}),
			chromedp.Click(chromedp.CSS("#submit")),
			// The bar is the page's own: it must reach 100 % and the
			// result must replace the form's outcome in place.
			chromedp.Poll[chromedp.Void](`document.getElementById("progress") !== null && !document.getElementById("progress").hidden && document.getElementById("progress").value === 100 && document.getElementById("installed") !== null`,
				chromedp.WithPollingTimeout(10*time.Minute)),
		)
		if p := text("#progress-text"); !strings.HasPrefix(p, "100 %") {
			t.Fatalf("web console: progress reads %q after the upload, want 100 %%", p)
		}
		shot("update-installed")
		if o.Reboot {
			step("reboot",
				chromedp.Click(chromedp.CSS("#reboot")),
				chromedp.WaitVisible(chromedp.CSS("#reboot-state")))
			shot("rebooting")
			timeout := o.RebootTimeout
			if timeout <= 0 {
				timeout = 5 * time.Minute
			}
			rctx, cancel := context.WithTimeout(ctx, timeout)
			// The page's script polls until the appliance answers from a
			// new start and then opens the status page.
			err := chromedp.Do(rctx, chromedp.WaitVisible(chromedp.CSS("#product")))
			cancel()
			if err != nil {
				t.Fatalf("web console: the status page did not come back after the reboot: %v", err)
			}
			res.Version = text("#version")
			if o.NewVersion != "" && res.Version != o.NewVersion {
				t.Fatalf("web console: version after the reboot is %q, want %q", res.Version, o.NewVersion)
			}
			shot("status-rebooted")
		}
	}

	if o.SupportBundle {
		step("support page",
			chromedp.Navigate(base+"/ui/support"),
			chromedp.WaitVisible(chromedp.CSS("#bundle-plain")))
		shot("support")
		sel := "#bundle-plain"
		if n, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("bundle") !== null`)); err == nil && n {
			sel = "#bundle"
		}
		res.Bundle = Download(t, ctx, sel, t.TempDir(), 5*time.Minute)
		if st, err := os.Stat(res.Bundle); err != nil || st.Size() == 0 {
			t.Fatalf("web console: the support bundle %s is missing or empty", res.Bundle)
		}
		t.Logf("support bundle: %s", res.Bundle)
	}

	for _, p := range []string{"backup", "restore"} {
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		has, err := chromedp.Run(sctx, chromedp.Evaluate[bool](`document.querySelector('nav a[href="/ui/`+p+`"]') !== null`))
		cancel()
		if err != nil || !has {
			continue
		}
		step(p+" page",
			chromedp.Navigate(base+"/ui/"+p),
			chromedp.WaitVisible(chromedp.CSS("#submit")))
		shot(p)
	}
	return res
}
