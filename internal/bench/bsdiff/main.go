// Command bsdiff compares fogkit's update/bsdiff (SA-IS differ writing
// go-bsdiff-identical patches, hardened patcher) with the C bsdiff/bspatch
// in the same run, on a
// generated corpus: a pair of uncompressed initramfs-like cpio archives
// (two variants of a /usr/lib subtree, ~65 MB, built with find|cpio -o -H
// newc), the same pair gzip-compressed, and a pair of Go binaries (a small
// net/http program in two versions, with and without -ldflags "-s -w").
// Every tool runs as a child process so wall time, CPU (user+sys) and peak
// RSS are measured the same way (getrusage of the child). With -ref (the
// default), github.com/gabstv/go-bsdiff v1.0.5 diffs each pair too, and our
// patch must be byte-identical to its patch.
//
//	go run ./internal/bench/bsdiff [-work DIR] [-size 65] [-only cpio,gz,go,go-sw] [-ref=false]
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fogkit/fogkit/internal/bench/benchutil"
	"github.com/fogkit/fogkit/update/bsdiff"
	gbsdiff "github.com/gabstv/go-bsdiff/pkg/bsdiff"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "launch" {
		if err := benchutil.Launch(os.Args[2], os.Args[3:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && (os.Args[1] == "ours-diff" || os.Args[1] == "ours-patch" || os.Args[1] == "gobsdiff-diff") {
		if err := child(os.Args[1], os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	work := flag.String("work", "", "work directory (default: a temporary one, removed at the end)")
	sizeMB := flag.Int("size", 65, "cpio corpus size in MB")
	only := flag.String("only", "cpio,gz,go,go-sw", "corpora to run")
	ref := flag.Bool("ref", true, "also diff with go-bsdiff v1.0.5 and check our patches are byte-identical to its")
	flag.Parse()
	if err := run(*work, *sizeMB, *only, *ref); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// child runs our diff or patch in its own process.
func child(op string, args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("%s old new patch", op)
	}
	old, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	if op == "ours-diff" || op == "gobsdiff-diff" {
		nw, err := os.ReadFile(args[1])
		if err != nil {
			return err
		}
		diff := bsdiff.Diff
		if op == "gobsdiff-diff" {
			diff = gbsdiff.Bytes
		}
		p, err := diff(old, nw)
		if err != nil {
			return err
		}
		return os.WriteFile(args[2], p, 0o644)
	}
	pf, err := os.Open(args[2])
	if err != nil {
		return err
	}
	defer pf.Close()
	out, err := bsdiff.Patch(old, pf, 4<<30)
	if err != nil {
		return err
	}
	return os.WriteFile(args[1], out, 0o644)
}

type result struct {
	corpus, tool, op string
	wall, cpu        time.Duration
	rssKB            int64
	size             int64
}

func run(work string, sizeMB int, only string, ref bool) error {
	if work == "" {
		d, err := os.MkdirTemp("", "fogkit-bsdiff-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		work = d
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	for _, tool := range []string{"bsdiff", "bspatch", "cpio", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found (apt-get install bsdiff cpio)", tool)
		}
	}
	pairs := map[string][2]string{}
	want := map[string]bool{}
	for _, c := range strings.Split(only, ",") {
		want[c] = true
	}
	if want["cpio"] || want["gz"] {
		a, b, err := cpioPair(work, int64(sizeMB)<<20)
		if err != nil {
			return err
		}
		pairs["cpio"] = [2]string{a, b}
		if want["gz"] {
			ga, gb := a+".gz", b+".gz"
			for _, p := range [][2]string{{a, ga}, {b, gb}} {
				if err := gzipFile(p[0], p[1]); err != nil {
					return err
				}
			}
			pairs["gz"] = [2]string{ga, gb}
		}
	}
	if want["go"] || want["go-sw"] {
		for _, sw := range []bool{false, true} {
			name := "go"
			if sw {
				name = "go-sw"
			}
			if !want[name] {
				continue
			}
			a, b, err := benchutil.GoPair(work, sw)
			if err != nil {
				return err
			}
			pairs[name] = [2]string{a, b}
		}
	}
	var names []string
	for n := range pairs {
		if want[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var results []result
	for _, n := range names {
		old, nw := pairs[n][0], pairs[n][1]
		so, _ := os.Stat(old)
		sn, _ := os.Stat(nw)
		fmt.Fprintf(os.Stderr, "corpus %s: old %d bytes, new %d bytes\n", n, so.Size(), sn.Size())
		for _, tool := range []string{"C", "fogkit"} {
			patch := filepath.Join(work, n+"."+tool+".patch")
			out := filepath.Join(work, n+"."+tool+".out")
			var dw, dc, pw, pc time.Duration
			var dr, pr int64
			if tool == "C" {
				if dw, dc, dr, err = benchutil.MeasureLaunched("bsdiff", old, nw, patch); err != nil {
					return err
				}
				if pw, pc, pr, err = benchutil.MeasureLaunched("bspatch", old, out, patch); err != nil {
					return err
				}
			} else {
				if dw, dc, dr, err = benchutil.MeasureLaunched(self, "ours-diff", old, nw, patch); err != nil {
					return err
				}
				if pw, pc, pr, err = benchutil.MeasureLaunched(self, "ours-patch", old, out, patch); err != nil {
					return err
				}
			}
			if !sameFile(nw, out) {
				return fmt.Errorf("%s %s: patched output differs", n, tool)
			}
			ps, _ := os.Stat(patch)
			results = append(results, result{n, tool, "diff", dw, dc, dr, ps.Size()}, result{n, tool, "patch", pw, pc, pr, sn.Size()})
			fmt.Fprintf(os.Stderr, "  %s done (diff %v, patch %v)\n", tool, dw.Round(time.Millisecond), pw.Round(time.Millisecond))
		}
		if ref {
			patch := filepath.Join(work, n+".go-bsdiff.patch")
			dw, dc, dr, err := benchutil.MeasureLaunched(self, "gobsdiff-diff", old, nw, patch)
			if err != nil {
				return err
			}
			ps, _ := os.Stat(patch)
			results = append(results, result{n, "go-bsdiff", "diff", dw, dc, dr, ps.Size()})
			fmt.Fprintf(os.Stderr, "  go-bsdiff done (diff %v)\n", dw.Round(time.Millisecond))
			if !sameFile(patch, filepath.Join(work, n+".fogkit.patch")) {
				return fmt.Errorf("%s: our patch is not byte-identical to go-bsdiff's", n)
			}
			fmt.Fprintf(os.Stderr, "  our patch is byte-identical to go-bsdiff's\n")
		}
		// Cross-apply: our patch with bspatch, C's patch with ours.
		cross := filepath.Join(work, n+".cross")
		if _, _, _, err := benchutil.MeasureLaunched("bspatch", old, cross, filepath.Join(work, n+".fogkit.patch")); err != nil || !sameFile(nw, cross) {
			return fmt.Errorf("%s: our patch does not apply with bspatch: %v", n, err)
		}
		if _, _, _, err := benchutil.MeasureLaunched(self, "ours-patch", old, cross, filepath.Join(work, n+".C.patch")); err != nil || !sameFile(nw, cross) {
			return fmt.Errorf("%s: C patch does not apply with ours: %v", n, err)
		}
		os.Remove(cross)
	}
	fmt.Printf("| corpus | tool | op | wall | CPU user+sys | peak RSS | output | vs C |\n|---|---|---|---|---|---|---|---|\n")
	// The C row of the same corpus and operation, for ratios.
	cRow := map[string]result{}
	for _, r := range results {
		if r.tool == "C" {
			cRow[r.corpus+"/"+r.op] = r
		}
	}
	for _, r := range results {
		ratio := ""
		if r.tool != "C" {
			c := cRow[r.corpus+"/"+r.op]
			ratio = fmt.Sprintf("CPU %.2f×, RSS %.2f×", float64(r.cpu)/float64(c.cpu), float64(r.rssKB)/float64(c.rssKB))
			if r.op == "diff" {
				ratio += fmt.Sprintf(", size %.3f×", float64(r.size)/float64(c.size))
			} else {
				ratio += fmt.Sprintf(", wall %.2f×", float64(r.wall)/float64(c.wall))
			}
		}
		fmt.Printf("| %s | %s | %s | %.2f s | %.2f s | %d MiB | %d B | %s |\n", r.corpus, r.tool, r.op,
			r.wall.Seconds(), r.cpu.Seconds(), r.rssKB/1024, r.size, ratio)
	}
	return nil
}

func sameFile(a, b string) bool {
	ha, ea := hashFile(a)
	hb, eb := hashFile(b)
	return ea == nil && eb == nil && ha == hb
}

func hashFile(p string) ([32]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return [32]byte{}, err
	}
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s, nil
}

func gzipFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, 9)
	w.Write(b)
	w.Close()
	return os.WriteFile(dst, buf.Bytes(), 0o644)
}

// cpioPair copies regular files of /usr/lib (sorted, skipping huge ones)
// into two trees: "old" and "new", where new drops every 11th file, adds
// files old lacks, and rebuilds every 7th file (inserted, deleted and
// rewritten spans, as a recompiled library would show). Each tree becomes
// an uncompressed newc cpio via find | cpio.
func cpioPair(work string, target int64) (string, string, error) {
	var files []string
	filepath.WalkDir("/usr/lib", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if info, err := d.Info(); err == nil && info.Size() > 0 && info.Size() < 8<<20 {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	oldDir, newDir := filepath.Join(work, "tree-old"), filepath.Join(work, "tree-new")
	os.RemoveAll(oldDir)
	os.RemoveAll(newDir)
	var total int64
	r := rand.New(rand.NewPCG(1, 2))
	for i, p := range files {
		if total >= target {
			break
		}
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		rel := strings.TrimPrefix(p, "/")
		inOld := i%13 != 5 // new-only files
		inNew := i%11 != 3 // removed files
		if inOld {
			if err := benchutil.PutFile(filepath.Join(oldDir, rel), b); err != nil {
				return "", "", err
			}
		}
		if inNew {
			nb := b
			if i%7 == 0 && len(b) > 64 {
				nb = benchutil.Rebuild(r, b)
			}
			if err := benchutil.PutFile(filepath.Join(newDir, rel), nb); err != nil {
				return "", "", err
			}
		}
		total += int64(len(b))
	}
	a, b := filepath.Join(work, "old.cpio"), filepath.Join(work, "new.cpio")
	for _, p := range [][2]string{{oldDir, a}, {newDir, b}} {
		cmd := exec.Command("sh", "-c", "find . | LC_ALL=C sort | cpio --quiet -o -H newc > "+p[1])
		cmd.Dir = p[0]
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return "", "", fmt.Errorf("cpio: %w", err)
		}
	}
	os.RemoveAll(oldDir)
	os.RemoveAll(newDir)
	return a, b, nil
}
