package testutil

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// InteropRequired reports whether FOGKIT_INTEROP=require is set, in which
// case a missing tool or asset fails the test instead of skipping it.
func InteropRequired() bool { return os.Getenv("FOGKIT_INTEROP") == "require" }

// RequireTool returns the absolute path of an external program. It skips the
// test when the program is missing, or fails it when interop is required.
// It logs "interop: <tool>" so a CI log shows which interop tests ran.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
			if c := filepath.Join(dir, name); isExec(c) {
				p, err = c, nil
				break
			}
		}
	}
	if err != nil {
		Missing(t, "tool "+name+" not found")
		return ""
	}
	t.Logf("interop: %s (%s)", name, p)
	return p
}

// RequireFile returns path if it exists; otherwise it skips or, when interop
// is required, fails. Use it for host assets such as OVMF images.
func RequireFile(t testing.TB, what, path string) string {
	t.Helper()
	if path == "" {
		Missing(t, what+" not configured")
		return ""
	}
	if _, err := os.Stat(path); err != nil {
		Missing(t, what+" not found at "+path)
		return ""
	}
	return path
}

// Missing skips the test with the reason, or fails it when interop is
// required.
func Missing(t testing.TB, why string) {
	t.Helper()
	if InteropRequired() {
		t.Fatalf("FOGKIT_INTEROP=require: %s", why)
	}
	t.Skipf("skipping interop test: %s (set FOGKIT_INTEROP=require to fail instead)", why)
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// Result is what Run captured from an external program.
type Result struct {
	Stdout, Stderr []byte
	ExitCode       int
}

// Run runs a program with a 5-minute cap and returns its output; it fails
// the test only when the program could not be started. Callers assert the
// exit code themselves so that negative checks ("openssl must reject this")
// read naturally.
func Run(t testing.TB, dir string, stdin []byte, name string, args ...string) Result {
	t.Helper()
	return run(t, dir, stdin, nil, name, args...)
}

// RunEnv is Run without stdin and with env (NAME=value) added to the
// environment.
func RunEnv(t testing.TB, dir string, env []string, name string, args ...string) Result {
	t.Helper()
	return run(t, dir, nil, env, name, args...)
}

func run(t testing.TB, dir string, stdin []byte, env []string, name string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := Result{Stdout: out.Bytes(), Stderr: errb.Bytes()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run %s %s: %v", name, strings.Join(args, " "), err)
		}
		res.ExitCode = ee.ExitCode()
	}
	return res
}

// MustRun is Run that fails the test on a non-zero exit, showing stderr.
func MustRun(t testing.TB, dir string, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	r := Run(t, dir, stdin, name, args...)
	if r.ExitCode != 0 {
		t.Fatalf("%s %s: exit %d\nstdout: %s\nstderr: %s", name, strings.Join(args, " "),
			r.ExitCode, tail(r.Stdout, 2000), tail(r.Stderr, 2000))
	}
	return r.Stdout
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// RepoRoot returns the repository root (the directory holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testutil: cannot locate source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// SharedDir returns ../shared beside the repository root (the XSD schemas
// and format notes live there), skipping or failing when it is absent.
func SharedDir(t testing.TB) string {
	t.Helper()
	return RequireFile(t, "shared directory", filepath.Join(RepoRoot(t), "..", "shared"))
}
