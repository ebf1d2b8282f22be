package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/internal/testutil"
)

var bin string

// TestMain builds the program once; the tests run it as a user would.
func TestMain(m *testing.M) {
	os.Exit(testutil.MainWithBinaries(m, map[string]*string{".": &bin}))
}

type result struct {
	stdout, stderr string
	code           int
}

func runBin(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	r := testutil.RunEnv(t, dir, env, bin, args...)
	return result{stdout: string(r.Stdout), stderr: string(r.Stderr), code: r.ExitCode}
}

// fixedKey writes a PKCS#8 key and SPKI public key from a fixed seed.
func fixedKey(t *testing.T, dir string, seed byte, name string) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32))
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644))
}

func issueArgs(out string, extra ...string) []string {
	return append([]string{"issue", "-key", "license.key", "-product", "P", "-customer", "C1", "-name", "Acme Corp",
		"-seats", "5", "-features", "sso,backup", "-expires", "2027-12-31", "-grace", "14d", "-o", out}, extra...)
}

func TestIssueVerifyExitCodes(t *testing.T) {
	dir := t.TempDir()
	fixedKey(t, dir, 1, "license")
	fixedKey(t, dir, 2, "other")
	r := runBin(t, dir, []string{"SOURCE_DATE_EPOCH=1767225600"}, issueArgs("x.lic", "-trial", "-instance", "i1", "-limit", "nodes=3", "-meta", "po=PO-1")...)
	require.Equal(t, 0, r.code, r.stderr)

	verify := func(extra ...string) result {
		return runBin(t, dir, nil, append(append([]string{"verify", "-pub", "license.pub", "-product", "P", "-instance", "i1"}, extra...), "x.lic")...)
	}
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"valid", []string{"-now", "2026-06-01T00:00:00Z"}, 0, "status:     valid\n", ""},
		{"in grace", []string{"-now", "2028-01-05T00:00:00Z"}, 3, "status:     grace\n", ""},
		{"expired", []string{"-now", "2028-01-14T00:00:00Z"}, 4, "status:     expired\n", "license expired"},
		{"not yet valid", []string{"-now", "2025-06-01T00:00:00Z"}, 1, "status:     invalid\n", "not yet valid"},
		{"wrong instance", []string{"-instance", "i2", "-now", "2026-06-01T00:00:00Z"}, 1, "status:     invalid\n", "another instance"},
		{"bad -now", []string{"-now", "yesterday"}, 1, "", "-now"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := verify(c.args...)
			require.Equal(t, c.code, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			require.Contains(t, r.stdout, c.stdout)
			require.Contains(t, r.stderr, c.stderr)
		})
	}
	r = verify("-now", "2026-06-01T00:00:00Z")
	for _, want := range []string{"customer:   C1 (Acme Corp)", "seats:      5", "features:   backup, sso", "limit:      nodes=3",
		"trial:      yes", "instance:   i1", "expires at: 2027-12-31T00:00:00Z (grace 14d)", "issued:     2026-01-01T00:00:00Z"} {
		require.Contains(t, r.stdout, want)
	}

	// Wrong product, other key, tampered file, missing file: exit 1 with the error.
	r = runBin(t, dir, nil, "verify", "-pub", "license.pub", "-product", "Q", "-instance", "i1", "-now", "2026-06-01T00:00:00Z", "x.lic")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "another product")
	r = runBin(t, dir, nil, "verify", "-pub", "other.pub", "-product", "P", "x.lic")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "unknown signing key")
	require.Empty(t, r.stdout, "nothing authentic to show")
	data, err := os.ReadFile(filepath.Join(dir, "x.lic"))
	require.NoError(t, err)
	i := bytes.Index(data, []byte("\n\n")) + 5
	data[i] ^= 0x01
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.lic"), data, 0o644))
	r = runBin(t, dir, nil, "verify", "-pub", "license.pub", "-product", "P", "-instance", "i1", "bad.lic")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "error:")
	r = runBin(t, dir, nil, "verify", "-pub", "license.pub", "-product", "P", "missing.lic")
	require.Equal(t, 1, r.code)

	// Key rotation: both keys on the ring.
	r = runBin(t, dir, nil, "verify", "-pub", "other.pub", "-pub", "license.pub", "-product", "P", "-instance", "i1", "-now", "2026-06-01T00:00:00Z", "x.lic")
	require.Equal(t, 0, r.code, r.stderr)
}

func TestStateFileRollback(t *testing.T) {
	dir := t.TempDir()
	fixedKey(t, dir, 1, "license")
	require.Equal(t, 0, runBin(t, dir, nil, issueArgs("x.lic", "-issued", "2026-01-01")...).code)
	v := func(now string) result {
		return runBin(t, dir, nil, "verify", "-pub", "license.pub", "-product", "P", "-state", "state.json", "-now", now, "x.lic")
	}
	require.Equal(t, 0, v("2026-06-01T00:00:00Z").code)
	r := v("2026-03-01T00:00:00Z")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "clock went backwards")
	state, err := os.ReadFile(filepath.Join(dir, "state.json"))
	require.NoError(t, err)
	require.Contains(t, string(state), `"lastSeen": "2026-06-01T00:00:00Z"`)
}

func TestIssueReproducible(t *testing.T) {
	dir := t.TempDir()
	fixedKey(t, dir, 1, "license")
	env := []string{"SOURCE_DATE_EPOCH=1767225600"}
	require.Equal(t, 0, runBin(t, dir, env, issueArgs("a.lic")...).code)
	require.Equal(t, 0, runBin(t, dir, env, issueArgs("b.lic")...).code)
	// -issued overrides the environment with the same instant.
	require.Equal(t, 0, runBin(t, dir, []string{"SOURCE_DATE_EPOCH=1"}, issueArgs("c.lic", "-issued", "2026-01-01T00:00:00Z")...).code)
	require.Equal(t, 0, runBin(t, dir, nil, issueArgs("d.lic", "-epoch", "1767225600")...).code)
	a, _ := os.ReadFile(filepath.Join(dir, "a.lic"))
	for _, n := range []string{"b.lic", "c.lic", "d.lic"} {
		b, _ := os.ReadFile(filepath.Join(dir, n))
		require.Equal(t, string(a), string(b), n)
	}
	// Another issue time gives another license id and file.
	require.Equal(t, 0, runBin(t, dir, []string{"SOURCE_DATE_EPOCH=1767225601"}, issueArgs("e.lic")...).code)
	e, _ := os.ReadFile(filepath.Join(dir, "e.lic"))
	require.NotEqual(t, string(a), string(e))
}

func TestIssueErrors(t *testing.T) {
	dir := t.TempDir()
	fixedKey(t, dir, 1, "license")
	for name, args := range map[string][]string{
		"no key":      {"issue", "-product", "P", "-customer", "C", "-o", "x.lic"},
		"no product":  {"issue", "-key", "license.key", "-customer", "C", "-o", "x.lic"},
		"bad expires": issueArgs("x.lic", "-expires", "soon"),
		"bad grace":   issueArgs("x.lic", "-grace", "two weeks"),
		"bad limit":   issueArgs("x.lic", "-limit", "nodes"),
		"neg seats":   issueArgs("x.lic", "-seats", "-1"),
		"public key":  {"issue", "-key", "license.pub", "-product", "P", "-customer", "C", "-o", "x.lic"},
		"unknown cmd": {"frobnicate"},
		"no cmd":      {},
	} {
		t.Run(name, func(t *testing.T) {
			r := runBin(t, dir, nil, args...)
			require.Equal(t, 1, r.code, r.stdout)
			require.NotEmpty(t, r.stderr)
		})
	}
}

func TestKeygenAndInspect(t *testing.T) {
	dir := t.TempDir()
	r := runBin(t, dir, nil, "keygen", "-key", "k.key", "-pub", "k.pub")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "key id ")
	st, err := os.Stat(filepath.Join(dir, "k.key"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	// Never overwrites a key.
	r = runBin(t, dir, nil, "keygen", "-key", "k.key", "-pub", "k2.pub")
	require.Equal(t, 1, r.code)

	r = runBin(t, dir, []string{"SOURCE_DATE_EPOCH=1767225600"}, "issue", "-key", "k.key", "-product", "P", "-customer", "C9", "-name", "Support", "-o", "-")
	require.Equal(t, 0, r.code, r.stderr)
	require.True(t, strings.HasPrefix(r.stdout, "-----BEGIN FOGKIT LICENSE-----\n"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x.lic"), []byte(r.stdout), 0o644))

	r = runBin(t, dir, nil, "inspect", "x.lic")
	require.Equal(t, 0, r.code, r.stderr)
	require.True(t, strings.HasPrefix(r.stdout, "UNVERIFIED"))
	require.Contains(t, r.stdout, "customer:   C9 (Support)")
	require.Contains(t, r.stdout, `"product": "P"`)
	require.Contains(t, r.stdout, "seats:      unlimited")

	r = runBin(t, dir, nil, "verify", "-pub", "k.pub", "-product", "P", "x.lic")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "expires:    never")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "junk.lic"), []byte("hello\n"), 0o644))
	r = runBin(t, dir, nil, "inspect", "junk.lic")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "malformed")
}
