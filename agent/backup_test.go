package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/backup"
	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/support"
)

const backupPass = "customer backup passphrase"

// backupEnv is a claimed appliance whose app data lives in dir.
func backupEnv(t *testing.T, seq uint64, product string, files map[string]string) (*apiEnv, string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "app")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for name, body := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	e := newAPIEnv(t, func(o *ServerOptions) {
		o.Sequence, o.Backup = seq, &BackupOptions{Dir: dir}
		if product != "" {
			o.Product = product
		}
	})
	return e, dir, e.claim()
}

// treeFiles reads every regular file under dir by relative path.
func treeFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	}))
	return out
}

func TestBackupRefusals(t *testing.T) {
	e, _, tok := backupEnv(t, 1, "", map[string]string{"notes.txt": "a\n"})
	requireAPIError(t, e.json("POST", "/api/v1/backup", "", `{"passphrase":"`+backupPass+`"}`), http.StatusUnauthorized, CodeUnauthorized)
	requireAPIError(t, e.json("POST", "/api/v1/backup", tok, `{"passphrase":"short"}`), http.StatusUnprocessableEntity, CodeWeakPassword)
	requireAPIError(t, e.json("POST", "/api/v1/backup", tok, `{}`), http.StatusBadRequest, CodeBadRequest)
	requireAPIError(t, e.json("POST", "/api/v1/backup", tok, `{"passphrase":"`+backupPass+`","recipients":["x"]}`), http.StatusBadRequest, CodeBadRequest)
	requireAPIError(t, e.json("POST", "/api/v1/backup", tok, `{"recipients":["not a key"]}`), http.StatusUnprocessableEntity, CodeBadKey)
	requireAPIError(t, e.do("POST", "/api/v1/backup", tok, strings.NewReader(`{"passphrase":"`+backupPass+`"}`)), http.StatusUnsupportedMediaType, CodeUnsupportedMedia)
	requireAPIError(t, e.do("POST", "/api/v1/restore", "", strings.NewReader("x"), withHeader(PassphraseHeader, backupPass)), http.StatusUnauthorized, CodeUnauthorized)
	requireAPIError(t, e.do("POST", "/api/v1/restore", tok, strings.NewReader("x")), http.StatusBadRequest, CodeBadRequest)
	requireAPIError(t, e.do("POST", "/api/v1/restore", tok, strings.NewReader("x"), withHeader("Content-Type", "multipart/form-data; boundary=x"),
		withHeader(PassphraseHeader, backupPass)), http.StatusUnsupportedMediaType, CodeUnsupportedMedia)
	// A cross-site form post never reaches the handler.
	requireAPIError(t, e.do("POST", "/api/v1/restore", tok, strings.NewReader("x"), withHeader("Origin", "https://evil.example"),
		withHeader(PassphraseHeader, backupPass)), http.StatusForbidden, CodeCrossOrigin)
	// One data operation at a time.
	e.srv.dataOp.Lock()
	requireAPIError(t, e.json("POST", "/api/v1/backup", tok, `{"passphrase":"`+backupPass+`"}`), http.StatusConflict, CodeBusy)
	e.srv.dataOp.Unlock()

	off := newAPIEnv(t, nil)
	otok := off.claim()
	requireAPIError(t, off.json("POST", "/api/v1/backup", otok, `{"passphrase":"`+backupPass+`"}`), http.StatusNotImplemented, CodeNotSupported)
	requireAPIError(t, off.do("POST", "/api/v1/restore", otok, strings.NewReader("x"), withHeader(PassphraseHeader, backupPass)), http.StatusNotImplemented, CodeNotSupported)
}

// TestBackupRestoreAcrossAppliances: A's data, backed up through the API,
// restores into B; a damaged backup, a wrong passphrase, another product
// and a newer appliance's backup are refused and leave B's data as it was.
func TestBackupRestoreAcrossAppliances(t *testing.T) {
	aFiles := map[string]string{"notes.txt": "first\nsecond\n", "db/records.json": `{"n":2}`}
	a, _, atok := backupEnv(t, 2, "", aFiles)
	rec := a.json("POST", "/api/v1/backup", atok, `{"passphrase":"`+backupPass+`"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "application/octet-stream", rec.Header().Get("Content-Type"))
	require.Contains(t, rec.Header().Get("Content-Disposition"), `acme-appliance-1.0-backup-`)
	bk := rec.Body.Bytes()
	m, err := backup.Verify(context.Background(), bytes.NewReader(bk), &backup.ReadOptions{Passphrase: []byte(backupPass)})
	require.NoError(t, err)
	require.Equal(t, apiProduct, m.Product)
	require.EqualValues(t, 2, m.Sequence)
	require.NotContains(t, string(bk), "second", "the backup is encrypted")

	bFiles := map[string]string{"notes.txt": "B only\n"}
	b, bdir, btok := backupEnv(t, 2, "", bFiles)
	restore := func(e *apiEnv, tok string, body []byte, pass string) *httptest.ResponseRecorder {
		return e.do("POST", "/api/v1/restore", tok, bytes.NewReader(body), withHeader(PassphraseHeader, pass),
			withHeader("Content-Type", "application/octet-stream"))
	}
	flipped := bytes.Clone(bk)
	flipped[len(flipped)/2] ^= 0x01
	requireAPIError(t, restore(b, btok, flipped, backupPass), http.StatusUnprocessableEntity, CodeBadBackup)
	require.Equal(t, bFiles, treeFiles(t, bdir), "a damaged backup changes nothing")
	requireAPIError(t, restore(b, btok, bk, "wrong passphrase here"), http.StatusUnprocessableEntity, CodeBadBackup)
	requireAPIError(t, restore(b, btok, bk[:len(bk)-40], backupPass), http.StatusUnprocessableEntity, CodeBadBackup)
	require.Equal(t, bFiles, treeFiles(t, bdir))
	assertNoStaging(t, bdir)

	older, odir, otok := backupEnv(t, 1, "", bFiles)
	requireAPIError(t, restore(older, otok, bk, backupPass), http.StatusConflict, CodeDowngrade)
	require.Equal(t, bFiles, treeFiles(t, odir), "a newer appliance's backup is refused")
	other, xdir, xtok := backupEnv(t, 2, "other-product", bFiles)
	requireAPIError(t, restore(other, xtok, bk, backupPass), http.StatusUnprocessableEntity, CodeWrongProduct)
	require.Equal(t, bFiles, treeFiles(t, xdir))

	small, _, stok := backupEnv(t, 2, "", bFiles)
	small.o.Backup.MaxRestoreSize = 100 // shared with the server: options hold it by pointer
	requireAPIError(t, restore(small, stok, bk, backupPass), http.StatusRequestEntityTooLarge, CodeTooLarge)

	rec = restore(b, btok, bk, backupPass)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var res RestoreResult
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res))
	require.Equal(t, RestoreResult{Product: apiProduct, Version: "1.0", Sequence: 2, Created: apiT0, Files: len(m.Files),
		Bytes: int64(len("first\nsecond\n") + len(`{"n":2}`))}, res)
	require.Equal(t, aFiles, treeFiles(t, bdir), "B holds A's data")
	assertNoStaging(t, bdir)
}

// A backup to the customer's own OpenPGP key opens with that key only.
func TestBackupToRecipient(t *testing.T) {
	cust, err := sign.GenerateOpenPGP("Customer", "it@customer.example", "backup", nil)
	require.NoError(t, err)
	pub, err := sign.EncodePublicKey(cust.Public())
	require.NoError(t, err)
	body, err := json.Marshal(BackupRequest{Recipients: []string{string(pub)}})
	require.NoError(t, err)
	e, _, tok := backupEnv(t, 1, "", map[string]string{"notes.txt": "x\n"})
	rec := e.json("POST", "/api/v1/backup", tok, string(body))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	_, err = backup.Verify(context.Background(), bytes.NewReader(rec.Body.Bytes()), &backup.ReadOptions{Key: cust})
	require.NoError(t, err)
	vendor, err := sign.GenerateOpenPGP("Vendor", "support@vendor.example", sign.PurposeSupport, nil)
	require.NoError(t, err)
	_, err = backup.Verify(context.Background(), bytes.NewReader(rec.Body.Bytes()), &backup.ReadOptions{Key: vendor})
	require.ErrorIs(t, err, backup.ErrDecrypt, "the vendor's key cannot read the customer's backup")
}

func assertNoStaging(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Dir(dir))
	require.NoError(t, err)
	for _, e := range ents {
		require.Equal(t, filepath.Base(dir), e.Name(), "left beside the data: %s", e.Name())
	}
}

// TestSupportBundleEndpoint: the bundle is encrypted to the vendor's
// support key, holds the status and the vendor's sources, and carries
// neither the admin's token nor the license file nor secrets in the logs.
func TestSupportBundleEndpoint(t *testing.T) {
	ctx := context.Background()
	vendor, err := sign.GenerateOpenPGP("Vendor support", "support@vendor.example", sign.PurposeSupport, nil)
	require.NoError(t, err)
	vpub, err := sign.EncodePublicKey(vendor.Public())
	require.NoError(t, err)
	e := newAPIEnv(t, func(o *ServerOptions) {
		o.Support = &SupportOptions{Key: vpub, Sources: []support.Source{
			support.Bytes("app/app.log", []byte("started\ndb password=hunter2hunter2 ok\n")),
		}, Redact: &support.RedactOptions{Literals: []string{"vendor-literal-secret"}}}
	})
	requireAPIError(t, e.do("GET", "/api/v1/support-bundle", "", nil), http.StatusForbidden, CodeFirstRunRequired)
	tok := e.claim()
	requireAPIError(t, e.do("GET", "/api/v1/support-bundle", "", nil), http.StatusUnauthorized, CodeUnauthorized)
	lic := encodeLicense(t, e.signer, apiLicense(nil))
	require.Equal(t, http.StatusOK, e.do("PUT", "/api/v1/license", tok, bytes.NewReader(lic)).Code)

	rec := e.do("GET", "/api/v1/support-bundle", tok, nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Regexp(t, `filename="acme-appliance-1.0-support-\d{8}T\d{6}Z.tar.zst.gpg"`, rec.Header().Get("Content-Disposition"))
	_, err = support.Open(ctx, bytes.NewReader(rec.Body.Bytes()), nil, &support.OpenOptions{Plain: true})
	require.Error(t, err, "the bundle is encrypted")
	b, err := support.Open(ctx, bytes.NewReader(rec.Body.Bytes()), vendor, nil)
	require.NoError(t, err)
	require.Contains(t, b.Files(), "fogkit/status.json")
	require.Contains(t, b.Files(), "app/app.log")
	st, err := b.ReadFile("fogkit/status.json")
	require.NoError(t, err)
	var status ApplianceStatus
	require.NoError(t, json.Unmarshal(st, &status))
	require.Equal(t, apiProduct, status.Product)
	require.Equal(t, "cust-1", status.License.CustomerID)
	log, err := b.ReadFile("app/app.log")
	require.NoError(t, err)
	require.Contains(t, string(log), "started\n")
	require.NotContains(t, string(log), "hunter2hunter2")

	var all []byte
	for _, f := range b.Files() {
		c, err := b.ReadFile(f)
		require.NoError(t, err)
		all = append(all, c...)
	}
	require.NotContains(t, string(all), tok, "the admin's token")
	for _, l := range strings.Split(string(lic), "\n") {
		if len(l) >= 16 && !strings.HasPrefix(l, "-----") && !strings.Contains(l, ": ") {
			require.NotContains(t, string(all), l, "license key material")
		}
	}

	// Plain bundles are for the admin to read what would be sent.
	rec = e.do("GET", "/api/v1/support-bundle?plain=true", tok, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.NotContains(t, rec.Header().Get("Content-Disposition"), ".gpg")
	_, err = support.Open(ctx, bytes.NewReader(rec.Body.Bytes()), nil, &support.OpenOptions{Plain: true})
	require.NoError(t, err)

	nokey := newAPIEnv(t, func(o *ServerOptions) { o.Support = &SupportOptions{} })
	ntok := nokey.claim()
	requireAPIError(t, nokey.do("GET", "/api/v1/support-bundle", ntok, nil), http.StatusNotImplemented, CodeNotSupported)
	require.Equal(t, http.StatusOK, nokey.do("GET", "/api/v1/support-bundle?plain=true", ntok, nil).Code)
	off := newAPIEnv(t, nil)
	requireAPIError(t, off.do("GET", "/api/v1/support-bundle", off.claim(), nil), http.StatusNotImplemented, CodeNotSupported)
}
