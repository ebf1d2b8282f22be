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
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/fogkit/fogkit/internal/bench/benchutil"
	"github.com/fogkit/fogkit/qcow2"
)

const (
	diskSize = 1 << 30
	textSize = 200 << 20
	randSize = 50 << 20
)

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
		stop, err := benchutil.StartCPUProfile(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "qcow2-bench:", err)
			os.Exit(1)
		}
		defer stop()
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
	return benchutil.Convert(in, out, func(ctx context.Context, dst io.Writer, src io.ReaderAt, size int64) error {
		_, err := qcow2.Write(ctx, dst, src, size, &qcow2.Options{Compression: comp, Workers: workers, TempDir: filepath.Dir(out), NoDigest: noDigest})
		return err
	})
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
	ws, remove, err := benchutil.Start("qcow2-bench", keep, "qemu-img")
	if err != nil {
		return err
	}
	defer remove()
	dir, self, raw, qemu := ws.Dir, ws.Self, ws.Image, ws.Peers[0]
	fmt.Printf("input: %d MiB sparse raw image, %d MiB text-like + %d MiB random content\n", diskSize>>20, textSize>>20, randSize>>20)
	fmt.Printf("machine: %s; load average at start: %s\n", benchutil.Machine(), benchutil.LoadAvg())
	fmt.Println("note: the machine may be shared with other jobs; compare within a run.")

	oursDigest := func(comp string, w int, digest bool) benchutil.Tool {
		o := filepath.Join(dir, fmt.Sprintf("ours-%s-%d-%v.qcow2", comp, w, digest))
		g, ref := "plain", "qemu-img -O qcow2"
		if comp != "" {
			g, ref = comp, "qemu-img -O qcow2 -c"
		}
		name := fmt.Sprintf("fogkit %s workers=%d", g, w)
		if !digest {
			name += " nodigest"
		}
		return benchutil.Tool{Name: name, Ref: ref, Out: o, Args: []string{self, "-in", raw, "-o", o, "-c", comp, "-workers", fmt.Sprint(w), fmt.Sprintf("-no-digest=%v", !digest)}}
	}
	ours := func(comp string, w int) benchutil.Tool { return oursDigest(comp, w, true) }
	qp, qz := filepath.Join(dir, "qemu.qcow2"), filepath.Join(dir, "qemu-c.qcow2")
	n := runtime.NumCPU()
	tools := []benchutil.Tool{
		{Name: "qemu-img -O qcow2", Ref: "qemu-img -O qcow2", Out: qp, Args: []string{qemu, "convert", "-f", "raw", "-O", "qcow2", raw, qp}},
		ours("", n), oursDigest("", n, false),
		{Name: "qemu-img -O qcow2 -c", Ref: "qemu-img -O qcow2 -c", Out: qz, Args: []string{qemu, "convert", "-f", "raw", "-O", "qcow2", "-c", raw, qz}},
		ours("zlib", 1), ours("zlib", n), ours("zstd", n),
	}
	fmt.Printf("\n%-32s %4s %9s %9s %9s %12s\n", "tool", "run", "wall s", "cpu s", "rss MiB", "size bytes")
	res, err := benchutil.Interleave(tools, runs, true, func(r int, t benchutil.Tool, s benchutil.Sample) {
		fmt.Printf("%-32s %4d %9.2f %9.2f %9.1f %12d\n", t.Name, r, s.Wall.Seconds(), s.CPU.Seconds(), float64(s.RSSKiB)/1024, s.Size)
	})
	if err != nil {
		return err
	}
	for _, t := range []benchutil.Tool{tools[1], tools[2], tools[5]} {
		if out, err := exec.Command(qemu, "compare", "-f", "raw", "-F", "qcow2", raw, t.Out).CombinedOutput(); err != nil {
			return fmt.Errorf("qemu-img compare of %s failed: %v\n%s", t.Name, err, out)
		}
	}
	fmt.Println("\nqemu-img compare raw vs our plain and zlib outputs: identical")

	fmt.Printf("\nmedians of %d runs                  wall s   cpu s  rss MiB        size  speed vs qemu  size vs qemu (same mode; zstd vs qemu -c)\n", runs)
	for _, t := range tools {
		m, q := benchutil.Median(res[t.Name]), benchutil.Median(res[t.Ref])
		fmt.Printf("%-32s %9.2f %7.2f %8.1f %11d %13.2fx %13.3fx\n", t.Name, m.Wall.Seconds(), m.CPU.Seconds(),
			float64(m.RSSKiB)/1024, m.Size, q.Wall.Seconds()/m.Wall.Seconds(), float64(m.Size)/float64(q.Size))
	}
	fmt.Printf("load average at end: %s\n", benchutil.LoadAvg())
	return nil
}
