package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/support"
)

func TestOpenBundle(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ks, err := sign.CreateKeyDir(filepath.Join(dir, "keys"), &sign.KeyDirOptions{Name: "acme"})
	require.NoError(t, err)
	pub, err := sign.LoadOpenPGPPublicKey(ks.SupportPublic, sign.PurposeSupport)
	require.NoError(t, err)
	var bundle bytes.Buffer
	_, err = support.Write(ctx, &bundle, &support.Options{Product: "acme", Version: "2.0", Recipients: []*sign.OpenPGPPublicKey{pub},
		Sources: []support.Source{support.Bytes("app/app.log", []byte("start\npassword=hunter2hunter2\n"))}})
	require.NoError(t, err)
	file := filepath.Join(dir, "b.tar.zst.gpg")
	require.NoError(t, os.WriteFile(file, bundle.Bytes(), 0o600))
	key := filepath.Join(dir, "keys", sign.SupportKeyFile)

	var out, errb bytes.Buffer
	x := filepath.Join(dir, "x")
	require.Equal(t, 0, run(ctx, []string{"-key", key, "-x", x, file}, &out, &errb), errb.String())
	require.Contains(t, out.String(), "app/app.log")
	require.Contains(t, out.String(), "1 redactions")
	b, err := os.ReadFile(filepath.Join(x, "app", "app.log"))
	require.NoError(t, err)
	require.Contains(t, string(b), "start\n")
	require.NotContains(t, string(b), "hunter2hunter2")

	out.Reset()
	require.Equal(t, 0, run(ctx, []string{"-key", key, "-json", file}, &out, &errb))
	require.Contains(t, out.String(), `"path": "app/app.log"`)

	bad := bytes.Clone(bundle.Bytes())
	bad[len(bad)/2] ^= 1
	require.NoError(t, os.WriteFile(file, bad, 0o600))
	require.Equal(t, 1, run(ctx, []string{"-key", key, file}, &out, &errb))
	require.Equal(t, 2, run(ctx, []string{file}, &out, &errb))
}
