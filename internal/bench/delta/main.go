// Command delta compares fogkit's two delta formats (BSDIFF40 from
// update/bsdiff and the streaming fkdelta1 from update/delta) with C
// bsdiff/bspatch, xdelta3 and zstd --patch-from, in one run, on generated
// corpora:
//
//   - rootfs65: the uncompressed initramfs-like cpio pair of
//     internal/bench/bsdiff (/usr/lib files, ~65 MB; files dropped, added
//     and rebuilt between versions);
//   - go, go-sw: two versions of a small net/http Go program (with and
//     without -ldflags "-s -w");
//   - cpio512, cpio1g: the same kind of cpio pair at 512 MiB and 1 GiB,
//     from /usr;
//   - ext4: two 1 GiB raw ext4 images made by mke2fs -d from the two
//     trees of the 512 MiB corpus (deterministic UUID, hash seed and time).
//
// Every tool runs as a child process behind a small launcher, so wall
// time, CPU (user+sys) and peak RSS come from the kernel (getrusage) the
// same way for all. Corpora are written under -work (a temporary directory
// by default, removed at the end); nothing is committed.
//
//	go run ./internal/bench/delta [-work DIR] [-keep] [-only rootfs65,go,go-sw,cpio512,ext4,cpio1g]
//	    [-peers fkdelta,fkbsdiff,bsdiff,xdelta3,zstd] [-bsdiff-max 600]
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fogkit/fogkit/internal/bench/benchutil"
	"github.com/fogkit/fogkit/update/bsdiff"
	"github.com/fogkit/fogkit/update/delta"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "launch" {
		if err := benchutil.Launch(os.Args[2], os.Args[3:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "ours-") {
		if err := child(os.Args[1], os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	work := flag.String("work", "", "work directory (default: a temporary one, removed at the end)")
	only := flag.String("only", "rootfs65,go,go-sw,cpio512,ext4,cpio1g", "corpora to run, in this order")
	peers := flag.String("peers", "fkdelta,fkbsdiff,bsdiff,xdelta3,zstd", "tools to run")
	bsdiffMax := flag.Int64("bsdiff-max", 600, "run the bsdiff tools (C and fogkit) only on pairs up to this many MiB")
	keep := flag.Bool("keep", false, "keep generated corpora in -work for another run")
	flag.Parse()
	if err := run(*work, *only, *peers, *bsdiffMax<<20, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// child runs one of our operations in its own process: ours-delta-diff,
// ours-delta-patch, ours-bsdiff-diff, ours-bsdiff-patch, each with
// arguments old new patch (the patch ops write new).
func child(op string, args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("%s old new patch", op)
	}
	ctx := context.Background()
	switch op {
	case "ours-delta-diff":
		of, os1, err := openSize(args[0])
		if err != nil {
			return err
		}
		defer of.Close()
		nf, ns, err := openSize(args[1])
		if err != nil {
			return err
		}
		defer nf.Close()
		pf, err := os.Create(args[2])
		if err != nil {
			return err
		}
		bw := &bufWriter{f: pf}
		if err := delta.Diff(ctx, bw, of, os1, nf, ns, nil); err != nil {
			return err
		}
		if err := bw.flush(); err != nil {
			return err
		}
		return pf.Close()
	case "ours-delta-patch":
		of, os1, err := openSize(args[0])
		if err != nil {
			return err
		}
		defer of.Close()
		pf, err := os.Open(args[2])
		if err != nil {
			return err
		}
		defer pf.Close()
		out, err := os.Create(args[1])
		if err != nil {
			return err
		}
		if _, err := delta.Apply(ctx, out, of, os1, pf, nil); err != nil {
			return err
		}
		return out.Close()
	case "ours-bsdiff-diff":
		old, err := os.ReadFile(args[0])
		if err != nil {
			return err
		}
		nw, err := os.ReadFile(args[1])
		if err != nil {
			return err
		}
		p, err := bsdiff.Diff(old, nw)
		if err != nil {
			return err
		}
		return os.WriteFile(args[2], p, 0o644)
	case "ours-bsdiff-patch":
		old, err := os.ReadFile(args[0])
		if err != nil {
			return err
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
	return fmt.Errorf("unknown operation %s", op)
}

// bufWriter buffers patch writes in 1 MiB chunks.
type bufWriter struct {
	f   *os.File
	buf []byte
}

func (b *bufWriter) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	if len(b.buf) >= 1<<20 {
		return len(p), b.flush()
	}
	return len(p), nil
}

func (b *bufWriter) flush() error {
	_, err := b.f.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

func openSize(p string) (*os.File, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

type row struct {
	corpus, tool     string
	patch            int64
	dWall, dCPU      time.Duration
	dRSS             int64
	aWall, aCPU      time.Duration
	aRSS             int64
	oldSize, newSize int64
}

// tool is a peer: the commands that diff and apply.
type tool struct {
	name  string
	diff  func(old, nw, patch string, oldSize int64) []string
	apply func(old, out, patch string) []string
	big   bool // runs on pairs above -bsdiff-max
}

func tools(self string) []tool {
	return []tool{
		{"fkdelta", func(o, n, p string, _ int64) []string { return []string{self, "ours-delta-diff", o, n, p} },
			func(o, out, p string) []string { return []string{self, "ours-delta-patch", o, out, p} }, true},
		{"fkbsdiff", func(o, n, p string, _ int64) []string { return []string{self, "ours-bsdiff-diff", o, n, p} },
			func(o, out, p string) []string { return []string{self, "ours-bsdiff-patch", o, out, p} }, false},
		{"bsdiff", func(o, n, p string, _ int64) []string { return []string{"bsdiff", o, n, p} },
			func(o, out, p string) []string { return []string{"bspatch", o, out, p} }, false},
		{"xdelta3", func(o, n, p string, size int64) []string {
			return []string{"xdelta3", "-e", "-9", "-f", "-B", strconv.FormatInt(max(size, 1<<20), 10), "-s", o, n, p}
		}, func(o, out, p string) []string { return []string{"xdelta3", "-d", "-f", "-s", o, p, out} }, true},
		{"zstd", func(o, n, p string, _ int64) []string {
			return []string{"zstd", "-q", "-f", "--patch-from=" + o, "-19", "--long=31", "-T2", n, "-o", p}
		}, func(o, out, p string) []string {
			return []string{"zstd", "-q", "-f", "-d", "--long=31", "--patch-from=" + o, p, "-o", out}
		}, true},
	}
}

func run(work, only, peers string, bsdiffMax int64, keep bool) error {
	if work == "" {
		d, err := os.MkdirTemp("", "fogkit-delta-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		work = d
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, c := range strings.Split(only, ",") {
		want[c] = true
	}
	usePeer := map[string]bool{}
	for _, c := range strings.Split(peers, ",") {
		usePeer[c] = true
	}
	type pair struct{ name, old, new string }
	var pairs []pair
	add := func(name, a, b string, err error) error {
		if err != nil {
			return fmt.Errorf("corpus %s: %w", name, err)
		}
		pairs = append(pairs, pair{name, a, b})
		return nil
	}
	if want["rootfs65"] {
		a, b, err := cpioPair(work, "rootfs65", []string{"/usr/lib"}, 65<<20, keep)
		if err := add("rootfs65", a, b, err); err != nil {
			return err
		}
	}
	for _, sw := range []bool{false, true} {
		name := map[bool]string{false: "go", true: "go-sw"}[sw]
		if want[name] {
			a, b, err := benchutil.GoPair(work, sw)
			if err := add(name, a, b, err); err != nil {
				return err
			}
		}
	}
	if want["cpio512"] || want["ext4"] {
		a, b, err := cpioPair(work, "cpio512", []string{"/usr"}, 512<<20, true)
		if want["cpio512"] {
			if err := add("cpio512", a, b, err); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if want["ext4"] {
			a, b, err := ext4Pair(work, filepath.Join(work, "cpio512.tree-old"), filepath.Join(work, "cpio512.tree-new"))
			if err := add("ext4", a, b, err); err != nil {
				return err
			}
		}
		if !keep {
			os.RemoveAll(filepath.Join(work, "cpio512.tree-old"))
			os.RemoveAll(filepath.Join(work, "cpio512.tree-new"))
		}
	}
	if want["cpio1g"] {
		a, b, err := cpioPair(work, "cpio1g", []string{"/usr"}, 1<<30, keep)
		if err := add("cpio1g", a, b, err); err != nil {
			return err
		}
	}
	// Run in the order -only lists the corpora.
	order := map[string]int{}
	for i, c := range strings.Split(only, ",") {
		order[c] = i
	}
	sort.SliceStable(pairs, func(i, j int) bool { return order[pairs[i].name] < order[pairs[j].name] })
	fmt.Fprintf(os.Stderr, "machine: %d CPUs, load %s, %s\n", runtime.NumCPU(), benchutil.LoadAvg(), time.Now().UTC().Format(time.RFC3339))
	var rows []row
	// Tools outermost, so that every corpus has the cheap tools' figures
	// before the slow ones (C bsdiff, zstd -19) start.
	for _, t := range tools(self) {
		if !usePeer[t.name] {
			continue
		}
		if _, err := exec.LookPath(t.diff("", "", "", 0)[0]); err != nil {
			fmt.Fprintf(os.Stderr, "%s: not installed, skipped\n", t.name)
			continue
		}
		for _, p := range pairs {
			so, _ := os.Stat(p.old)
			sn, _ := os.Stat(p.new)
			if !t.big && max(so.Size(), sn.Size()) > bsdiffMax {
				continue
			}
			patch := filepath.Join(work, p.name+"."+t.name+".patch")
			out := filepath.Join(work, p.name+"."+t.name+".out")
			r := row{corpus: p.name, tool: t.name, oldSize: so.Size(), newSize: sn.Size()}
			d := t.diff(p.old, p.new, patch, so.Size())
			if r.dWall, r.dCPU, r.dRSS, err = benchutil.MeasureLaunched(d[0], d[1:]...); err != nil {
				return err
			}
			a := t.apply(p.old, out, patch)
			if r.aWall, r.aCPU, r.aRSS, err = benchutil.MeasureLaunched(a[0], a[1:]...); err != nil {
				return err
			}
			if !sameFile(p.new, out) {
				return fmt.Errorf("%s %s: patched output differs", p.name, t.name)
			}
			ps, _ := os.Stat(patch)
			r.patch = ps.Size()
			os.Remove(out)
			os.Remove(patch)
			rows = append(rows, r)
			fmt.Fprintf(os.Stderr, "%-9s %-8s old %d new %d: patch %d B, diff %.2f s wall %.2f s CPU %d MiB, apply %.2f s wall %.2f s CPU %d MiB (load %s)\n",
				p.name, t.name, so.Size(), sn.Size(), r.patch, r.dWall.Seconds(), r.dCPU.Seconds(), r.dRSS/1024,
				r.aWall.Seconds(), r.aCPU.Seconds(), r.aRSS/1024, benchutil.LoadAvg())
		}
	}
	if !keep {
		for _, p := range pairs {
			os.Remove(p.old)
			os.Remove(p.new)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return order[rows[i].corpus] < order[rows[j].corpus] })
	fmt.Printf("| corpus | tool | patch | vs C bsdiff | diff wall | diff CPU | diff peak RSS (budget) | apply wall | apply CPU | apply peak RSS |\n|---|---|---|---|---|---|---|---|---|---|\n")
	ref := map[string]row{}
	for _, r := range rows {
		if r.tool == "bsdiff" || (r.tool == "fkbsdiff" && ref[r.corpus].tool == "") {
			ref[r.corpus] = r
		}
	}
	for _, r := range rows {
		vs := ""
		if c, ok := ref[r.corpus]; ok && c.tool != r.tool {
			vs = fmt.Sprintf("%.3f× size, %.1f× faster (%s)", float64(r.patch)/float64(c.patch), c.dWall.Seconds()/r.dWall.Seconds(), c.tool)
		}
		// The diff budget: 1.5 times the old file plus 256 MiB.
		budget := (r.oldSize*3/2)>>20 + 256
		fmt.Printf("| %s | %s | %d B | %s | %.2f s | %.2f s | %d MiB (%d) | %.2f s | %.2f s | %d MiB |\n", r.corpus, r.tool, r.patch, vs,
			r.dWall.Seconds(), r.dCPU.Seconds(), r.dRSS/1024, budget, r.aWall.Seconds(), r.aCPU.Seconds(), r.aRSS/1024)
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

// cpioPair copies regular files under roots (sorted, each under 8 MiB)
// into two trees, "old" and "new", until target bytes: new drops every
// 11th file, adds files old lacks (every 13th), and rebuilds every 7th
// (inserted, deleted and rewritten spans, as a recompiled library
// shows). Each tree becomes an uncompressed newc cpio via find | cpio.
// With keepTrees the trees stay as <name>.tree-old and <name>.tree-new.
// With roots {"/usr/lib"} and 65 MiB this is internal/bench/bsdiff's
// corpus.
func cpioPair(work, name string, roots []string, target int64, keepTrees bool) (string, string, error) {
	a, b := filepath.Join(work, name+".old.cpio"), filepath.Join(work, name+".new.cpio")
	oldDir, newDir := filepath.Join(work, name+".tree-old"), filepath.Join(work, name+".tree-new")
	if exists(a) && exists(b) && (!keepTrees || (exists(oldDir) && exists(newDir))) {
		return a, b, nil
	}
	var files []string
	for _, root := range roots {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			if info, err := d.Info(); err == nil && info.Size() > 0 && info.Size() < 8<<20 {
				files = append(files, p)
			}
			return nil
		})
	}
	sort.Strings(files)
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
		inOld := i%13 != 5
		inNew := i%11 != 3
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
	for _, p := range [][2]string{{oldDir, a}, {newDir, b}} {
		cmd := exec.Command("sh", "-c", "find . | LC_ALL=C sort | cpio --quiet -o -H newc > "+p[1])
		cmd.Dir = p[0]
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return "", "", fmt.Errorf("cpio: %w", err)
		}
	}
	if !keepTrees {
		os.RemoveAll(oldDir)
		os.RemoveAll(newDir)
	}
	return a, b, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// ext4Pair makes two 1 GiB raw ext4 images from two trees with mke2fs -d
// (fixed UUID, hash seed and time, so the images are reproducible).
func ext4Pair(work, oldTree, newTree string) (string, string, error) {
	var outs []string
	for i, tree := range []string{oldTree, newTree} {
		img := filepath.Join(work, fmt.Sprintf("ext4.%d.img", i))
		outs = append(outs, img)
		if exists(img) {
			continue
		}
		cmd := exec.Command("mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-U", "0b1e7a0c-5d2e-4c1f-9a3b-7e6d5c4b3a21",
			"-E", "hash_seed=0b1e7a0c-5d2e-4c1f-9a3b-7e6d5c4b3a21,root_owner=0:0,lazy_itable_init=0", "-d", tree, img, "1G")
		cmd.Env = append(os.Environ(), "E2FSPROGS_FAKE_TIME=1700000000")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return "", "", fmt.Errorf("mke2fs: %w: %s", err, stderr.String())
		}
	}
	return outs[0], outs[1], nil
}
