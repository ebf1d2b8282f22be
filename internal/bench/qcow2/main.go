// Command qcow2-bench compares fogkit's qcow2 writer with `qemu-img convert
// -O qcow2` (plain) and `-O qcow2 -c` (zlib) on the same input in the same
// run.
//
// The input is a 1 GiB sparse raw image holding about 250 MiB of
// deterministic content in islands of 64 KiB to 4 MiB: 200 MiB of text-like
// bytes (words from a small vocabulary, compressing about like binaries and
// text of a root file system) and 50 MiB of random bytes. Every tool runs
// as a child process (this binary re-executed for fogkit), -runs times,
// interleaved; the table shows wall time, CPU (user+sys), peak RSS (the
// child's rusage) and output size, then medians and ratios to qemu-img.
// Plain qcow2 runs with and without the SHA-256 of the output that
// fogkit's Result carries (qemu-img computes none).
//
//	go run ./internal/bench/qcow2 [-runs 3] [-keep]
//
// To profile one conversion, build the program and run its child mode:
// qcow2-bench -build-image disk.raw, then qcow2-bench -in disk.raw -o
// out.qcow2 [-c zlib] [-no-digest] -cpuprofile cpu.prof.
package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/fogkit/fogkit/internal/bench/benchutil"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/fogkit/fogkit/qcow2"
)

const (
	diskSize = 1 << 30
	textSize = 200 << 20
	randSize = 50 << 20
)

type sample struct {
	wall, cpu time.Duration
	rssKiB    int64
	size      int64
}

func main() {
	runs := flag.Int("runs", 3, "runs per tool")
	keep := flag.Bool("keep", false, "keep the temporary directory")
	build := flag.String("build-image", "", "internal: only write the input image to this path")
	in := flag.String("in", "", "internal: convert this raw image with fogkit")
	out := flag.String("o", "", "internal: output path")
	comp := flag.String("c", "", "internal: compression")
	workers := flag.Int("workers", 0, "internal: workers")
	noDigest := flag.Bool("no-digest", false, "internal: skip the output's SHA-256")
	cpuprofile := flag.String("cpuprofile", "", "internal: write a CPU profile of -in to this file")
	flag.Parse()
	if *cpuprofile != "" && *in != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "qcow2-bench:", err)
			os.Exit(1)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	var err error
	switch {
	case *build != "":
		err = buildImage(*build)
	case *in != "":
		err = convert(*in, *out, *comp, *workers, *noDigest)
	default:
		err = run(*runs, *keep)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "qcow2-bench:", err)
		os.Exit(1)
	}
}

func convert(in, out, comp string, workers int, noDigest bool) error {
	src, err := os.Open(in)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	dst, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := qcow2.Write(context.Background(), dst, src, st.Size(), &qcow2.Options{Compression: comp, Workers: workers, TempDir: filepath.Dir(out), NoDigest: noDigest}); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

var words = strings.Fields(`the of and to in is for on that with as by at from this be are or an it
	not which have was all can will one has but more their been if other than when its only into some
	init lib usr bin etc var sbin systemd kernel module device driver config file mount network
	0x0000 0x7fff 0xffff ELF .text .data .bss .rodata GLIBC_2.2.5 libc.so.6 _start main printf malloc`)

// buildImage writes the sparse input deterministically.
func buildImage(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(diskSize); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(18, 2026))
	var placed int64
	off := int64(0)
	for placed < textSize+randSize {
		n := int64(64<<10) << r.IntN(7) // 64 KiB .. 4 MiB
		gap := diskSize/2/((textSize+randSize)/(1<<20)) + int64(r.IntN(1<<20))
		off += gap &^ 4095
		if off+n > diskSize {
			return fmt.Errorf("image layout overflows")
		}
		buf := make([]byte, n)
		if placed < textSize {
			var b []byte
			for int64(len(b)) < n {
				b = append(b, words[r.IntN(len(words))]...)
				if r.IntN(12) == 0 {
					b = append(b, '\n')
				} else {
					b = append(b, ' ')
				}
				if r.IntN(40) == 0 {
					for range 8 {
						b = append(b, byte(r.Uint32()))
					}
				}
			}
			copy(buf, b)
		} else {
			for i := range buf {
				buf[i] = byte(r.Uint32())
			}
		}
		if _, err := f.WriteAt(buf, off); err != nil {
			return err
		}
		off += n
		placed += n
	}
	return f.Close()
}

func run(runs int, keep bool) error {
	qemu, err := exec.LookPath("qemu-img")
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "qcow2-bench-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	raw := filepath.Join(dir, "disk.raw")
	if out, err := exec.Command(self, "-build-image", raw).CombinedOutput(); err != nil {
		return fmt.Errorf("building the image: %v\n%s", err, out)
	}
	fmt.Printf("input: %d MiB sparse raw image, %d MiB text-like + %d MiB random content\n", diskSize>>20, textSize>>20, randSize>>20)
	fmt.Printf("machine: %d CPUs (GOMAXPROCS %d), %s; load average at start: %s\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOARCH, benchutil.LoadAvg())
	fmt.Println("note: the machine may be shared with other jobs; compare within a run.")

	type tool struct {
		name, group, out string
		args             []string
	}
	oursDigest := func(comp string, w int, digest bool) tool {
		o := filepath.Join(dir, fmt.Sprintf("ours-%s-%d-%v.qcow2", comp, w, digest))
		g := "plain"
		if comp != "" {
			g = comp
		}
		name := fmt.Sprintf("fogkit %s workers=%d", g, w)
		if !digest {
			name += " nodigest"
		}
		return tool{name, g, o, []string{self, "-in", raw, "-o", o, "-c", comp, "-workers", fmt.Sprint(w), fmt.Sprintf("-no-digest=%v", !digest)}}
	}
	ours := func(comp string, w int) tool { return oursDigest(comp, w, true) }
	qp, qz := filepath.Join(dir, "qemu.qcow2"), filepath.Join(dir, "qemu-c.qcow2")
	n := runtime.NumCPU()
	tools := []tool{
		{"qemu-img -O qcow2", "plain", qp, []string{qemu, "convert", "-f", "raw", "-O", "qcow2", raw, qp}},
		ours("", n), oursDigest("", n, false),
		{"qemu-img -O qcow2 -c", "zlib", qz, []string{qemu, "convert", "-f", "raw", "-O", "qcow2", "-c", raw, qz}},
		ours("zlib", 1), ours("zlib", n), ours("zstd", n),
	}
	res := map[string][]sample{}
	fmt.Printf("\n%-32s %4s %9s %9s %9s %12s\n", "tool", "run", "wall s", "cpu s", "rss MiB", "size bytes")
	for r := 1; r <= runs; r++ {
		for _, t := range tools {
			os.Remove(t.out)
			// Write back the previous run's output first, so that its dirty
			// pages do not throttle this one.
			syscall.Sync()
			s, err := measure(t.args)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			st, err := os.Stat(t.out)
			if err != nil {
				return err
			}
			s.size = st.Size()
			res[t.name] = append(res[t.name], s)
			fmt.Printf("%-32s %4d %9.2f %9.2f %9.1f %12d\n", t.name, r, s.wall.Seconds(), s.cpu.Seconds(), float64(s.rssKiB)/1024, s.size)
		}
	}
	for _, t := range tools[1:3] {
		if out, err := exec.Command(qemu, "compare", "-f", "raw", "-F", "qcow2", raw, t.out).CombinedOutput(); err != nil {
			return fmt.Errorf("qemu-img compare of %s failed: %v\n%s", t.name, err, out)
		}
	}
	if out, err := exec.Command(qemu, "compare", "-f", "raw", "-F", "qcow2", raw, tools[5].out).CombinedOutput(); err != nil {
		return fmt.Errorf("qemu-img compare of %s failed: %v\n%s", tools[5].name, err, out)
	}
	fmt.Println("\nqemu-img compare raw vs our plain and zlib outputs: identical")

	med := func(name string) sample {
		ss := res[name]
		pick := func(f func(sample) int64) int64 {
			v := make([]int64, len(ss))
			for i, s := range ss {
				v[i] = f(s)
			}
			slices.Sort(v)
			return v[len(v)/2]
		}
		return sample{
			wall:   time.Duration(pick(func(s sample) int64 { return int64(s.wall) })),
			cpu:    time.Duration(pick(func(s sample) int64 { return int64(s.cpu) })),
			rssKiB: pick(func(s sample) int64 { return s.rssKiB }),
			size:   pick(func(s sample) int64 { return s.size }),
		}
	}
	base := map[string]sample{"plain": med(tools[0].name), "zlib": med(tools[3].name), "zstd": med(tools[3].name)}
	fmt.Printf("\nmedians of %d runs                  wall s   cpu s  rss MiB        size  speed vs qemu  size vs qemu (same mode; zstd vs qemu -c)\n", runs)
	for _, t := range tools {
		m, q := med(t.name), base[t.group]
		fmt.Printf("%-32s %9.2f %7.2f %8.1f %11d %13.2fx %13.3fx\n", t.name, m.wall.Seconds(), m.cpu.Seconds(),
			float64(m.rssKiB)/1024, m.size, q.wall.Seconds()/m.wall.Seconds(), float64(m.size)/float64(q.size))
	}
	fmt.Printf("load average at end: %s\n", benchutil.LoadAvg())
	return nil
}

func measure(args []string) (sample, error) {
	wall, cpu, rss, err := benchutil.Run(args)
	return sample{wall: wall, cpu: cpu, rssKiB: rss}, err
}
