package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/internal/testutil"
)

// fogkitBin is the command, built once for every test.
var fogkitBin string

func TestMain(m *testing.M) {
	os.Exit(testutil.MainWithBinaries(m, map[string]*string{".": &fogkitBin}))
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

// fogkit runs the binary in dir (the repository root when dir is "") with
// extra environment variables.
func fogkitIn(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	if dir == "" {
		dir = "../.."
	}
	r := testutil.RunEnv(t, dir, env, fogkitBin, args...)
	return result{string(r.Stdout), string(r.Stderr), r.ExitCode}
}

func fogkit(t *testing.T, args ...string) result {
	t.Helper()
	return fogkitIn(t, "", nil, args...)
}

// ok runs the binary and requires exit 0.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	r := fogkit(t, args...)
	require.Equal(t, 0, r.code, "fogkit %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.stdout, r.stderr)
	return r.stdout
}

// exits runs the binary and requires the exit code.
func exits(t *testing.T, code int, args ...string) result {
	t.Helper()
	r := fogkit(t, args...)
	require.Equal(t, code, r.code, "fogkit %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.stdout, r.stderr)
	return r
}

var (
	hexRE  = regexp.MustCompile(`^[0-9a-fA-F]{16,}$`)
	timeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d`)
)

// normalize makes a -json report comparable with its golden file: paths
// under dir become $DIR, hex strings of 16 digits or more (digests of
// random keys, key ids) <hex>, PEM and armored text <pem>, and the keys
// named in volatile take <volatile> (values that follow from random keys,
// such as signature sizes).
func normalize(t *testing.T, b []byte, dir string, volatile ...string) []byte {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(b, &v), "%s", b)
	var walk func(key string, v any) any
	walk = func(key string, v any) any {
		for _, k := range volatile {
			if k == key {
				return "<volatile>"
			}
		}
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(k, e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(key, e)
			}
		case string:
			switch {
			case hexRE.MatchString(x):
				return "<hex>"
			case strings.HasPrefix(x, "-----BEGIN"):
				return "<pem>"
			}
			return strings.ReplaceAll(x, dir, "$DIR")
		}
		return v
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(walk("", v)))
	return out.Bytes()
}

// golden checks a -json report against testdata/<name>.json.
func golden(t *testing.T, name, out, dir string, volatile ...string) {
	t.Helper()
	testutil.Golden(t, name+".json", normalize(t, []byte(out), dir, volatile...))
}

func TestUsageAndExitCodes(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string // in stdout or stderr
	}{
		{"no command", nil, exitUsage, "usage: fogkit COMMAND"},
		{"unknown command", []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"help", []string{"help"}, exitOK, "convert"},
		{"help of a command", []string{"help", "convert"}, exitOK, "-to"},
		{"build -h", []string{"build", "-h"}, exitOK, "-flavour"},
		{"inspect -h", []string{"inspect", "-h"}, exitOK, "-key"},
		{"unknown flag", []string{"verify", "-bogus", dir}, exitUsage, "-bogus"},
		{"build without -f", []string{"build"}, exitUsage, "-f is required"},
		{"build of a missing file", []string{"build", "-f", missing}, exitError, missing},
		{"bad -formats", []string{"build", "-f", "examples/appliance.yaml", "-formats", "floppy"}, exitUsage, "-formats"},
		{"convert without -to", []string{"convert", missing, missing + ".out"}, exitUsage, "-to is required"},
		{"convert to an unknown format", []string{"convert", "-to", "vdi", missing, missing + ".out"}, exitUsage, "vdi"},
		{"convert of a missing file", []string{"convert", "-to", "qcow2", missing, missing + ".out"}, exitError, missing},
		{"inspect of a missing file", []string{"inspect", missing}, exitError, missing},
		{"inspect with two files", []string{"inspect", missing, missing}, exitUsage, "want 1 argument"},
		{"verify of a directory without build.json", []string{"verify", dir}, exitError, "build.json"},
		{"license without a subcommand", []string{"license"}, exitUsage, "issue|verify|inspect"},
		{"license verify without -pub", []string{"license", "verify", "-product", "p", missing}, exitUsage, "-pub is required"},
		{"update apply without -target", []string{"update", "apply", "-pub", missing, missing}, exitUsage, "-target is required"},
		{"cloud check of another cloud", []string{"cloud", "check", "-target", "mars", missing}, exitUsage, "mars"},
		{"backup verify without a secret", []string{"backup", "verify", missing}, exitUsage, "-passphrase-file"},
		{"support open without a key", []string{"support", "open", missing}, exitUsage, "-key or -plain"},
		{"keys without create", []string{"keys", "list"}, exitUsage, "keys create"},
		{"version", []string{"version"}, exitOK, "fogkit "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exits(t, tc.code, tc.args...)
			assert.Contains(t, r.stdout+r.stderr, tc.out)
		})
	}
}
