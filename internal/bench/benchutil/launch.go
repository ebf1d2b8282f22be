package benchutil

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// MeasureLaunched runs a command through a launcher process (this binary
// run as "<self> launch NAME ARGS...", which calls Launch) and returns its
// wall time, CPU time and peak RSS in KiB. The launcher matters: Linux
// carries a process's peak RSS across fork and exec, so a child forked
// straight from a benchmark that holds corpora in memory would report at
// least the benchmark's RSS.
func MeasureLaunched(name string, args ...string) (time.Duration, time.Duration, int64, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, 0, 0, err
	}
	cmd := exec.Command(self, append([]string{"launch", name}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	var wall, cpu time.Duration
	var rss int64
	if _, err := fmt.Sscan(string(out), &wall, &cpu, &rss); err != nil {
		return 0, 0, 0, fmt.Errorf("launcher output %q: %w", out, err)
	}
	return wall, cpu, rss, nil
}

// Launch runs one command and prints its wall time, CPU time (user+sys)
// and peak RSS (KiB) on stdout, for MeasureLaunched.
func Launch(name string, args []string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	wall := time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	fmt.Printf("%d %d %d\n", wall, cpu, ru.Maxrss)
	return nil
}
