// Command support measures support.Write on a large log directory.
//
//	go run ./internal/bench/support [-dir DIR] [-files 10] [-size 50] [-keep]
//
// It writes -files logs of -size MiB each (realistic lines, one in fifty
// holding a secret) into -dir (default: a directory in os.TempDir), then,
// each in a child process so that peak RSS comes from the kernel, runs:
//
//   - files:   support.Write with default caps over Glob(logs/*.log) plus
//     SystemFacts, encrypted to a generated support key (the logs are read
//     from their ends)
//   - streams: the same logs given as Reader sources, so every byte up to
//     the stream limit (20 MiB of each log with the default caps) goes
//     through the line ring
//   - tail|zstd: `tail -n 10000` of each log piped into `zstd -3`, for scale
//
// and prints wall time, CPU time, output size and peak RSS of each.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/fogkit/fogkit/internal/bench/benchutil"
	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/support"
)

func main() {
	benchutil.Main(func(args []string) error { return child(args[0], args[1]) }, parent)
}

func parent() error {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "fogkit-bench-support"), "log directory")
	files := flag.Int("files", 10, "number of log files")
	size := flag.Int("size", 50, "MiB per log file")
	keep := flag.Bool("keep", false, "keep the log directory afterwards")
	flag.Parse()
	if err := generate(*dir, *files, int64(*size)<<20); err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(*dir)
	}
	fmt.Printf("support.Write over %d logs of %d MiB (%d MiB), default caps, zstd, encrypted; %d CPUs\n",
		*files, *size, *files**size, runtime.NumCPU())
	fmt.Printf("%-10s %9s %9s %12s %10s\n", "run", "wall", "cpu", "output", "peak RSS")
	for _, mode := range []string{"files", "streams", "tail|zstd"} {
		out := filepath.Join(os.TempDir(), "fogkit-bench-support.out")
		var cmd *exec.Cmd
		if mode == "tail|zstd" {
			cmd = exec.Command("sh", "-c", `for f in "$1"/*.log; do tail -n 10000 "$f"; done | zstd -q -3 -T1 -f -o "$2"`, "sh", *dir, out)
		} else {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			cmd = exec.Command(exe, "-child", mode, *dir)
			cmd.Env = append(os.Environ(), "BENCH_OUT="+out)
		}
		cmd.Stderr = os.Stderr
		m, err := benchutil.Measure(cmd)
		if err != nil {
			return fmt.Errorf("%s: %w", mode, err)
		}
		fi, err := os.Stat(out)
		if err != nil {
			return err
		}
		os.Remove(out)
		fmt.Printf("%-10s %8.2fs %8.2fs %9.2f MiB %6.1f MiB\n", mode, m.Wall.Seconds(), m.CPU.Seconds(),
			float64(fi.Size())/(1<<20), float64(m.RSSKiB)/1024)
	}
	return nil
}

// child writes one bundle to $BENCH_OUT and reports its own figures.
func child(mode, dir string) error {
	key, err := sign.GenerateOpenPGP("Bench Support", "support@example.com", sign.PurposeSupport, nil)
	if err != nil {
		return err
	}
	var srcs []support.Source
	if mode == "files" {
		srcs = append(srcs, support.Glob("logs", filepath.Join(dir, "*.log")))
	} else {
		names, _ := filepath.Glob(filepath.Join(dir, "*.log"))
		for _, n := range names {
			srcs = append(srcs, support.Reader("logs/"+filepath.Base(n), func(context.Context) (io.ReadCloser, error) { return os.Open(n) }))
		}
	}
	srcs = append(srcs, support.SystemFacts()...)
	f, err := os.Create(os.Getenv("BENCH_OUT"))
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	start := time.Now()
	idx, err := support.Write(context.Background(), w, &support.Options{
		Product: "bench", Sources: srcs, Recipients: []*sign.OpenPGPPublicKey{key.Public()},
		Now: func() time.Time { return time.Unix(1772366400, 0) },
	})
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "  %s: Write %.2fs, %d files, %.1f MiB stored, %d redactions, %d truncated, VmHWM %s\n",
		mode, time.Since(start).Seconds(), len(idx.Files), float64(idx.TotalBytes)/(1<<20), idx.Redactions, idx.Truncated, vmHWM())
	return nil
}

func vmHWM() string {
	b, _ := os.ReadFile("/proc/self/status")
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

var (
	levels   = []string{"INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"}
	services = []string{"api", "worker", "scheduler", "auth", "db-pool", "updater"}
	messages = []string{
		"request completed method=GET path=/api/v1/status status=200 bytes=%d",
		"job %d finished in %dms",
		"connection from 10.0.%d.%d accepted",
		"cache hit ratio %d.%d%%",
		"retrying upstream call attempt=%d delay=%dms",
		"user bob%d logged in from 192.168.%d.1",
	}
	secrets = []string{
		"login token=FAKEtok%d-%d accepted",
		"db url postgres://app:FAKEpw%d-%d@db.internal/app",
		"Authorization: Bearer FAKEbearer%d%d",
		"config password=FAKEpw-%d-%d reloaded",
	}
)

// generate writes the logs unless they are there with the right sizes.
func generate(dir string, files int, size int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Unix(1772366400, 0).UTC()
	for i := range files {
		p := filepath.Join(dir, fmt.Sprintf("service-%02d.log", i))
		if fi, err := os.Stat(p); err == nil && fi.Size() == size {
			continue
		}
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		var line bytes.Buffer
		var n int64
		for j := 0; n < size; j++ {
			line.Reset()
			fmt.Fprintf(&line, "%s %-5s %-9s ", t0.Add(time.Duration(j)*37*time.Millisecond).Format(time.RFC3339Nano), levels[rng.IntN(len(levels))], services[rng.IntN(len(services))])
			if j%50 == 49 {
				fmt.Fprintf(&line, secrets[rng.IntN(len(secrets))], i, j)
			} else {
				fmt.Fprintf(&line, messages[rng.IntN(len(messages))], rng.IntN(5000), rng.IntN(250))
			}
			line.WriteByte('\n')
			b := line.Bytes()
			if n+int64(len(b)) > size {
				b = append(bytes.Repeat([]byte{'.'}, int(size-n-1)), '\n')
			}
			w.Write(b)
			n += int64(len(b))
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}
