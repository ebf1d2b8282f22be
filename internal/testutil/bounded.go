package testutil

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Bounds are the ceilings a hostile-input test holds a reader to. A reader
// that promises bounded memory and time on untrusted input must finish its
// work (usually with a typed error) inside them.
type Bounds struct {
	// AddressSpace caps the child's virtual address space (RLIMIT_AS), so an
	// allocation that would blow past it fails inside the child instead of
	// taking the machine down. Zero means 4 GiB.
	AddressSpace int64
	// MaxRSS is the largest peak resident set the parent accepts from the
	// child. Zero means 1 GiB.
	MaxRSS int64
	// CPU caps the child's CPU time (RLIMIT_CPU): a reader that loops for
	// longer is killed by the kernel and the test fails. Zero means 60 s.
	// This is a ceiling against runaway work, not a timing assertion: the
	// fixed inputs finish in a small fraction of it.
	CPU time.Duration
}

const (
	boundedEnv = "FOGKIT_BOUNDED_CHILD"
	peakLine   = "FOGKIT-BOUNDED-PEAK"
)

// Bounded runs body in a child process (the same test binary, re-run with
// -test.run naming only this test) under the given address-space and CPU
// limits, and fails t when the child fails, is killed, or peaks above
// MaxRSS. In the child, Bounded sets the limits and runs body; in the
// parent it never runs body. The child's peak RSS is logged.
//
// Bounded must be called from a top-level test (not a subtest), once.
func Bounded(t *testing.T, b Bounds, body func(t *testing.T)) {
	t.Helper()
	if b.AddressSpace == 0 {
		b.AddressSpace = 4 << 30
	}
	if b.MaxRSS == 0 {
		b.MaxRSS = 1 << 30
	}
	if b.CPU == 0 {
		b.CPU = 60 * time.Second
	}
	if os.Getenv(boundedEnv) == t.Name() {
		if err := setLimits(b.AddressSpace, b.CPU); err != nil {
			t.Fatalf("setting child limits: %v", err)
		}
		body(t)
		// The parent reads the child's peak from this line: rusage's
		// figure also counts the parent's pages the child shared between
		// fork and exec, while VmHWM belongs to the child's own memory.
		if hwm := peakRSS(); hwm > 0 {
			fmt.Printf("%s %d\n", peakLine, hwm)
		}
		return
	}
	if strings.Contains(t.Name(), "/") {
		t.Fatalf("testutil.Bounded must be called from a top-level test, not %s", t.Name())
	}
	if runtime.GOOS != "linux" {
		t.Skip("resource-bounded child processes need Linux rlimits")
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.CPU*3+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0],
		"-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), boundedEnv+"="+t.Name())
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	rss := int64(-1)
	if m := regexp.MustCompile(peakLine + ` (\d+)`).FindSubmatch(out.Bytes()); m != nil {
		rss, _ = strconv.ParseInt(string(m[1]), 10, 64)
	} else if cmd.ProcessState != nil {
		rss = maxRSS(cmd.ProcessState)
	}
	t.Logf("bounded child: peak RSS %s (ceiling %s), address space cap %s, CPU cap %s",
		mib(rss), mib(b.MaxRSS), mib(b.AddressSpace), b.CPU)
	if err != nil {
		t.Fatalf("bounded child failed (%v):\n%s", err, tail(out.Bytes(), 4000))
	}
	if !strings.Contains(out.String(), "--- PASS: "+t.Name()) {
		t.Fatalf("bounded child did not report a pass:\n%s", tail(out.Bytes(), 4000))
	}
	if rss > b.MaxRSS {
		t.Fatalf("bounded child peaked at %s resident, above the %s ceiling", mib(rss), mib(b.MaxRSS))
	}
}

func mib(n int64) string {
	if n < 0 {
		return "unknown"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}
