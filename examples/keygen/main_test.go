package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/sign"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var fixedNow = func() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) }

func runKeygen(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb, fixedNow)
	return code, out.String(), errb.String()
}

func TestKeygenPurposes(t *testing.T) {
	ctx := context.Background()
	msg := []byte("payload")
	for _, c := range []struct {
		purpose     sign.Purpose
		priv, pub   string
		wantPubHead string
	}{
		{sign.PurposeLicense, "license.key", "license.pub", "-----BEGIN PUBLIC KEY-----"},
		{sign.PurposeUpdate, "update.key", "update.pub", "-----BEGIN PGP PUBLIC KEY BLOCK-----"},
		{sign.PurposeOVA, "ova.key", "ova.crt", "-----BEGIN CERTIFICATE-----"},
	} {
		t.Run(string(c.purpose), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys")
			code, stdout, stderr := runKeygen(t, "-purpose", string(c.purpose), "-name", "Example Vendor", "-email", "v@example.com", "-o", dir)
			require.Equal(t, exitOK, code, stderr)
			assert.Contains(t, stdout, filepath.Join(dir, c.priv))

			privData, err := os.ReadFile(filepath.Join(dir, c.priv))
			require.NoError(t, err)
			pubData, err := os.ReadFile(filepath.Join(dir, c.pub))
			require.NoError(t, err)
			st, err := os.Stat(filepath.Join(dir, c.priv))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
			assert.True(t, strings.HasPrefix(string(pubData), c.wantPubHead))

			var s sign.Signer
			if c.purpose == sign.PurposeOVA {
				s, err = sign.LoadX509Signer(privData, pubData, c.purpose)
			} else {
				s, err = sign.LoadSigner(privData, c.purpose, nil)
			}
			require.NoError(t, err)
			assert.Contains(t, stdout, s.KeyID())
			pub, err := sign.LoadPublicKey(pubData, c.purpose)
			require.NoError(t, err)
			assert.Equal(t, s.KeyID(), pub.KeyID())
			sig, err := s.Sign(ctx, msg)
			require.NoError(t, err)
			_, err = pub.Verify(ctx, msg, sig)
			require.NoError(t, err)

			if c.purpose == sign.PurposeOVA {
				cert := pub.(*sign.X509PublicKey).Certificate()
				assert.Equal(t, "Example Vendor", cert.Subject.CommonName)
				assert.Equal(t, time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC), cert.NotBefore)
				assert.Equal(t, time.Date(2036, 3, 4, 0, 0, 0, 0, time.UTC), cert.NotAfter)
				openssl := testutil.RequireTool(t, "openssl")
				text := testutil.MustRun(t, dir, nil, openssl, "x509", "-in", "ova.crt", "-noout", "-text")
				assert.Contains(t, string(text), "Code Signing")
			}

			// A second run refuses to overwrite; -force does.
			code, _, stderr = runKeygen(t, "-purpose", string(c.purpose), "-o", dir)
			assert.Equal(t, exitFail, code)
			assert.Contains(t, stderr, "exists")
			after, _ := os.ReadFile(filepath.Join(dir, c.priv))
			assert.Equal(t, privData, after)
			code, _, stderr = runKeygen(t, "-purpose", string(c.purpose), "-o", dir, "-force")
			require.Equal(t, exitOK, code, stderr)
		})
	}
}

func TestKeygenUpdateGPG(t *testing.T) {
	gpg := testutil.RequireTool(t, "gpg")
	gpgconf := testutil.RequireTool(t, "gpgconf")
	dir := t.TempDir()
	t.Setenv("FOGKIT_TEST_PASSPHRASE", "secret")
	code, stdout, stderr := runKeygen(t, "-purpose", "update", "-name", "Updates", "-email", "u@example.com",
		"-time", "2026-01-01T00:00:00Z", "-passphrase-env", "FOGKIT_TEST_PASSPHRASE", "-o", dir)
	require.Equal(t, exitOK, code, stderr)
	priv, err := os.ReadFile(filepath.Join(dir, "update.key"))
	require.NoError(t, err)
	_, err = sign.LoadSigner(priv, sign.PurposeUpdate, nil)
	require.ErrorIs(t, err, sign.ErrDecrypt)
	s, err := sign.LoadSigner(priv, sign.PurposeUpdate, []byte("secret"))
	require.NoError(t, err)
	assert.Contains(t, stdout, s.KeyID())
	assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), s.(*sign.OpenPGPSigner).CreationTime())

	home, err := os.MkdirTemp("", "fkkg")
	require.NoError(t, err)
	t.Cleanup(func() {
		testutil.Run(t, home, nil, gpgconf, "--homedir", home, "--kill", "all")
		os.RemoveAll(home)
	})
	require.NoError(t, os.Chmod(home, 0o700))
	testutil.MustRun(t, home, nil, gpg, "--homedir", home, "--batch", "--import", filepath.Join(dir, "update.pub"))
	out := testutil.MustRun(t, home, nil, gpg, "--homedir", home, "--batch", "--with-colons", "--list-keys")
	assert.Contains(t, strings.ToLower(string(out)), s.KeyID())
	assert.Contains(t, string(out), "Updates <u@example.com>")
}

func TestKeygenUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-purpose", "license"},
		{"-purpose", "mail", "-o", t.TempDir()},
		{"-purpose", "license", "-o", t.TempDir(), "extra"},
		{"-purpose", "ova", "-o", t.TempDir(), "-years", "-1"},
		{"-purpose", "license", "-o", t.TempDir(), "-passphrase-env", "X"},
		{"-purpose", "update", "-o", t.TempDir(), "-time", "yesterday"},
		{"-bogus"},
	} {
		code, _, stderr := runKeygen(t, args...)
		assert.Equal(t, exitUsage, code, "%q: %s", args, stderr)
	}
	code, _, _ := runKeygen(t, "-h")
	assert.Equal(t, exitOK, code)
}
