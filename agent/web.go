package agent

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"
)

// The console's templates, style sheet, script and default logo: compiled
// in, since the appliance is offline and the console loads nothing from
// anywhere but its own origin.
//
//go:embed web
var webFiles embed.FS

// webCSP allows the console's own script, style sheet and images and
// nothing else: no inline script or style, no framing, forms only to
// itself.
const webCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// webConsole is the admin's web face of the Server: every action goes
// through the same Server methods as the JSON API (firstRun, login,
// installLicense, installUpdate, startReboot, writeSupportBundle,
// writeBackup, restore, logout), behind the same session store and
// backoff.
type webConsole struct {
	s        *Server
	name     string
	logo     []byte
	logoType string
	theme    []byte
	pages    map[string]*template.Template
	routes   map[string]webRoute

	keyOnce sync.Once
	key     []byte // HMAC key of the CSRF tokens and the boot id
	keyErr  error
}

// webRoute is one console page: get shows it, post acts; auth pages need
// a session.
type webRoute struct {
	get, post func(w http.ResponseWriter, r *http.Request, sess *webSession)
	auth      bool
}

// newWebConsole returns nil when o disables the console.
func newWebConsole(s *Server, o *WebOptions) (*webConsole, error) {
	if o == nil {
		o = &WebOptions{}
	}
	if o.Disabled {
		return nil, nil
	}
	c := &webConsole{s: s, name: o.ProductName, logo: o.Logo, logoType: o.LogoType}
	if c.name == "" {
		c.name = s.o.Product
	}
	if len(c.logo) == 0 {
		b, err := webFiles.ReadFile("web/logo.svg")
		if err != nil {
			return nil, fmt.Errorf("%w: the console's default logo: %w", ErrConfig, err)
		}
		c.logo, c.logoType = b, "svg"
	}
	c.theme = themeCSS(o.Colors)
	c.pages = map[string]*template.Template{}
	for _, p := range []string{"first-run", "login", "status", "license", "update", "rebooting", "support", "backup", "restore", "message"} {
		t, err := template.New("layout.html").Funcs(webFuncs).ParseFS(webFiles, "web/layout.html", "web/"+p+".html")
		if err != nil {
			return nil, fmt.Errorf("%w: the console's page %s: %w", ErrConfig, p, err)
		}
		c.pages[p] = t
	}
	c.routes = map[string]webRoute{
		"/ui/first-run":      {get: c.getFirstRun, post: c.postFirstRun},
		"/ui/login":          {get: c.getLogin, post: c.postLogin},
		"/ui/logout":         {post: c.postLogout, auth: true},
		"/ui/":               {get: c.getStatus, auth: true},
		"/ui/license":        {get: c.getLicense, post: c.postLicense, auth: true},
		"/ui/update":         {get: c.getUpdate, post: c.postUpdate, auth: true},
		"/ui/reboot":         {get: c.toStatus, post: c.postReboot, auth: true},
		"/ui/support":        {get: c.getSupport, auth: true},
		"/ui/support/bundle": {get: c.getSupportBundle, auth: true},
		"/ui/backup":         {get: c.getBackup, post: c.postBackup, auth: true},
		"/ui/restore":        {get: c.getRestore, post: c.postRestore, auth: true},
	}
	return c, nil
}

// themeCSS is the vendor's colours as CSS custom properties; validate has
// made sure each is a hex colour.
func themeCSS(c WebColors) []byte {
	var b strings.Builder
	b.WriteString(":root {\n")
	for _, v := range []struct{ name, val string }{
		{"--primary", c.Primary}, {"--background", c.Background}, {"--text", c.Text},
	} {
		if v.val != "" {
			fmt.Fprintf(&b, "  %s: %s;\n", v.name, v.val)
		}
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

// handles reports whether r is the console's: anything under /ui, and /
// when a browser asks for a page.
func (c *webConsole) handles(r *http.Request) bool {
	p := r.URL.Path
	return p == "/ui" || strings.HasPrefix(p, "/ui/") ||
		(p == "/" && strings.Contains(r.Header.Get("Accept"), "text/html"))
}

// setPageHeaders are on every console answer.
func setPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", webCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

func (c *webConsole) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w.Header())
	p := r.URL.Path
	if p == "/" || p == "/ui" {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	if c.serveAsset(w, r) {
		return
	}
	rt, ok := c.routes[p]
	if !ok {
		c.message(w, http.StatusNotFound, "Not found", "There is no such page.")
		return
	}
	var h func(http.ResponseWriter, *http.Request, *webSession)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h = rt.get
	case http.MethodPost:
		h = rt.post
	}
	if h == nil {
		allow := []string{}
		if rt.get != nil {
			allow = append(allow, "GET")
		}
		if rt.post != nil {
			allow = append(allow, "POST")
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		c.message(w, http.StatusMethodNotAllowed, "Method not allowed", "This page does not take that request.")
		return
	}
	post := r.Method == http.MethodPost
	// A form posted from another site is refused before anything else,
	// whatever it carries (the CSRF token is checked by each handler).
	if post && !sameSite(r) {
		c.message(w, http.StatusForbidden, "Refused", "A form posted from another site was refused.")
		return
	}
	claimed := c.s.Claimed()
	switch {
	case !claimed && p != "/ui/first-run":
		if post {
			c.message(w, http.StatusForbidden, "First run required", "Complete first run with the token shown on the appliance's console.")
			return
		}
		http.Redirect(w, r, "/ui/first-run", http.StatusSeeOther)
		return
	case claimed && p == "/ui/first-run":
		if post {
			c.message(w, http.StatusConflict, "Already set up", "First run is already done; sign in instead.")
			return
		}
		http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
		return
	}
	var sess *webSession
	if rt.auth {
		if e := c.s.backoff(w, r); e != nil {
			c.message(w, e.Status, "Too many attempts", "Too many failed attempts from this address; retry later.")
			return
		}
		sess = c.session(w, r)
		if sess == nil {
			if post {
				c.message(w, http.StatusForbidden, "Signed out", "Your session has ended; sign in again.")
				return
			}
			http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
			return
		}
	}
	h(w, r, sess)
}

// sameSite refuses a request a browser marks as coming from another site
// or origin (Sec-Fetch-Site, which no page can forge), or whose Origin
// names another host. Under Referrer-Policy no-referrer browsers send
// "Origin: null" with the console's own forms; that passes only when
// Sec-Fetch-Site vouches for the same origin.
func sameSite(r *http.Request) bool {
	sfs := r.Header.Get("Sec-Fetch-Site")
	switch sfs {
	case "", "same-origin":
	default:
		return false
	}
	if sfs == "same-origin" && r.Header.Get("Origin") == "null" {
		return true
	}
	return sameOrigin(r)
}

// serveAsset serves the style sheets, script and logo, which every page
// (the sign-in page too) needs without a session.
func (c *webConsole) serveAsset(w http.ResponseWriter, r *http.Request) bool {
	var body []byte
	var ctype string
	switch r.URL.Path {
	case "/ui/style.css":
		body, _ = webFiles.ReadFile("web/style.css")
		ctype = "text/css; charset=utf-8"
	case "/ui/theme.css":
		body, ctype = c.theme, "text/css; charset=utf-8"
	case "/ui/app.js":
		body, _ = webFiles.ReadFile("web/app.js")
		ctype = "text/javascript; charset=utf-8"
	case "/ui/logo":
		body, ctype = c.logo, "image/svg+xml"
		if c.logoType == "png" {
			ctype = "image/png"
		}
	default:
		return false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		c.message(w, http.StatusMethodNotAllowed, "Method not allowed", "This page does not take that request.")
		return true
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(body)
	}
	return true
}
