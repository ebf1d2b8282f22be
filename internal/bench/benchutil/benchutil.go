// Package benchutil holds what the comparison programs under
// internal/bench share: running a tool as a child process and reading its
// wall time, CPU time and peak RSS, running contenders interleaved, medians
// and bests of their samples, and a description of the machine.
package benchutil

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Sample is one measured run of a child process.
type Sample struct {
	Wall, CPU time.Duration // CPU is user+sys
	RSSKiB    int64         // peak resident set size, from the child's rusage
	Size      int64         // apparent size of the run's output, in bytes
	Alloc     int64         // bytes the output occupies on the host (allocated blocks)
}

// Measure runs cmd, with the standard streams the caller gave it, and
// returns its wall time, CPU time and peak RSS; Size and Alloc stay zero.
func Measure(cmd *exec.Cmd) (Sample, error) {
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return Sample{}, err
	}
	wall := time.Since(start)
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return Sample{}, errors.New("no rusage")
	}
	return Sample{Wall: wall, CPU: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), RSSKiB: ru.Maxrss}, nil
}

// Run runs args as a child process (stdout discarded, stderr passed on)
// and measures it as Measure does.
func Run(args []string) (Sample, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	return Measure(cmd)
}

// FileSize returns the apparent size of path and the bytes its allocated
// blocks occupy (less than the size for a sparse file).
func FileSize(path string) (size, alloc int64, err error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, 0, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return st.Size, st.Blocks * 512, nil
}

// Tool is one contender of a comparison.
type Tool struct {
	Name string   // as the tables show it
	Ref  string   // the Name of the tool it is compared with ("" for none)
	Out  string   // the file it writes
	Args []string // its command line
}

// Interleave runs every tool once per round, for runs rounds, so that a
// change of the machine's load hits all tools alike, and returns each
// tool's samples by name, with Size and Alloc of its output. Before each
// run it removes the tool's previous output and, with sync, writes back
// every dirty page, so that the previous run's writeback does not throttle
// this one. row, if not nil, is called after every run (to print a line).
func Interleave(tools []Tool, runs int, sync bool, row func(round int, t Tool, s Sample)) (map[string][]Sample, error) {
	res := map[string][]Sample{}
	for r := 1; r <= runs; r++ {
		for _, t := range tools {
			os.Remove(t.Out)
			if sync {
				syscall.Sync()
			}
			s, err := Run(t.Args)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.Name, err)
			}
			if s.Size, s.Alloc, err = FileSize(t.Out); err != nil {
				return nil, err
			}
			res[t.Name] = append(res[t.Name], s)
			if row != nil {
				row(r, t, s)
			}
		}
	}
	return res, nil
}

// Median returns, field by field, the median of ss (the upper middle one of
// an even count); the zero Sample for none.
func Median(ss []Sample) Sample {
	if len(ss) == 0 {
		return Sample{}
	}
	pick := func(f func(Sample) int64) int64 {
		v := make([]int64, len(ss))
		for i, s := range ss {
			v[i] = f(s)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return Sample{
		Wall:   time.Duration(pick(func(s Sample) int64 { return int64(s.Wall) })),
		CPU:    time.Duration(pick(func(s Sample) int64 { return int64(s.CPU) })),
		RSSKiB: pick(func(s Sample) int64 { return s.RSSKiB }),
		Size:   pick(func(s Sample) int64 { return s.Size }),
		Alloc:  pick(func(s Sample) int64 { return s.Alloc }),
	}
}

// Best returns the sample with the shortest wall time (the first of equals);
// the zero Sample for none.
func Best(ss []Sample) Sample {
	if len(ss) == 0 {
		return Sample{}
	}
	return slices.MinFunc(ss, func(a, b Sample) int { return cmp.Compare(a.Wall, b.Wall) })
}

// Machine describes the machine for a table's header: CPUs, GOMAXPROCS
// and architecture.
func Machine() string {
	return fmt.Sprintf("%d CPUs (GOMAXPROCS %d), %s", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOARCH)
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

// Main is the main function of a program that measures itself in child
// processes: started as `prog -child ARGS...`, it runs child(ARGS), and
// parent() otherwise. An error goes to stderr, prefixed with "child:" or
// "bench:", and exits with status 1.
func Main(child func(args []string) error, parent func() error) {
	if len(os.Args) > 1 && os.Args[1] == "-child" {
		if err := child(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		return
	}
	if err := parent(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
