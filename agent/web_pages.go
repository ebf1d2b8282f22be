package agent

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// maxWebForm caps a urlencoded form and the small fields of a multipart
// one (everything but the file).
const maxWebForm = 64 << 10

// multipartSlack is what a multipart body may carry beyond its file's cap
// (boundaries, headers, the small fields).
const multipartSlack = 1 << 20

// webData is what a page template sees. Nothing secret: the bearer token
// stays in its HttpOnly cookie, only the CSRF token is in forms.
type webData struct {
	Title    string
	Nav      string // the page's menu entry
	Brand    string
	Boot     string
	SignedIn bool
	CSRF     string
	Error    string
	Notice   string

	MinPassword int
	Status      *webStatus
	License     *LicenseSummary
	LicenseDays string
	Installed   *Installed
	Restored    *RestoreResult
	CanUpdate   bool
	CanReboot   bool
	CanSupport  bool
	CanEncrypt  bool
	CanBackup   bool
	MaxUpdate   string
}

// webStatus is ApplianceStatus put the way a page shows it.
type webStatus struct {
	ApplianceStatus
	LicenseDays string
	DataUsed    string
	DataFree    string
	DataPercent int
	Uptime      string
}

var webFuncs = template.FuncMap{
	"date": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.UTC().Format("2006-01-02 15:04 UTC")
		case *time.Time:
			if v != nil {
				return v.UTC().Format("2006-01-02 15:04 UTC")
			}
		}
		return ""
	},
	"bytes": func(n int64) string { return humanBytes(uint64(max(n, 0))) },
}

func (c *webConsole) data(r *http.Request, sess *webSession, title, nav string) *webData {
	d := &webData{Title: title, Nav: nav, Brand: c.name, Boot: c.bootID(), MinPassword: MinPasswordLength,
		CanUpdate: c.s.o.Updater != nil, CanReboot: c.s.o.Reboot != nil, CanSupport: c.s.o.Support != nil,
		CanEncrypt: c.s.o.Support != nil && len(c.s.o.Support.Key) > 0,
		CanBackup:  c.s.o.Backup != nil && c.s.o.Backup.Dir != "", MaxUpdate: humanBytes(uint64(c.s.o.MaxUpdateSize))}
	if sess != nil {
		d.SignedIn, d.CSRF = true, sess.csrf
	}
	return d
}

// render writes a page; a template error (a bug) becomes a bare 500.
func (c *webConsole) render(w http.ResponseWriter, status int, page string, d *webData) {
	var b bytes.Buffer
	if err := c.pages[page].Execute(&b, d); err != nil {
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// message is a page with a title and one sentence, for refusals.
func (c *webConsole) message(w http.ResponseWriter, status int, title, msg string) {
	d := &webData{Title: title, Brand: c.name, Boot: c.bootID(), Error: msg}
	c.render(w, status, "message", d)
}

// refused renders a page again with the API's message for e.
func (c *webConsole) refused(w http.ResponseWriter, page string, d *webData, e *APIError) {
	d.Error = e.Message
	c.render(w, e.Status, page, d)
}

var errBadCSRF = &APIError{http.StatusForbidden, CodeCrossOrigin, "the form was out of date or not from this console; reload the page and try again"}

// form parses a urlencoded POST (capped) and checks its CSRF token.
func (c *webConsole) form(w http.ResponseWriter, r *http.Request, sess *webSession) (url.Values, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxWebForm)
	if err := r.ParseForm(); err != nil {
		return nil, false
	}
	return r.PostForm, c.csrfOK(r, sess, r.PostForm.Get(csrfField))
}

// multipartFile streams a multipart POST: the small fields must come
// before the file part (browsers send them in the form's order), so the
// CSRF token is checked before a byte of the file is read. It returns the
// fields and the file part, capped at max.
func (c *webConsole) multipartFile(w http.ResponseWriter, r *http.Request, sess *webSession, file string, max int64) (url.Values, *multipart.Part, *APIError) {
	if max < math.MaxInt64-multipartSlack {
		r.Body = http.MaxBytesReader(w, r.Body, max+multipartSlack)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, &APIError{http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "send the form as multipart/form-data"}
	}
	vals := url.Values{}
	var small int64
	for {
		p, err := mr.NextPart()
		if err != nil {
			return nil, nil, &APIError{http.StatusBadRequest, CodeBadRequest, "the form has no file"}
		}
		if p.FormName() == file {
			if !c.csrfOK(r, sess, vals.Get(csrfField)) {
				return nil, nil, errBadCSRF
			}
			return vals, p, nil
		}
		b, err := io.ReadAll(io.LimitReader(p, maxWebForm-small+1))
		small += int64(len(b))
		if err != nil || small > maxWebForm {
			return nil, nil, &APIError{http.StatusRequestEntityTooLarge, CodeTooLarge, "the form's fields are too large"}
		}
		vals.Add(p.FormName(), string(b))
	}
}

func (c *webConsole) getFirstRun(w http.ResponseWriter, r *http.Request, _ *webSession) {
	d := c.data(r, nil, "First run", "")
	d.CSRF = c.formCSRF(w, r)
	c.render(w, http.StatusOK, "first-run", d)
}

func (c *webConsole) postFirstRun(w http.ResponseWriter, r *http.Request, _ *webSession) {
	d := c.data(r, nil, "First run", "")
	d.CSRF = c.formCSRF(w, r)
	f, ok := c.form(w, r, nil)
	if !ok {
		c.refused(w, "first-run", d, errBadCSRF)
		return
	}
	if e := c.s.backoff(w, r); e != nil {
		c.refused(w, "first-run", d, e)
		return
	}
	if f.Get("password") != f.Get("confirm") {
		c.refused(w, "first-run", d, &APIError{http.StatusUnprocessableEntity, CodeWeakPassword, "the two passwords differ"})
		return
	}
	tok, e := c.s.firstRun(r.Context(), clientIP(r), FirstRunRequest{Token: f.Get("token"), Password: f.Get("password")})
	if e != nil {
		c.refused(w, "first-run", d, e)
		return
	}
	c.setSession(w, tok)
	clearCookie(w, formCookie)
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

func (c *webConsole) getLogin(w http.ResponseWriter, r *http.Request, _ *webSession) {
	if sess := c.peekSession(r); sess {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	d := c.data(r, nil, "Sign in", "")
	d.CSRF = c.formCSRF(w, r)
	if r.URL.Query().Get("out") == "1" {
		d.Notice = "You are signed out."
	}
	c.render(w, http.StatusOK, "login", d)
}

// peekSession reports whether the request's cookie is a live session,
// without counting a failure.
func (c *webConsole) peekSession(r *http.Request) bool {
	ck, err := r.Cookie(sessionCookie)
	return err == nil && ck.Value != "" && len(ck.Value) <= 512 && c.s.validToken(ck.Value)
}

func (c *webConsole) postLogin(w http.ResponseWriter, r *http.Request, _ *webSession) {
	d := c.data(r, nil, "Sign in", "")
	d.CSRF = c.formCSRF(w, r)
	f, ok := c.form(w, r, nil)
	if !ok {
		c.refused(w, "login", d, errBadCSRF)
		return
	}
	if e := c.s.backoff(w, r); e != nil {
		c.refused(w, "login", d, e)
		return
	}
	tok, e := c.s.login(r.Context(), clientIP(r), f.Get("password"))
	if e != nil {
		c.refused(w, "login", d, e)
		return
	}
	c.setSession(w, tok)
	clearCookie(w, formCookie)
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

func (c *webConsole) postLogout(w http.ResponseWriter, r *http.Request, sess *webSession) {
	if _, ok := c.form(w, r, sess); !ok {
		c.message(w, errBadCSRF.Status, "Refused", errBadCSRF.Message)
		return
	}
	if err := c.s.logout(sess.token); err != nil {
		c.message(w, http.StatusInternalServerError, "Error", errInternal.Message)
		return
	}
	clearCookie(w, sessionCookie)
	http.Redirect(w, r, "/ui/login?out=1", http.StatusSeeOther)
}

func (c *webConsole) status() *webStatus {
	st := c.s.Status()
	ws := &webStatus{ApplianceStatus: st, Uptime: humanDuration(time.Duration(st.UptimeSeconds) * time.Second)}
	ws.LicenseDays = daysLeft(st.License, c.s.now())
	total := st.Data.UsedBytes + st.Data.FreeBytes
	if total > 0 {
		ws.DataUsed, ws.DataFree = humanBytes(st.Data.UsedBytes), humanBytes(st.Data.FreeBytes)
		ws.DataPercent = int(st.Data.UsedBytes * 100 / total)
	}
	return ws
}

// daysLeft says how long the license still works, grace included.
func daysLeft(l LicenseSummary, now time.Time) string {
	switch {
	case l.Status == LicenseNone:
		return ""
	case l.NotAfter == nil:
		return "perpetual"
	}
	days := func(t time.Time) int { return int(math.Ceil(t.Sub(now).Hours() / 24)) }
	if d := days(*l.NotAfter); d > 0 {
		return fmt.Sprintf("%d days left", d)
	}
	if l.GraceUntil != nil {
		if d := days(*l.GraceUntil); d > 0 {
			return fmt.Sprintf("expired; %d days of grace left", d)
		}
	}
	return "expired"
}

func (c *webConsole) getStatus(w http.ResponseWriter, r *http.Request, sess *webSession) {
	d := c.data(r, sess, "Status", "status")
	d.Status = c.status()
	switch r.URL.Query().Get("done") {
	case "restored":
		d.Notice = "The backup was restored."
	}
	c.render(w, http.StatusOK, "status", d)
}

// toStatus answers a GET of an action's address (a reload after a post):
// a GET never acts.
func (c *webConsole) toStatus(w http.ResponseWriter, r *http.Request, _ *webSession) {
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

func (c *webConsole) getLicense(w http.ResponseWriter, r *http.Request, sess *webSession) {
	d := c.data(r, sess, "License", "license")
	sum := c.s.Status().License
	d.License, d.LicenseDays = &sum, daysLeft(sum, c.s.now())
	c.render(w, http.StatusOK, "license", d)
}

func (c *webConsole) postLicense(w http.ResponseWriter, r *http.Request, sess *webSession) {
	d := c.data(r, sess, "License", "license")
	sum := c.s.Status().License
	d.License, d.LicenseDays = &sum, daysLeft(sum, c.s.now())
	_, part, e := c.multipartFile(w, r, sess, "license", c.s.o.MaxLicenseSize)
	if e == nil {
		var got *LicenseSummary
		got, e = c.s.installLicense(r.Context(), part)
		if e == nil {
			d.License, d.LicenseDays = got, daysLeft(*got, c.s.now())
			d.Notice = "The license was installed."
		}
	}
	if e != nil {
		c.refused(w, "license", d, e)
		return
	}
	c.render(w, http.StatusOK, "license", d)
}

func (c *webConsole) getUpdate(w http.ResponseWriter, r *http.Request, sess *webSession) {
	d := c.data(r, sess, "Update", "update")
	d.Status = c.status()
	c.render(w, http.StatusOK, "update", d)
}

// postUpdate answers with the update page and the result; the page's
// script uploads the same form with a progress bar and shows the result
// in place.
func (c *webConsole) postUpdate(w http.ResponseWriter, r *http.Request, sess *webSession) {
	d := c.data(r, sess, "Update", "update")
	_, part, e := c.multipartFile(w, r, sess, "package", c.s.o.MaxUpdateSize)
	if e == nil {
		d.Installed, e = c.s.installUpdate(r.Context(), part)
	}
	d.Status = c.status()
	if e != nil {
		c.refused(w, "update", d, e)
		return
	}
	d.Notice = "The update was installed; reboot to run it."
	c.render(w, http.StatusOK, "update", d)
}

func (c *webConsole) postReboot(w http.ResponseWriter, r *http.Request, sess *webSession) {
	d := c.data(r, sess, "Rebooting", "")
	if _, ok := c.form(w, r, sess); !ok {
		c.message(w, errBadCSRF.Status, "Refused", errBadCSRF.Message)
		return
	}
	if e := c.s.startReboot(); e != nil {
		c.message(w, e.Status, "Not rebooting", e.Message)
		return
	}
	c.render(w, http.StatusOK, "rebooting", d)
}

func (c *webConsole) getSupport(w http.ResponseWriter, r *http.Request, sess *webSession) {
	c.render(w, http.StatusOK, "support", c.data(r, sess, "Support", "support"))
}

// getSupportBundle streams a bundle; it changes nothing on the appliance,
// so a plain link (GET) downloads it.
func (c *webConsole) getSupportBundle(w http.ResponseWriter, r *http.Request, sess *webSession) {
	if e := c.s.writeSupportBundle(r.Context(), w, r.URL.Query().Get("plain") == "true", []string{sess.token}); e != nil {
		c.refused(w, "support", c.data(r, sess, "Support", "support"), e)
	}
}

func (c *webConsole) getBackup(w http.ResponseWriter, r *http.Request, sess *webSession) {
	c.render(w, http.StatusOK, "backup", c.data(r, sess, "Backup", "backup"))
}

func (c *webConsole) postBackup(w http.ResponseWriter, r *http.Request, sess *webSession) {
	d := c.data(r, sess, "Backup", "backup")
	f, ok := c.form(w, r, sess)
	if !ok {
		c.refused(w, "backup", d, errBadCSRF)
		return
	}
	if f.Get("passphrase") != f.Get("confirm") {
		c.refused(w, "backup", d, &APIError{http.StatusUnprocessableEntity, CodeWeakPassword, "the two passphrases differ"})
		return
	}
	if e := c.s.writeBackup(r.Context(), w, BackupRequest{Passphrase: f.Get("passphrase")}); e != nil {
		if e.Code == CodeBadRequest {
			e = &APIError{http.StatusUnprocessableEntity, CodeWeakPassword, fmt.Sprintf("the backup passphrase needs at least %d characters", MinPasswordLength)}
		}
		c.refused(w, "backup", d, e)
	}
}

func (c *webConsole) getRestore(w http.ResponseWriter, r *http.Request, sess *webSession) {
	c.render(w, http.StatusOK, "restore", c.data(r, sess, "Restore", "restore"))
}

func (c *webConsole) postRestore(w http.ResponseWriter, r *http.Request, sess *webSession) {
	d := c.data(r, sess, "Restore", "restore")
	vals, part, e := c.multipartFile(w, r, sess, "backup", c.s.maxRestoreSize())
	if e == nil {
		d.Restored, e = c.s.restore(r.Context(), part, vals.Get("passphrase"))
	}
	if e != nil {
		c.refused(w, "restore", d, e)
		return
	}
	d.Notice = "The backup was restored."
	c.render(w, http.StatusOK, "restore", d)
}

// humanBytes is a size in binary units, one decimal.
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// humanDuration is an uptime in days, hours and minutes.
func humanDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d s", int(d/time.Second))
	}
	days, h, m := int(d/(24*time.Hour)), int(d/time.Hour)%24, int(d/time.Minute)%60
	if days > 0 {
		return fmt.Sprintf("%d d %d h %d min", days, h, m)
	}
	return fmt.Sprintf("%d h %d min", h, m)
}
