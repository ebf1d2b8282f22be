package sign_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/sign"
)

func TestCreateAndLoadKeyDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	ks, err := sign.CreateKeyDir(dir, &sign.KeyDirOptions{Name: "acme"})
	require.NoError(t, err)
	st, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	for _, f := range []string{sign.LicenseKeyFile, sign.UpdateKeyFile, sign.OVAKeyFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), f)
	}
	again, err := sign.LoadKeyDir(dir)
	require.NoError(t, err)
	require.Equal(t, ks.License.KeyID(), again.License.KeyID())
	require.Equal(t, ks.Update.KeyID(), again.Update.KeyID())
	require.Equal(t, ks.OVA.KeyID(), again.OVA.KeyID())
	require.Equal(t, "acme code signing", again.OVACertificates()[0].Subject.CommonName)

	// The public files verify what the private keys sign.
	ctx := context.Background()
	for _, c := range []struct {
		s   sign.Signer
		pub []byte
		p   sign.Purpose
	}{{again.License, again.LicensePublic, sign.PurposeLicense}, {again.Update, again.UpdatePublic, sign.PurposeUpdate}} {
		sig, err := c.s.Sign(ctx, []byte("hello"))
		require.NoError(t, err)
		pk, err := sign.LoadPublicKey(c.pub, c.p)
		require.NoError(t, err)
		_, err = pk.Verify(ctx, []byte("hello"), sig)
		require.NoError(t, err)
	}
	ents, err := os.ReadDir(filepath.Dir(dir))
	require.NoError(t, err)
	require.Len(t, ents, 1, "no temporary directory left beside the key set")
}

func TestKeyDirRefuses(t *testing.T) {
	base := t.TempDir()
	good := filepath.Join(base, "good")
	_, err := sign.CreateKeyDir(good, &sign.KeyDirOptions{Name: "acme"})
	require.NoError(t, err)
	other := filepath.Join(base, "other")
	_, err = sign.CreateKeyDir(other, &sign.KeyDirOptions{Name: "other"})
	require.NoError(t, err)

	_, err = sign.CreateKeyDir(good, &sign.KeyDirOptions{Name: "acme"})
	require.ErrorIs(t, err, sign.ErrKeyDir, "a non-empty directory is never overwritten")
	_, err = sign.CreateKeyDir(filepath.Join(base, "x"), nil)
	require.ErrorIs(t, err, sign.ErrKeyDir, "a key set needs a name")

	copyDir := func(t *testing.T) string {
		d := filepath.Join(t.TempDir(), "k")
		require.NoError(t, os.Mkdir(d, 0o700))
		ents, err := os.ReadDir(good)
		require.NoError(t, err)
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(good, e.Name()))
			require.NoError(t, err)
			st, _ := e.Info()
			require.NoError(t, os.WriteFile(filepath.Join(d, e.Name()), b, st.Mode().Perm()))
		}
		return d
	}
	t.Run("missing file", func(t *testing.T) {
		d := copyDir(t)
		require.NoError(t, os.Remove(filepath.Join(d, sign.OVACertFile)))
		_, err := sign.LoadKeyDir(d)
		require.ErrorIs(t, err, sign.ErrKeyDir)
	})
	t.Run("private key readable by others", func(t *testing.T) {
		d := copyDir(t)
		require.NoError(t, os.Chmod(filepath.Join(d, sign.UpdateKeyFile), 0o644))
		_, err := sign.LoadKeyDir(d)
		require.ErrorIs(t, err, sign.ErrKeyDir)
		require.ErrorContains(t, err, "chmod 600")
	})
	t.Run("public half of another key", func(t *testing.T) {
		d := copyDir(t)
		b, err := os.ReadFile(filepath.Join(other, sign.LicensePublicFile))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(d, sign.LicensePublicFile), b, 0o644))
		_, err = sign.LoadKeyDir(d)
		require.ErrorIs(t, err, sign.ErrKeyDir)
		require.ErrorContains(t, err, "not the public half")
	})
	t.Run("key for another purpose", func(t *testing.T) {
		d := copyDir(t)
		b, err := os.ReadFile(filepath.Join(good, sign.UpdateKeyFile))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(d, sign.LicenseKeyFile), b, 0o600))
		_, err = sign.LoadKeyDir(d)
		require.ErrorIs(t, err, sign.ErrKeyDir)
	})
}

func TestGenerateX509(t *testing.T) {
	s, err := sign.GenerateX509("acme code signing", sign.PurposeOVA, nil)
	require.NoError(t, err)
	require.Equal(t, sign.PurposeOVA, s.Purpose())
	require.Equal(t, "acme code signing", s.Certificates()[0].Subject.CommonName)
}

func TestKeyDirSupportKey(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "keys")
	ks, err := sign.CreateKeyDir(dir, &sign.KeyDirOptions{Name: "acme"})
	require.NoError(t, err)
	require.NotNil(t, ks.Support)
	require.Equal(t, sign.PurposeSupport, ks.Support.Purpose())
	st, err := os.Stat(filepath.Join(dir, sign.SupportKeyFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	// What is encrypted to support.pub opens with support.key.
	pub, err := sign.LoadOpenPGPPublicKey(ks.SupportPublic, sign.PurposeSupport)
	require.NoError(t, err)
	var ct, pt bytes.Buffer
	require.NoError(t, sign.Encrypt(ctx, &ct, strings.NewReader("bundle"), []*sign.OpenPGPPublicKey{pub}, nil))
	require.NoError(t, sign.Decrypt(ctx, &pt, &ct, ks.Support, nil))
	require.Equal(t, "bundle", pt.String())

	// A directory made before the support key existed still loads.
	require.NoError(t, os.Remove(filepath.Join(dir, sign.SupportKeyFile)))
	require.NoError(t, os.Remove(filepath.Join(dir, sign.SupportPublicFile)))
	old, err := sign.LoadKeyDir(dir)
	require.NoError(t, err)
	require.Nil(t, old.Support)
	require.Nil(t, old.SupportPublic)

	// Half a pair is refused.
	require.NoError(t, os.WriteFile(filepath.Join(dir, sign.SupportPublicFile), ks.SupportPublic, 0o644))
	_, err = sign.LoadKeyDir(dir)
	require.ErrorIs(t, err, sign.ErrKeyDir)
}
