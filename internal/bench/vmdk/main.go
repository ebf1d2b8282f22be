// Command vmdk-bench compares fogkit's streamOptimized VMDK writer
// (examples/mkvmdk, built once) with `qemu-img convert -O vmdk -o
// subformat=streamOptimized` on the same input in the same run.
//
// The input is a 2 GiB sparse raw image holding about 400 MiB of real
// content: files from /usr (binaries, libraries, text) laid out like a file
// system, plus 64 MiB of random bytes. Each tool runs -runs times; the
// table shows wall time, CPU (user+sys), peak RSS (from the child's
// rusage) and output size, then medians and the ratios to qemu-img.
//
//	go run ./internal/bench/vmdk [-runs 3] [-content 336] [-keep]
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"

	"github.com/fogkit/fogkit/internal/bench/benchutil"
)

const (
	diskSize = 2 << 30
	randSize = 64 << 20
)

func main() {
	runs := flag.Int("runs", 3, "runs per tool")
	contentMiB := flag.Int("content", 336, "MiB of /usr files to place (plus 64 MiB random)")
	keep := flag.Bool("keep", false, "keep the temporary directory")
	verify := flag.Bool("verify", true, "check our output with qemu-img compare once")
	build := flag.String("build-image", "", "internal: only write the input image to this path")
	flag.Parse()
	if *build != "" {
		placed, files, err := buildImage(*build, int64(*contentMiB)<<20)
		if err != nil {
			fmt.Fprintln(os.Stderr, "vmdk-bench:", err)
			os.Exit(1)
		}
		fmt.Println(placed, files)
		return
	}
	if err := run(*runs, int64(*contentMiB)<<20, *keep, *verify); err != nil {
		fmt.Fprintln(os.Stderr, "vmdk-bench:", err)
		os.Exit(1)
	}
}

func run(runs int, content int64, keep, verify bool) error {
	qemu, err := exec.LookPath("qemu-img")
	if err != nil {
		return err
	}
	ws, remove, err := benchutil.NewWorkspace("vmdk-bench", keep)
	if err != nil {
		return err
	}
	defer remove()
	dir, raw := ws.Dir, ws.Image
	mk := filepath.Join(dir, "mkvmdk")
	if out, err := exec.Command("go", "build", "-o", mk, "./examples/mkvmdk").CombinedOutput(); err != nil {
		return fmt.Errorf("building mkvmdk (run from the repository root): %v\n%s", err, out)
	}
	out, err := ws.BuildImage("-content", fmt.Sprint(content>>20))
	if err != nil {
		return err
	}
	var placed int64
	var files int
	if _, err := fmt.Sscan(string(out), &placed, &files); err != nil {
		return fmt.Errorf("building the image: %q: %w", out, err)
	}
	fmt.Printf("input: %d MiB sparse image, %d MiB of content (%d files from /usr + %d MiB random)\n",
		diskSize>>20, placed>>20, files, randSize>>20)
	fmt.Printf("machine: %s; load average at start: %s\n", benchutil.Machine(), benchutil.LoadAvg())
	fmt.Println("note: the machine is shared with other jobs; figures are noisy, compare within a run.")
	var self0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self0)
	fmt.Printf("peak RSS of this driver: %.1f MiB (Linux can report a child's peak RSS as at least its parent's at exec, so the image is built in a child)\n", float64(self0.Maxrss)/1024)

	const ref = "qemu-img convert"
	ours := func(w int) benchutil.Tool {
		o := filepath.Join(dir, fmt.Sprintf("ours-%d.vmdk", w))
		return benchutil.Tool{Name: fmt.Sprintf("fogkit workers=%d", w), Ref: ref, Out: o, Args: []string{mk, "-in", raw, "-o", o, "-workers", fmt.Sprint(w)}}
	}
	qo := filepath.Join(dir, "qemu.vmdk")
	tools := []benchutil.Tool{ours(1), ours(2), {Name: ref, Ref: ref, Out: qo, Args: []string{qemu, "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, qo}}}
	if n := runtime.NumCPU(); n > 2 {
		tools = append(tools[:2], append([]benchutil.Tool{ours(n)}, tools[2:]...)...)
	}

	fmt.Printf("\n%-20s %4s %9s %9s %9s %12s\n", "tool", "run", "wall s", "cpu s", "rss MiB", "size bytes")
	res, err := benchutil.Interleave(tools, runs, false, func(r int, t benchutil.Tool, s benchutil.Sample) {
		fmt.Printf("%-20s %4d %9.2f %9.2f %9.1f %12d\n", t.Name, r, s.Wall.Seconds(), s.CPU.Seconds(),
			float64(s.RSSKiB)/1024, s.Size)
	})
	if err != nil {
		return err
	}
	if verify {
		if out, err := exec.Command(qemu, "compare", "-f", "raw", "-F", "vmdk", raw, tools[1].Out).CombinedOutput(); err != nil {
			return fmt.Errorf("qemu-img compare of our output failed: %v\n%s", err, out)
		}
		fmt.Println("\nqemu-img compare raw vs our VMDK: identical")
	}

	q := benchutil.Median(res[ref])
	fmt.Printf("\nmedians of %d runs                 wall s   cpu s  rss MiB       size  wall speed vs qemu  cpu vs qemu  size vs qemu\n", runs)
	for _, t := range tools {
		m := benchutil.Median(res[t.Name])
		fmt.Printf("%-32s %8.2f %7.2f %8.1f %10d %18.2fx %11.2fx %12.3fx\n", t.Name, m.Wall.Seconds(), m.CPU.Seconds(),
			float64(m.RSSKiB)/1024, m.Size, q.Wall.Seconds()/m.Wall.Seconds(), m.CPU.Seconds()/q.CPU.Seconds(),
			float64(m.Size)/float64(q.Size))
	}
	fmt.Printf("load average at end: %s\n", benchutil.LoadAvg())
	return nil
}

// buildImage writes a sparse image: /usr files at 4 KiB-aligned offsets
// with holes between them, spread over the disk like a file system, and
// 64 MiB of random data in the middle.
func buildImage(path string, content int64) (int64, int, error) {
	var names []string
	for _, root := range []string{"/usr/bin", "/usr/lib", "/usr/share"} {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.Type().IsRegular() {
				names = append(names, p)
			}
			return nil
		})
	}
	slices.Sort(names)
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })

	f, err := os.Create(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	if err := f.Truncate(diskSize); err != nil {
		return 0, 0, err
	}
	// Random block in the middle of the disk.
	rnd := make([]byte, 1<<20)
	for off := int64(diskSize / 2); off < diskSize/2+randSize; off += int64(len(rnd)) {
		for i := 0; i+8 <= len(rnd); i += 8 {
			v := r.Uint64()
			for j := 0; j < 8; j++ {
				rnd[i+j] = byte(v >> (8 * j))
			}
		}
		if _, err := f.WriteAt(rnd, off); err != nil {
			return 0, 0, err
		}
	}
	// Files go into 32 MiB allocation groups, each filled to an equal
	// share with small gaps between files and left sparse after that.
	const group = 32 << 20
	quota := content / (diskSize/group - randSize/group)
	placed, files := int64(randSize), 0
	g, inGroup := int64(0), int64(0)
	cursor := int64(1 << 20)
	for _, n := range names {
		if placed-randSize >= content || g >= diskSize/group {
			break
		}
		data, err := os.ReadFile(n)
		if err != nil || len(data) == 0 {
			continue
		}
		data = data[:min(int64(len(data)), content-(placed-randSize), 8<<20)]
		if cursor+int64(len(data)) > (g+1)*group {
			data = data[:(g+1)*group-cursor]
		}
		if _, err := f.WriteAt(data, cursor); err != nil {
			return 0, 0, err
		}
		placed += int64(len(data))
		inGroup += int64(len(data))
		files++
		cursor += (int64(len(data)) + 4095) &^ 4095
		if r.IntN(4) == 0 {
			cursor += r.Int64N(16) * 4096
		}
		if inGroup >= quota || cursor >= (g+1)*group {
			g++
			inGroup = 0
			for g*group >= diskSize/2 && g*group < diskSize/2+randSize {
				g++
			}
			cursor = g * group
		}
	}
	return placed, files, f.Sync()
}
