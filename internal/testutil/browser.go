package testutil

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// BrowserOptions configures Browser. nil means a browser that trusts no
// extra certificate.
type BrowserOptions struct {
	// TrustSPKI are base64 SHA-256 hashes of the SubjectPublicKeyInfo of
	// certificates the browser accepts although no CA signed them (the
	// appliance's self-signed one; see SPKIHash). Other certificate
	// errors still fail.
	TrustSPKI []string `json:"trustSpki,omitempty"`
	// Width and Height are the window's size; 0 means 1280×900.
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
}

// Browser starts headless Chromium (Debian's chromium package) for the
// test and returns a chromedp context on a fresh tab; the browser stops
// when the test ends. It skips the test when chromium is missing (fails
// it under FOGKIT_INTEROP=require).
func Browser(t testing.TB, o *BrowserOptions) context.Context {
	t.Helper()
	exe := RequireTool(t, "chromium")
	if o == nil {
		o = &BrowserOptions{}
	}
	w, h := o.Width, o.Height
	if w <= 0 || h <= 0 {
		w, h = 1280, 900
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(w, h),
		chromedp.Flag("disable-gpu", true),
	)
	if os.Geteuid() == 0 {
		// Chromium's sandbox refuses to run as root (CI containers).
		opts = append(opts, chromedp.NoSandbox)
	}
	if len(o.TrustSPKI) > 0 {
		opts = append(opts, chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(o.TrustSPKI, ",")))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first call starts the browser; it must not carry a deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// SPKIHash is what BrowserOptions.TrustSPKI takes for cert.
func SPKIHash(cert *x509.Certificate) string {
	h := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(h[:])
}

// ArtifactDir is where a test saves files for CI to keep (screenshots):
// $FOGKIT_ARTIFACTS/<test name> when set, else the test's artifact
// directory (go test -artifacts keeps it under -outputdir), else a
// temporary directory.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	if root := os.Getenv("FOGKIT_ARTIFACTS"); root != "" {
		dir := filepath.Join(root, regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatalf("artifact directory: %v", err)
		}
		return dir
	}
	if a, ok := t.(interface{ ArtifactDir() string }); ok {
		return a.ArtifactDir()
	}
	return t.TempDir()
}

// Screenshot saves the whole page as dir/name (a .png) and logs where.
func Screenshot(t testing.TB, ctx context.Context, dir, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	t.Logf("screenshot: %s", p)
	return p
}

// Download clicks the link sel and waits (up to timeout) for the file it
// downloads to be complete in dir; it returns the file's path, named as
// the server suggested.
func Download(t testing.TB, ctx context.Context, sel, dir string, timeout time.Duration) string {
	t.Helper()
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: ptrTo(true),
	}); err != nil {
		t.Fatalf("download behaviour: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	begins := chromedp.BrowserEvents(wctx, browser.DownloadWillBegin)
	progress := chromedp.BrowserEvents(wctx, browser.DownloadProgress)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("clicking %s: %v", sel, err)
	}
	var name, guid string
	for ev, err := range begins {
		if err != nil {
			t.Fatalf("waiting for the download of %s: %v", sel, err)
		}
		name, guid = ev.SuggestedFilename, ev.GUID
		break
	}
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("downloading %s: %v", name, err)
		}
		if ev.GUID != guid {
			continue
		}
		switch ev.State {
		case browser.DownloadProgressStateCompleted:
			p := filepath.Join(dir, filepath.Base(name))
			if err := os.Rename(filepath.Join(dir, guid), p); err != nil {
				t.Fatalf("download %s: %v", name, err)
			}
			return p
		case browser.DownloadProgressStateCanceled:
			t.Fatalf("download %s was cancelled (cut short by the server?)", name)
		}
	}
	t.Fatalf("download of %s did not complete", sel)
	return ""
}

func ptrTo[T any](v T) *T { return &v }
