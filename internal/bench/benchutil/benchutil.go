// Package benchutil holds what the comparison programs under
// internal/bench share: running a tool as a child process and reading its
// wall time, CPU time and peak RSS, and the machine's load average.
package benchutil

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Run runs args as a child process (stdout discarded, stderr passed on)
// and returns its wall time, CPU time (user+sys) and peak RSS in KiB.
func Run(args []string) (wall, cpu time.Duration, rssKiB int64, err error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, 0, err
	}
	wall = time.Since(start)
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, 0, 0, fmt.Errorf("no rusage")
	}
	return wall, time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss, nil
}

// LoadAvg is the 1, 5 and 15 minute load averages, or "?".
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
