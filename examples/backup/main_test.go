package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/backup"
)

func TestVerifyAndRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	require.NoError(t, os.MkdirAll(src, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "notes.txt"), []byte("hello\n"), 0o644))
	var bk bytes.Buffer
	_, err := backup.Write(ctx, &bk, &backup.Options{Product: "acme", Version: "2.0", Sequence: 2, Dir: src, Passphrase: []byte("a long passphrase")})
	require.NoError(t, err)
	file := filepath.Join(dir, "a.fogbak")
	require.NoError(t, os.WriteFile(file, bk.Bytes(), 0o600))
	pass := filepath.Join(dir, "pass")
	require.NoError(t, os.WriteFile(pass, []byte("a long passphrase\n"), 0o600))
	wrong := filepath.Join(dir, "wrong")
	require.NoError(t, os.WriteFile(wrong, []byte("another passphrase\n"), 0o600))

	var out, errb bytes.Buffer
	require.Equal(t, 0, run(ctx, []string{"verify", "-passphrase-file", pass, file}, &out, &errb), errb.String())
	require.Contains(t, out.String(), "acme 2.0 (sequence 2, schema 0)")
	require.Contains(t, out.String(), "1 files, 6 bytes")
	require.Equal(t, 1, run(ctx, []string{"verify", "-passphrase-file", wrong, file}, &out, &errb))
	require.Equal(t, 2, run(ctx, []string{"verify", file}, &out, &errb))

	to := filepath.Join(dir, "restored")
	require.Equal(t, 1, run(ctx, []string{"restore", "-passphrase-file", pass, "-to", to, "-product", "acme", "-sequence", "1", file}, &out, &errb),
		"a newer appliance's backup is refused")
	require.NoDirExists(t, to)
	require.Equal(t, 0, run(ctx, []string{"restore", "-passphrase-file", pass, "-to", to, "-product", "acme", "-sequence", "2", file}, &out, &errb), errb.String())
	b, err := os.ReadFile(filepath.Join(to, "notes.txt"))
	require.NoError(t, err)
	require.Equal(t, "hello\n", string(b))
}
