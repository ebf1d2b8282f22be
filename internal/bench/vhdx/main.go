// Command vhdx-bench compares fogkit's VHDX writer with `qemu-img convert
// -O vhdx` on the same input in the same run.
//
// The input is a 1 GiB sparse raw image holding about 250 MiB of data,
// deterministic from a fixed seed, laid out like a freshly installed
// system: 160 MiB from the start, islands of 18 to 24 MiB further in, 2 MiB
// at the end. Each tool runs -runs times in a child process; the table
// shows wall time, CPU (user+sys), peak RSS (from the child's rusage),
// apparent output size and allocated size (both tools leave the all-zero
// parts of present blocks as holes in a regular output file; on any other
// io.Writer our writer writes them), then medians and the ratios to
// qemu-img. Both tools run
// with the default 32 MiB blocks and with 1 MiB blocks; ours also without
// the SHA-256 of its output (qemu-img computes none).
//
//	go run ./internal/bench/vhdx [-runs 3] [-keep]
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
	"strings"

	"github.com/fogkit/fogkit/internal/bench/benchutil"
	"github.com/fogkit/fogkit/vhdx"
)

const (
	mib      = 1 << 20
	diskSize = 1 << 30
)

// islands are the data ranges of the input, in MiB.
var islands = [][2]int64{{0, 160}, {384, 408}, {520, 544}, {641, 665}, {900, 918}, {1022, 1024}}

func main() {
	runs := flag.Int("runs", 3, "runs per tool")
	keep := flag.Bool("keep", false, "keep the temporary directory")
	build := flag.String("build-image", "", "internal: only write the input image to this path")
	in := flag.String("in", "", "internal: convert this raw image with fogkit's writer")
	out := flag.String("o", "", "internal: output path for -in")
	workers := flag.Int("workers", 0, "internal: workers for -in")
	cpuprofile := flag.String("cpuprofile", "", "internal: write a CPU profile of -in to this file")
	bs := flag.Uint("block-size", 0, "internal: block size for -in")
	noDigest := flag.Bool("no-digest", false, "internal: skip the output's SHA-256 for -in")
	flag.Parse()
	if *cpuprofile != "" && *in != "" {
		stop, err := benchutil.StartCPUProfile(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "vhdx-bench:", err)
			os.Exit(1)
		}
		defer stop()
	}
	var err error
	switch {
	case *build != "":
		err = buildImage(*build)
	case *in != "":
		err = convert(*in, *out, *workers, uint32(*bs), *noDigest)
	default:
		err = run(*runs, *keep)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vhdx-bench:", err)
		os.Exit(1)
	}
}

func convert(in, out string, workers int, bs uint32, noDigest bool) error {
	return benchutil.Convert(in, out, func(ctx context.Context, dst io.Writer, src io.ReaderAt, size int64) error {
		_, err := vhdx.Write(ctx, dst, src, size, &vhdx.Options{Workers: workers, BlockSize: bs, NoDigest: noDigest})
		return err
	})
}

func run(runs int, keep bool) error {
	ws, remove, err := benchutil.Start("vhdx-bench", keep, "qemu-img")
	if err != nil {
		return err
	}
	defer remove()
	dir, self, raw, qemu := ws.Dir, ws.Self, ws.Image, ws.Peers[0]
	var data int64
	for _, is := range islands {
		data += (is[1] - is[0]) * mib
	}
	fmt.Printf("input: %d MiB sparse raw image, %d MiB of data in %d ranges\n", diskSize>>20, data>>20, len(islands))
	fmt.Printf("machine: %s; load average at start: %s\n", benchutil.Machine(), benchutil.LoadAvg())
	fmt.Println("note: the machine may be shared with other jobs; compare within a run.")

	ours := func(w int, bs string, digest bool) benchutil.Tool {
		o := filepath.Join(dir, fmt.Sprintf("ours-%d-%s-%v.vhdx", w, bs, digest))
		b := map[string]string{"32M": "0", "1M": "1048576"}[bs]
		name := fmt.Sprintf("fogkit %s workers=%d", bs, w)
		if !digest {
			name += " nodigest"
		}
		return benchutil.Tool{Name: name, Ref: "qemu-img " + bs, Out: o, Args: []string{self, "-in", raw, "-o", o, "-workers", fmt.Sprint(w), "-block-size", b, fmt.Sprintf("-no-digest=%v", !digest)}}
	}
	theirs := func(bs string) benchutil.Tool {
		o := filepath.Join(dir, "qemu-"+bs+".vhdx")
		return benchutil.Tool{Name: "qemu-img " + bs, Ref: "qemu-img " + bs, Out: o, Args: []string{qemu, "convert", "-f", "raw", "-O", "vhdx", "-o", "block_size=" + bs, raw, o}}
	}
	tools := []benchutil.Tool{ours(1, "32M", true), ours(2, "32M", true), ours(2, "32M", false), theirs("32M"), ours(2, "1M", true), theirs("1M")}

	fmt.Printf("\n%-24s %4s %8s %8s %8s %12s %12s\n", "tool", "run", "wall s", "cpu s", "rss MiB", "size bytes", "alloc bytes")
	res, err := benchutil.Interleave(tools, runs, true, func(r int, t benchutil.Tool, s benchutil.Sample) {
		fmt.Printf("%-32s %4d %8.2f %8.2f %8.1f %12d %12d\n", t.Name, r, s.Wall.Seconds(), s.CPU.Seconds(),
			float64(s.RSSKiB)/1024, s.Size, s.Alloc)
	})
	if err != nil {
		return err
	}
	for _, t := range tools {
		if strings.HasPrefix(t.Name, "fogkit") {
			if out, err := exec.Command(qemu, "compare", "-f", "raw", "-F", "vhdx", raw, t.Out).CombinedOutput(); err != nil {
				return fmt.Errorf("qemu-img compare of %s failed: %v\n%s", t.Out, err, out)
			}
			if out, err := exec.Command(qemu, "check", "-f", "vhdx", t.Out).CombinedOutput(); err != nil {
				return fmt.Errorf("qemu-img check of %s failed: %v\n%s", t.Out, err, out)
			}
		}
	}
	fmt.Println("\nqemu-img compare raw vs our VHDX: identical; qemu-img check: no errors")

	fmt.Printf("\nmedians of %d runs                wall s   cpu s  rss MiB       size      alloc  speed vs qemu  size vs qemu  alloc vs qemu\n", runs)
	for _, t := range tools {
		m, q := benchutil.Median(res[t.Name]), benchutil.Median(res[t.Ref])
		fmt.Printf("%-32s %8.2f %7.2f %8.1f %10d %10d %13.2fx %12.3fx %13.3fx\n", t.Name, m.Wall.Seconds(), m.CPU.Seconds(),
			float64(m.RSSKiB)/1024, m.Size, m.Alloc, q.Wall.Seconds()/m.Wall.Seconds(),
			float64(m.Size)/float64(q.Size), float64(m.Alloc)/float64(q.Alloc))
	}
	fmt.Printf("load average at end: %s\n", benchutil.LoadAvg())
	return nil
}

// buildImage writes the sparse input: in every data range, pseudo-random
// bytes with text-like stretches and a zero 4 KiB page every 64 KiB or so,
// the same for every run.
func buildImage(path string) error {
	r := rand.New(rand.NewPCG(18, 1))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(diskSize); err != nil {
		return err
	}
	buf := make([]byte, mib)
	for _, is := range islands {
		for m := is[0]; m < is[1]; m++ {
			for i := 0; i < len(buf); i += 8 {
				v := r.Uint64()
				if (i>>12)%3 == 1 { // text-like: printable ASCII
					v = v&0x3f3f3f3f3f3f3f3f | 0x2020202020202020
				}
				for j := range 8 {
					buf[i+j] = byte(v >> (8 * j))
				}
			}
			clear(buf[(m%16)<<16 : (m%16)<<16+4096])
			if _, err := f.WriteAt(buf, m*mib); err != nil {
				return err
			}
		}
	}
	return f.Sync()
}
