package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/fogkit/fogkit/backup"
	"github.com/fogkit/fogkit/sign"
)

// DefaultMaxRestoreSize caps an uploaded backup when
// BackupOptions.MaxRestoreSize is 0.
const DefaultMaxRestoreSize = 64 << 30

// PassphraseHeader carries the backup passphrase of POST /api/v1/restore
// (the body is the backup itself). Like the Authorization header it is
// never logged.
const PassphraseHeader = "Fogkit-Backup-Passphrase"

// BackupOptions configures POST /api/v1/backup and /api/v1/restore: what
// the customer's data is and how a restore is fitted into the running
// appliance. The agent's own state (admin credential, certificate,
// license, update slots) is not part of it: those belong to the appliance,
// not to the data, and a restored appliance keeps its own.
type BackupOptions struct {
	// Dir is the tree backed up and replaced by a restore (the vendor
	// app's data on the data disk, e.g. /data/app). Required.
	Dir string `json:"dir"`
	// Exclude are backup.Options.Exclude patterns (caches, temp files).
	Exclude []string `json:"exclude,omitempty"`
	// Streams are the vendor's extra streams (a database dump command).
	Streams []backup.Stream `json:"-"`
	// Schema is the vendor's data schema version, recorded in backups.
	Schema int `json:"schema,omitempty"`
	// Accept is the vendor's migration hook: it may accept a backup from
	// another product or a newer version (see backup.RestoreOptions).
	Accept func(*backup.Manifest) error `json:"-"`
	// BeforeRestore runs before a restore starts (stop the app, close its
	// files); AfterRestore runs after it, whether it switched the data or
	// left it as it was (start the app again). Either may be nil; an app
	// that opens its files per request needs neither.
	BeforeRestore func(context.Context) error `json:"-"`
	AfterRestore  func(context.Context) error `json:"-"`
	// MaxRestoreSize caps an uploaded backup; 0 means
	// DefaultMaxRestoreSize.
	MaxRestoreSize int64 `json:"maxRestoreSize,omitempty"`
}

// BackupRequest is the body of POST /api/v1/backup: a passphrase of at
// least MinPasswordLength characters, or the armored OpenPGP public keys
// of the customer's recipients. The vendor holds no key to the result.
type BackupRequest struct {
	Passphrase string   `json:"passphrase,omitempty"`
	Recipients []string `json:"recipients,omitempty"`
}

// RestoreResult is the body of a successful POST /api/v1/restore.
type RestoreResult struct {
	Product  string    `json:"product"`
	Version  string    `json:"version"`
	Sequence uint64    `json:"sequence"`
	Schema   int       `json:"schema,omitempty"`
	Created  time.Time `json:"created"`
	Files    int       `json:"files"`
	Bytes    int64     `json:"bytes"`
}

// maxRecipientsBody caps the backup request (armored public keys).
const maxRecipientsBody = 1 << 20

func (s *Server) handleBackup(w http.ResponseWriter, r *http.Request) {
	if s.o.Backup == nil || s.o.Backup.Dir == "" {
		writeError(w, errNoBackup)
		return
	}
	var req BackupRequest
	if e := decodeJSON(r.Body, maxRecipientsBody, &req); e != nil {
		writeError(w, e)
		return
	}
	if e := s.writeBackup(r.Context(), w, req); e != nil {
		writeError(w, e)
	}
}

var errNoBackup = &APIError{http.StatusNotImplemented, CodeNotSupported, "this appliance takes no backups"}

// writeBackup streams a backup encrypted to req's passphrase or
// recipients to w with its headers; the API and the web console both back
// up through it. A refusal is returned before anything is written; a
// failure after the headers cuts the stream.
func (s *Server) writeBackup(ctx context.Context, w http.ResponseWriter, req BackupRequest) *APIError {
	o := s.o.Backup
	if o == nil || o.Dir == "" {
		return errNoBackup
	}
	bo := &backup.Options{Product: s.o.Product, Version: s.o.Version, Sequence: s.o.Sequence,
		Schema: o.Schema, Dir: o.Dir, Exclude: o.Exclude, Streams: o.Streams}
	switch {
	case req.Passphrase != "" && len(req.Recipients) > 0:
		return &APIError{http.StatusBadRequest, CodeBadRequest, "give a passphrase or recipients, not both"}
	case req.Passphrase != "":
		if !utf8.ValidString(req.Passphrase) || utf8.RuneCountInString(req.Passphrase) < MinPasswordLength || len(req.Passphrase) > 1024 {
			return &APIError{http.StatusUnprocessableEntity, CodeWeakPassword,
				fmt.Sprintf("the backup passphrase needs at least %d characters", MinPasswordLength)}
		}
		bo.Passphrase = []byte(req.Passphrase)
	case len(req.Recipients) > 0:
		for _, armored := range req.Recipients {
			k, err := sign.LoadOpenPGPPublicKey([]byte(armored), "backup")
			if err != nil {
				return &APIError{http.StatusUnprocessableEntity, CodeBadKey, "a recipient is not a usable OpenPGP public key"}
			}
			bo.Recipients = append(bo.Recipients, k)
		}
	default:
		return &APIError{http.StatusBadRequest, CodeBadRequest, "give a passphrase or the recipients' public keys"}
	}
	if !s.dataOp.TryLock() {
		return errDataBusy
	}
	defer s.dataOp.Unlock()
	now := s.now().UTC()
	bo.Now = func() time.Time { return now }
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q",
		fmt.Sprintf("%s-%s-backup-%s.fogbak", s.o.Product, safeName(s.o.Version), now.Format("20060102T150405Z"))))
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 256<<10)
	_, err := backup.Write(ctx, bw, bo)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		// Cut the stream: a truncated backup fails Verify, a whole-looking
		// one must never be incomplete.
		panic(http.ErrAbortHandler)
	}
	return nil
}

// maxRestoreSize is the cap on an uploaded backup.
func (s *Server) maxRestoreSize() int64 {
	if s.o.Backup != nil && s.o.Backup.MaxRestoreSize > 0 {
		return s.o.Backup.MaxRestoreSize
	}
	return DefaultMaxRestoreSize
}

func (s *Server) handleRestore(w http.ResponseWriter, r *http.Request) {
	o := s.o.Backup
	if o == nil || o.Dir == "" {
		writeError(w, errNoBackup)
		return
	}
	if isForm(r) {
		writeError(w, &APIError{http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "send the backup file itself as the body"})
		return
	}
	max := s.maxRestoreSize()
	if r.ContentLength > max {
		writeError(w, &APIError{http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("backup over %d bytes", max)})
		return
	}
	pass := r.Header.Get(PassphraseHeader)
	if pass == "" {
		writeError(w, &APIError{http.StatusBadRequest, CodeBadRequest, "send the backup's passphrase in the " + PassphraseHeader + " header"})
		return
	}
	res, e := s.restore(r.Context(), r.Body, pass)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// restore checks the backup read from body (capped at maxRestoreSize)
// while staging it and swaps it in; the API and the web console both
// restore through it.
func (s *Server) restore(ctx context.Context, body io.Reader, pass string) (*RestoreResult, *APIError) {
	o := s.o.Backup
	if o == nil || o.Dir == "" {
		return nil, errNoBackup
	}
	if pass == "" {
		return nil, &APIError{http.StatusBadRequest, CodeBadRequest, "give the backup's passphrase"}
	}
	if !s.dataOp.TryLock() {
		return nil, errDataBusy
	}
	defer s.dataOp.Unlock()
	max := s.maxRestoreSize()
	hookCtx := context.WithoutCancel(ctx)
	stopped := false
	ro := &backup.RestoreOptions{
		ReadOptions: backup.ReadOptions{Passphrase: []byte(pass), MaxSize: max},
		Product:     s.o.Product, Version: s.o.Version, Sequence: s.o.Sequence,
		Accept: o.Accept,
	}
	lb := &limitedBody{r: body, n: max}
	var m *backup.Manifest
	var err error
	if o.BeforeRestore != nil {
		if err = o.BeforeRestore(hookCtx); err != nil {
			return nil, errInternal
		}
		stopped = true
	}
	m, err = backup.Restore(ctx, lb, o.Dir, ro)
	if stopped && o.AfterRestore != nil {
		if aerr := o.AfterRestore(hookCtx); aerr != nil && err == nil {
			err = aerr
		}
	}
	if err != nil {
		if lb.over {
			return nil, &APIError{http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("backup over %d bytes", max)}
		}
		return nil, restoreAPIError(err)
	}
	res := &RestoreResult{Product: m.Product, Version: m.Version, Sequence: m.Sequence, Schema: m.Schema, Created: m.Created, Files: len(m.Files)}
	for _, f := range m.Files {
		res.Bytes += f.Size
	}
	return res, nil
}

// restoreAPIError maps a backup error to a code; the message names the
// sentinel, never the error text (which may hold paths).
func restoreAPIError(err error) *APIError {
	for _, m := range []struct {
		sentinel error
		status   int
		code     string
	}{
		{backup.ErrDecrypt, http.StatusUnprocessableEntity, CodeBadBackup},
		{backup.ErrProduct, http.StatusUnprocessableEntity, CodeWrongProduct},
		{backup.ErrDowngrade, http.StatusConflict, CodeDowngrade},
		{backup.ErrTooLarge, http.StatusRequestEntityTooLarge, CodeTooLarge},
		{backup.ErrDigest, http.StatusUnprocessableEntity, CodeBadBackup},
		{backup.ErrTruncated, http.StatusUnprocessableEntity, CodeBadBackup},
		{backup.ErrUnsafePath, http.StatusUnprocessableEntity, CodeBadBackup},
		{backup.ErrMalformed, http.StatusUnprocessableEntity, CodeBadBackup},
	} {
		if errors.Is(err, m.sentinel) {
			return &APIError{m.status, m.code, m.sentinel.Error() + "; the data is unchanged"}
		}
	}
	return &APIError{http.StatusInternalServerError, CodeRestoreFailed, "the restore failed; the data is unchanged"}
}

// limitedBody stops a request body after n bytes and remembers that it
// did, so the handler can answer 413 rather than "malformed".
type limitedBody struct {
	r    io.Reader
	n    int64
	over bool
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.n <= 0 {
		var one [1]byte
		if k, _ := l.r.Read(one[:]); k > 0 {
			l.over = true
			return 0, fmt.Errorf("%w: over the size cap", backup.ErrTooLarge)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	return k, err
}
