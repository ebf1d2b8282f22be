// Command vhd-bench compares fogkit's VHD writer with `qemu-img convert
// -O vpc -o subformat=fixed|dynamic`, and fogkit's GCE archive writer
// with `tar --format=oldgnu -Sczf`, on the same input in the same run.
//
// The input is a 1 GiB sparse raw image with 250 MiB of data placed in
// runs of 64 KiB to 4 MiB at deterministic places (some overlap: 236 MiB
// end up allocated), half random bytes, half repetitive text. qemu-img
// runs with force_size=on so both write the same virtual size. Each tool runs -runs times as a child process
// (this command re-executed with -write for fogkit); the table shows wall
// time, CPU (user+sys), peak RSS (from the child's rusage) and output
// size, then medians and the ratios to the reference tool.
//
//	go run ./internal/bench/vhd [-runs 3] [-keep]
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

	"github.com/fogkit/fogkit/gce"
	"github.com/fogkit/fogkit/internal/bench/benchutil"
	"github.com/fogkit/fogkit/vhd"
)

const (
	diskSize = 1 << 30
	dataSize = 250 << 20
)

func main() {
	runs := flag.Int("runs", 3, "runs per tool")
	keep := flag.Bool("keep", false, "keep the temporary directory")
	write := flag.String("write", "", "internal: write -in to -o as fixed, dynamic or gce")
	in := flag.String("in", "", "internal: input")
	out := flag.String("o", "", "internal: output")
	build := flag.String("build-image", "", "internal: only write the input image to this path")
	flag.Parse()
	var err error
	switch {
	case *build != "":
		err = buildImage(*build)
	case *write != "":
		err = writeOne(*write, *in, *out)
	default:
		err = run(*runs, *keep)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vhd-bench:", err)
		os.Exit(1)
	}
}

func writeOne(kind, in, out string) error {
	return benchutil.Convert(in, out, func(ctx context.Context, dst io.Writer, src io.ReaderAt, size int64) (err error) {
		if kind == "gce" {
			_, err = gce.Write(ctx, dst, src, size, nil) // level 6, as tar -z (gzip -6)
		} else {
			_, err = vhd.Write(ctx, dst, src, size, &vhd.Options{Type: kind})
		}
		return err
	})
}

// buildImage writes the deterministic input: data runs at random places
// (a fixed seed) until dataSize bytes are placed, the rest holes.
func buildImage(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(diskSize); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(18, 250))
	text := []byte(strings.Repeat("fogkit appliance disk image: configuration, logs and binaries. ", 70000))
	buf := make([]byte, 4<<20)
	used := map[int64]bool{}
	placed := int64(0)
	for placed < dataSize {
		n := int64(64<<10) << r.IntN(7) // 64 KiB .. 4 MiB
		off := r.Int64N(diskSize/n) * n
		if used[off] {
			continue
		}
		used[off] = true
		b := buf[:n]
		if r.IntN(2) == 0 {
			for i := range b {
				b[i] = byte(r.Uint32())
			}
		} else {
			copy(b, text[r.IntN(1<<20):])
		}
		if _, err := f.WriteAt(b, off); err != nil {
			return err
		}
		placed += n
	}
	return f.Sync()
}

func run(runs int, keep bool) error {
	ws, remove, err := benchutil.Start("vhd-bench", keep, "qemu-img", "tar")
	if err != nil {
		return err
	}
	defer remove()
	dir, self, raw, qemu, tarP := ws.Dir, ws.Self, ws.Image, ws.Peers[0], ws.Peers[1]
	_, alloc, err := benchutil.FileSize(raw)
	if err != nil {
		return err
	}
	fmt.Printf("input: %d MiB sparse raw image, %d MiB allocated\n", diskSize>>20, alloc>>20)
	fmt.Printf("machine: %s; load average at start: %s\n", benchutil.Machine(), benchutil.LoadAvg())
	fmt.Println("note: the machine is shared with other jobs; figures are noisy, compare within a run.")

	o := func(n string) string { return filepath.Join(dir, n) }
	tools := []benchutil.Tool{
		{Name: "fogkit vhd fixed", Ref: "qemu-img fixed", Out: o("ours-fixed.vhd"), Args: []string{self, "-write", "fixed", "-in", raw, "-o", o("ours-fixed.vhd")}},
		{Name: "qemu-img fixed", Out: o("qemu-fixed.vhd"), Args: []string{qemu, "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size=on", raw, o("qemu-fixed.vhd")}},
		{Name: "fogkit vhd dynamic", Ref: "qemu-img dynamic", Out: o("ours-dynamic.vhd"), Args: []string{self, "-write", "dynamic", "-in", raw, "-o", o("ours-dynamic.vhd")}},
		{Name: "qemu-img dynamic", Out: o("qemu-dynamic.vhd"), Args: []string{qemu, "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic,force_size=on", raw, o("qemu-dynamic.vhd")}},
		{Name: "fogkit gce", Ref: "tar -Sczf", Out: o("ours.tar.gz"), Args: []string{self, "-write", "gce", "-in", raw, "-o", o("ours.tar.gz")}},
		{Name: "tar -Sczf", Out: o("gnu.tar.gz"), Args: []string{tarP, "-C", dir, "--format=oldgnu", "-Sczf", o("gnu.tar.gz"), "disk.raw"}},
	}
	fmt.Printf("\n%-20s %4s %9s %9s %9s %12s %12s\n", "tool", "run", "wall s", "cpu s", "rss MiB", "size bytes", "on disk")
	res, err := benchutil.Interleave(tools, runs, false, func(r int, t benchutil.Tool, s benchutil.Sample) {
		fmt.Printf("%-20s %4d %9.2f %9.2f %9.1f %12d %12d\n", t.Name, r, s.Wall.Seconds(), s.CPU.Seconds(),
			float64(s.RSSKiB)/1024, s.Size, s.Alloc)
	})
	if err != nil {
		return err
	}
	for _, sub := range []string{"fixed", "dynamic"} {
		if out, err := exec.Command(qemu, "compare", "-f", "raw", "-F", "vpc", raw, o("ours-"+sub+".vhd")).CombinedOutput(); err != nil {
			return fmt.Errorf("qemu-img compare of our %s VHD failed: %v\n%s", sub, err, out)
		}
	}
	fmt.Println("\nqemu-img compare raw vs our fixed and dynamic VHDs: identical")

	fmt.Printf("\nmedians of %d runs          wall s   cpu s  rss MiB        size  speed vs ref  cpu vs ref  size vs ref\n", runs)
	for _, t := range tools {
		m := benchutil.Median(res[t.Name])
		fmt.Printf("%-24s %8.2f %7.2f %8.1f %11d", t.Name, m.Wall.Seconds(), m.CPU.Seconds(), float64(m.RSSKiB)/1024, m.Size)
		if t.Ref != "" {
			q := benchutil.Median(res[t.Ref])
			fmt.Printf(" %12.2fx %10.2fx %11.3fx", q.Wall.Seconds()/m.Wall.Seconds(), m.CPU.Seconds()/q.CPU.Seconds(), float64(m.Size)/float64(q.Size))
		}
		fmt.Println()
	}
	fmt.Printf("load average at end: %s\n", benchutil.LoadAvg())
	return nil
}
