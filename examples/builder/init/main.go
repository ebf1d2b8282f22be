//go:build linux

// Command init is the /init of fogkit's build appliance (examples/builder):
// an appliance whose app is the fogkit command and every input of its own
// build. At boot it brings the system up with package agent (mounts,
// drivers, the data disk at /data) and, when the kernel command line holds
// fogkit.build=SPEC, runs one build of SPEC (a path under /opt/app) into
// /data/build with /opt/app/fogkit, then prints the SHA-256 of every file
// the build wrote, one "fogkit-builder: sha256 HEX NAME" line each, and
// powers off. A build already on the data disk is not redone: its digests
// are printed again.
//
// The build runs in a deliberately different environment from a
// developer's machine (a time zone east of UTC with a 45-minute offset, a
// Turkish locale, umask 077, one CPU, another kernel and file system), so
// that equal digests show none of these reach the bytes.
//
// It is built as a static binary and placed in the app tree by
// examples/builder:
//
//	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -buildvcs=false -ldflags "-s -w" ./examples/builder/init
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fogkit/fogkit/agent"
)

const (
	appDir   = "/opt/app"
	buildDir = "/data/build"
	// Marker ends the digest lines: a test waits for it.
	marker = "fogkit-builder: done"
)

func main() {
	_ = agent.MountSystem()
	out := console()
	fmt.Fprintln(out, "\n=== fogkit build appliance ===")
	rep, err := agent.Setup(context.Background(), &agent.SetupOptions{Data: &agent.DataOptions{Wait: 15 * time.Second}})
	fmt.Fprint(out, rep.String())
	spec := field(readCmdline(), "fogkit.build=")
	switch {
	// A build needs no network: only the data disk matters here.
	case rep.Data == nil:
		fmt.Fprintf(out, "fogkit-builder: no data disk to build on (%v)\n", err)
	case spec == "":
		fmt.Fprintln(out, "fogkit-builder: no fogkit.build=SPEC on the kernel command line: nothing to build")
	default:
		if err := build(out, spec); err != nil {
			fmt.Fprintf(out, "fogkit-builder: FAILED: %v\n", err)
		} else {
			fmt.Fprintln(out, marker)
		}
	}
	syscall.Sync()
	_ = syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	for {
		time.Sleep(time.Hour)
	}
}

// build runs the build once and prints the digest of every file in the
// build directory.
func build(out io.Writer, spec string) error {
	if _, err := os.Stat(filepath.Join(buildDir, "build.json")); err != nil {
		fmt.Fprintf(out, "fogkit-builder: building %s into %s\n", spec, buildDir)
		cmd := exec.Command(filepath.Join(appDir, "fogkit"), "build", "-f", spec, "-keys", "keys", "-out", buildDir, "-timings")
		cmd.Dir = appDir
		cmd.Stdout, cmd.Stderr = out, out
		// Nothing of this environment may reach the outputs.
		cmd.Env = []string{"PATH=/bin", "HOME=/tmp", "TZ=NPT-5:45", "LANG=tr_TR.UTF-8", "LC_ALL=tr_TR.UTF-8"}
		old := syscall.Umask(0o077)
		start := time.Now()
		err := cmd.Run()
		syscall.Umask(old)
		if err != nil {
			return fmt.Errorf("fogkit build: %w", err)
		}
		fmt.Fprintf(out, "fogkit-builder: built in %s\n", time.Since(start).Round(time.Millisecond))
	}
	return filepath.WalkDir(buildDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		sum, err := digest(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(buildDir, p)
		fmt.Fprintf(out, "fogkit-builder: sha256 %s %s\n", sum, rel)
		return nil
	})
}

func digest(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func console() io.Writer {
	if f, err := os.OpenFile("/dev/console", os.O_WRONLY, 0); err == nil {
		return f
	}
	return os.Stdout
}

func readCmdline() string {
	b, _ := os.ReadFile("/proc/cmdline")
	return string(b)
}

// field returns the value of the first word of cmdline starting with
// prefix, or "".
func field(cmdline, prefix string) string {
	for _, w := range strings.Fields(cmdline) {
		if v, ok := strings.CutPrefix(w, prefix); ok {
			return v
		}
	}
	return ""
}
