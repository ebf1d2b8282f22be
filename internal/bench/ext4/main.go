// Command ext4 compares fogkit's ext4 formatter with mke2fs on sparse
// files, the way the build formats an appliance's data disk.
//
//	go run ./internal/bench/ext4 [-sizes 1G,20G,2T] [-runs 3] [-dir DIR]
//
// For each size it formats a fresh sparse file with ext4.Format (in a
// child process, so CPU time and peak RSS come from the kernel) and with
// `mkfs.ext4 -q -F` (mke2fs's defaults: lazy inode table and journal
// initialisation, so it writes metadata only, as fogkit does), and
// reports wall time, CPU time, peak RSS and the bytes the file system
// occupies on the host (allocated blocks of the sparse file). Every
// figure is the best of -runs runs.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fogkit/fogkit/ext4"
	"github.com/fogkit/fogkit/internal/bench/benchutil"
)

func main() {
	benchutil.Main(func(args []string) error { return child(args[0], args[1]) }, parent)
}

// child formats path (a fresh sparse file of the given size).
func child(path, size string) error {
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(n); err != nil {
		return err
	}
	if _, err := ext4.Format(context.Background(), f, n, &ext4.Options{Label: "fogkit-data", Seed: "bench"}); err != nil {
		return err
	}
	return f.Sync()
}

// measure runs name with args and reads the allocated size of path.
func measure(path string, name string, args ...string) (benchutil.Sample, error) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	r, err := benchutil.Measure(cmd)
	if err != nil {
		return r, fmt.Errorf("%s: %w", name, err)
	}
	r.Size, r.Alloc, err = benchutil.FileSize(path)
	return r, err
}

// parseSize reads -sizes. It is this program's own rather than
// appliance.ParseSize: a child's peak RSS counts its parent's at the fork,
// and importing appliance adds about 3 MiB of package initialisation here.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "T"):
		mult, s = 1<<40, strings.TrimSuffix(s, "T")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

func parent() error {
	sizes := flag.String("sizes", "1G,20G,2T", "comma-separated sizes (M, G, T suffixes)")
	runs := flag.Int("runs", 3, "runs per measurement; the best is shown")
	dir := flag.String("dir", "", "scratch directory (default: a temporary one)")
	flag.Parse()
	mkfs, err := exec.LookPath("mkfs.ext4")
	if err != nil {
		return fmt.Errorf("mkfs.ext4 (e2fsprogs) is needed as the peer: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "fogkit-bench-ext4-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	fmt.Printf("%-6s %-12s %10s %10s %10s %12s\n", "size", "tool", "wall", "cpu", "rss KiB", "allocated")
	for _, s := range strings.Split(*sizes, ",") {
		n, err := parseSize(s)
		if err != nil {
			return err
		}
		path := filepath.Join(*dir, "disk.img")
		for _, tool := range []string{"ext4.Format", "mkfs.ext4"} {
			var rs []benchutil.Sample
			for i := 0; i < *runs; i++ {
				os.Remove(path)
				var r benchutil.Sample
				if tool == "ext4.Format" {
					r, err = measure(path, self, "-child", path, strconv.FormatInt(n, 10))
				} else {
					f, err := os.Create(path)
					if err != nil {
						return err
					}
					if err := f.Truncate(n); err != nil {
						return err
					}
					f.Close()
					r, err = measure(path, mkfs, "-q", "-F", "-L", "fogkit-data", path)
				}
				if err != nil {
					return err
				}
				rs = append(rs, r)
			}
			best := benchutil.Best(rs)
			fmt.Printf("%-6s %-12s %10s %10s %10d %10.1f MiB\n", s, tool, best.Wall.Round(100*time.Microsecond),
				best.CPU.Round(100*time.Microsecond), best.RSSKiB, float64(best.Alloc)/(1<<20))
		}
		os.Remove(path)
	}
	return nil
}
