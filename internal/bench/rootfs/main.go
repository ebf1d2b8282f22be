// Command rootfs-bench compares fogkit's rootfs gzip initramfs build with
// the classic pipelines `find | cpio -o -H newc | gzip` and `| pigz` on a
// real tree of about 50 MB (a copy of /usr/lib subtrees chosen at run time),
// in the same run, and prints wall time, CPU (user+sys), peak RSS and
// output size. Every contender runs as a child process so that rusage
// measures each the same way; runs are interleaved and the median is shown.
//
//	go run ./internal/bench/rootfs [-mb 50] [-runs 3] [-src /usr/lib]
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/fogkit/fogkit/internal/bench/benchutil"
	"github.com/fogkit/fogkit/rootfs"
)

func main() {
	if len(os.Args) == 5 && os.Args[1] == "-child-build" {
		if err := childBuild(os.Args[2], os.Args[3], rootfs.Compression(os.Args[4])); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		return
	}
	mb := flag.Int("mb", 50, "approximate tree size in MB")
	runs := flag.Int("runs", 3, "runs per contender (median reported)")
	src := flag.String("src", "/usr/lib", "directory whose subtrees are copied")
	flag.Parse()
	if err := run(*mb, *runs, *src); err != nil {
		fmt.Fprintln(os.Stderr, "rootfs-bench:", err)
		os.Exit(1)
	}
}

// childBuild is "ours": an initramfs of dir, written to out.
func childBuild(dir, out string, c rootfs.Compression) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	b := rootfs.New(&rootfs.Options{Compression: c, AllowNoInit: true})
	if err := b.AddHostDir(context.Background(), dir, nil); err != nil {
		return err
	}
	if _, err := b.WriteTo(f); err != nil {
		return err
	}
	return f.Close()
}

func run(mb, runs int, src string) error {
	for _, tool := range []string{"find", "cpio", "gzip", "pigz", "zstd", "cp", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed: %v", tool, err)
		}
	}
	tmp, err := os.MkdirTemp("", "rootfs-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	tree := filepath.Join(tmp, "tree")
	picked, total, files, err := copyTree(src, tree, int64(mb)<<20)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Printf("tree: %.1f MB in %d files from %s: %s\n", float64(total)/1e6, files, src, strings.Join(picked, " "))
	fmt.Printf("machine: %d CPUs (GOMAXPROCS %d), %s/%s, load %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, benchutil.LoadAvg())

	type contender struct {
		name string
		cmd  func(out string) *exec.Cmd
	}
	cs := []contender{
		{"fogkit rootfs (gzip -6, parallel)", func(out string) *exec.Cmd {
			return exec.Command(self, "-child-build", tree, out, string(rootfs.CompressGzip))
		}},
		{"find | cpio -o -H newc | gzip", func(out string) *exec.Cmd {
			return exec.Command("bash", "-c", "set -o pipefail; cd \"$1\" && find . | cpio -o -H newc --quiet | gzip > \"$2\"", "bash", tree, out)
		}},
		{"find | cpio -o -H newc | pigz", func(out string) *exec.Cmd {
			return exec.Command("bash", "-c", "set -o pipefail; cd \"$1\" && find . | cpio -o -H newc --quiet | pigz > \"$2\"", "bash", tree, out)
		}},
		{"fogkit rootfs (zstd -3)", func(out string) *exec.Cmd {
			return exec.Command(self, "-child-build", tree, out, string(rootfs.CompressZstd))
		}},
		{"find | cpio -o -H newc | zstd -3 -T0", func(out string) *exec.Cmd {
			return exec.Command("bash", "-c", "set -o pipefail; cd \"$1\" && find . | cpio -o -H newc --quiet | zstd -q -3 -T0 > \"$2\"", "bash", tree, out)
		}},
	}
	// Warm the page cache so no contender pays for the first read.
	if err := exec.Command("bash", "-c", "cd \"$1\" && find . -type f -print0 | xargs -0 cat > /dev/null", "bash", tree).Run(); err != nil {
		return err
	}
	res := make([][]benchutil.Sample, len(cs))
	var sums []string
	for r := 0; r < runs; r++ {
		for i, c := range cs {
			out := filepath.Join(tmp, fmt.Sprintf("out-%d-%d", i, r))
			cmd := c.cmd(out)
			cmd.Stderr = os.Stderr
			s, err := benchutil.Measure(cmd)
			if err != nil {
				return fmt.Errorf("%s: %v", c.name, err)
			}
			st, err := os.Stat(out)
			if err != nil {
				return err
			}
			s.Size = st.Size()
			res[i] = append(res[i], s)
			if i == 0 {
				if err := exec.Command("gzip", "-t", out).Run(); err != nil {
					return fmt.Errorf("our output fails gzip -t: %v", err)
				}
				sums = append(sums, fileSum(out))
			}
			os.Remove(out)
		}
	}
	fmt.Printf("\n| contender | wall (median of %d) | CPU user+sys | peak RSS | output |\n|---|---:|---:|---:|---:|\n", runs)
	for i, c := range cs {
		m := benchutil.Median(res[i])
		fmt.Printf("| %s | %.2f s | %.2f s | %.1f MiB | %.2f MB |\n", c.name, m.Wall.Seconds(), m.CPU.Seconds(), float64(m.RSSKiB)/1024, float64(m.Size)/1e6)
	}
	same := true
	for _, s := range sums {
		same = same && s == sums[0]
	}
	fmt.Printf("\nfogkit gzip output identical across runs: %v (sha256 %s)\n", same, sums[0][:16])
	fmt.Println("peak RSS of a pipeline is its largest process (rusage of the waited-for shell); CPU sums all its processes.")
	return nil
}

// copyTree copies subdirectories of src (in name order) into dst until
// about want bytes of regular files are there.
func copyTree(src, dst string, want int64) (picked []string, total int64, files int, err error) {
	ents, err := os.ReadDir(src)
	if err != nil {
		return nil, 0, 0, err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return nil, 0, 0, err
	}
	// Prefer subtrees with many files (closest to a real root file
	// system), then fill up in name order.
	type cand struct {
		name  string
		size  int64
		files int
	}
	var cands []cand
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		size, n := treeSize(filepath.Join(src, e.Name()))
		if size > 0 {
			cands = append(cands, cand{e.Name(), size, n})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].files > cands[j].files })
	for _, c := range cands {
		if total >= want*9/10 || total+c.size > want*115/100 {
			continue
		}
		cmd := exec.Command("cp", "-a", filepath.Join(src, c.name), filepath.Join(dst, c.name))
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, 0, 0, fmt.Errorf("cp %s: %v: %s", c.name, err, out)
		}
		picked = append(picked, c.name)
		total += c.size
		files += c.files
	}
	sort.Strings(picked)
	if total < want/2 {
		return nil, 0, 0, fmt.Errorf("found only %d bytes under %s", total, src)
	}
	return picked, total, files, nil
}

func treeSize(dir string) (int64, int) {
	var size int64
	n := 0
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				size += info.Size()
				n++
			}
		}
		return nil
	})
	return size, n
}

func fileSum(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	h := sha256.New()
	_, _ = io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil))
}
