// Command backup compares fogkit's backup writer and verifier with the
// pipeline a customer would otherwise use.
//
//	go run ./internal/bench/backup [-size 1024] [-runs 1] [-dir DIR] [-restore]
//
// It generates a data tree of -size MiB in a temporary directory,
// deterministically: 40% in many small files (1–32 KiB: configuration,
// JSON records, text) and 60% in a few large ones, alternately
// log-like text (compressible about 4:1) and random bytes (media or
// already compressed data). Then it measures, each in a child process so
// that CPU time and peak RSS come from the kernel:
//
//   - backup.Write:   zstd, passphrase (iterated S2K, AES-256, MDC)
//   - backup.Verify:  one pass: decrypt, decompress, every digest
//   - backup.Restore: (with -restore) staged restore into a new directory, synced
//   - peer backup:    tar -cf - -C dir . | zstd -3 -T0 | gpg --symmetric --cipher-algo AES256 --compress-algo none
//   - peer list:      gpg --decrypt | zstd -d | tar -tf - >/dev/null
//
// The peer's gpg gets --compress-algo none: its default ZLIB pass over
// zstd output would only slow it down. Every figure is the best of -runs
// runs; the tree stays in the page cache, so this measures CPU and copy
// paths more than the disk. For pipelines the RSS is the largest process's.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/fogkit/fogkit/backup"
	"github.com/fogkit/fogkit/internal/bench/benchutil"
)

func main() { benchutil.Main(child, parent) }

const passphrase = "bench passphrase for the customer's backup"

func parent() error {
	size := flag.Int64("size", 1024, "tree size in MiB")
	runs := flag.Int("runs", 1, "runs per measurement (best is shown)")
	dirFlag := flag.String("dir", "", "work directory (default: a new temporary one, removed after)")
	restore := flag.Bool("restore", false, "also measure backup.Restore")
	flag.Parse()
	for _, tool := range []string{"tar", "zstd", "gpg", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: %w", tool, err)
		}
	}
	work := *dirFlag
	if work == "" {
		d, err := os.MkdirTemp("", "fogkit-bench-backup")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		work = d
	}
	tree := filepath.Join(work, "tree")
	fmt.Fprintf(os.Stderr, "generating %d MiB in %s\n", *size, tree)
	st := time.Now()
	files, total, err := generate(tree, *size<<20)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "generated %d files, %d bytes in %v\n", files, total, time.Since(st).Round(time.Millisecond))
	gnupg := filepath.Join(work, "gnupg")
	if err := os.MkdirAll(gnupg, 0o700); err != nil {
		return err
	}
	defer exec.Command("gpgconf", "--homedir", gnupg, "--kill", "all").Run()
	pass := filepath.Join(work, "pass")
	if err := os.WriteFile(pass, []byte(passphrase), 0o600); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ours := filepath.Join(work, "backup.pgp")
	peer := filepath.Join(work, "peer.tar.zst.gpg")
	restored := filepath.Join(work, "restored")
	gpg := "gpg --homedir " + gnupg + " --batch --no-tty --pinentry-mode loopback --passphrase-file " + pass
	type job struct {
		name string
		cmd  func() *exec.Cmd
		out  string
		pre  func()
	}
	jobs := []job{
		{"backup.Write", func() *exec.Cmd { return exec.Command(self, "-child", "write", tree, ours) }, ours, nil},
		{"backup.Verify", func() *exec.Cmd { return exec.Command(self, "-child", "verify", ours) }, "", nil},
	}
	if *restore {
		jobs = append(jobs, job{"backup.Restore", func() *exec.Cmd { return exec.Command(self, "-child", "restore", ours, restored) }, "",
			func() { os.RemoveAll(restored) }})
	}
	jobs = append(jobs,
		job{"peer tar|zstd -3 -T0|gpg -c", func() *exec.Cmd {
			return exec.Command("bash", "-c", "set -o pipefail; tar -cf - -C "+tree+" . | zstd -q -3 -T0 | "+gpg+
				" --symmetric --cipher-algo AES256 --compress-algo none -o - > "+peer)
		}, peer, func() { os.Remove(peer) }},
		job{"peer gpg -d|zstd -d|tar -t", func() *exec.Cmd {
			return exec.Command("bash", "-c", "set -o pipefail; "+gpg+" --decrypt "+peer+" 2>/dev/null | zstd -q -d | tar -tf - >/dev/null")
		}, "", nil},
	)
	fmt.Printf("tree: %d MiB in %d files; %d CPUs (GOMAXPROCS %d)\n\n", total>>20, files, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Printf("| %-28s | %9s | %9s | %9s | %9s | %12s |\n", "run", "wall", "MiB/s", "CPU", "peak RSS", "output")
	fmt.Printf("|%s|%s|%s|%s|%s|%s|\n", strings.Repeat("-", 30), strings.Repeat("-", 11), strings.Repeat("-", 11), strings.Repeat("-", 11), strings.Repeat("-", 11), strings.Repeat("-", 14))
	for _, j := range jobs {
		var ss []benchutil.Sample
		for range *runs {
			if j.pre != nil {
				j.pre()
			}
			s, err := measure(j.cmd())
			if err != nil {
				return fmt.Errorf("%s: %w", j.name, err)
			}
			ss = append(ss, s)
		}
		best := benchutil.Best(ss)
		out := ""
		if j.out != "" {
			if fi, err := os.Stat(j.out); err == nil {
				out = fmt.Sprintf("%.1f MiB", float64(fi.Size())/(1<<20))
			}
		}
		mibs := float64(total) / (1 << 20) / best.Wall.Seconds()
		fmt.Printf("| %-28s | %8.2fs | %9.0f | %8.2fs | %6d MiB | %12s |\n", j.name, best.Wall.Seconds(), mibs, best.CPU.Seconds(), best.RSSKiB>>10, out)
	}
	return nil
}

// measure runs cmd and puts what it wrote on stderr into its error.
func measure(cmd *exec.Cmd) (benchutil.Sample, error) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	s, err := benchutil.Measure(cmd)
	if err != nil {
		return s, fmt.Errorf("%w: %s", err, stderr.String())
	}
	return s, nil
}

func child(args []string) error {
	ctx := context.Background()
	switch args[0] {
	case "write":
		f, err := os.Create(args[2])
		if err != nil {
			return err
		}
		if _, err := backup.Write(ctx, f, &backup.Options{Product: "bench", Version: "1", Sequence: 1, Dir: args[1], Passphrase: []byte(passphrase)}); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		return f.Close()
	case "verify":
		f, err := os.Open(args[1])
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = backup.Verify(ctx, f, &backup.ReadOptions{Passphrase: []byte(passphrase)})
		return err
	case "restore":
		f, err := os.Open(args[1])
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = backup.Restore(ctx, f, args[2], &backup.RestoreOptions{ReadOptions: backup.ReadOptions{Passphrase: []byte(passphrase)}, Product: "bench", Sequence: 1})
		return err
	}
	return fmt.Errorf("unknown child %q", args[0])
}

// generate writes the tree: 40% of n in small files, 60% in large ones.
func generate(dir string, n int64) (files int, total int64, err error) {
	r := rand.New(rand.NewPCG(20261204, 1))
	words := vocabulary(r)
	small := n * 4 / 10
	for i := 0; total < small; i++ {
		sub := filepath.Join(dir, fmt.Sprintf("records/%02d/%03d", i%64, (i/64)%256))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return files, total, err
		}
		size := 1<<10 + r.IntN(31<<10)
		var b []byte
		if i%10 == 9 {
			b = randomBytes(r, size) // thumbnails, keys
		} else {
			b = text(r, words, size, i%3 == 0)
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("r%06d.json", i)), b, 0o644); err != nil {
			return files, total, err
		}
		files++
		total += int64(len(b))
	}
	large := n - total
	const parts = 8
	if err := os.MkdirAll(filepath.Join(dir, "blobs"), 0o755); err != nil {
		return files, total, err
	}
	for i := range parts {
		want := large / parts
		f, err := os.Create(filepath.Join(dir, "blobs", fmt.Sprintf("blob%d.dat", i)))
		if err != nil {
			return files, total, err
		}
		for done := int64(0); done < want; {
			chunk := int(min(4<<20, want-done))
			var b []byte
			if i%2 == 0 {
				b = text(r, words, chunk, false)
			} else {
				b = randomBytes(r, chunk)
			}
			if _, err := f.Write(b); err != nil {
				f.Close()
				return files, total, err
			}
			done += int64(len(b))
		}
		if err := f.Close(); err != nil {
			return files, total, err
		}
		files++
		total += want
	}
	return files, total, nil
}

func vocabulary(r *rand.Rand) []string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	w := make([]string, 2048)
	for i := range w {
		b := make([]byte, 2+r.IntN(9))
		for j := range b {
			b[j] = letters[r.IntN(len(letters))]
		}
		w[i] = string(b)
	}
	return w
}

// text is log- or JSON-like lines: timestamps, levels, ids and words drawn
// with a skewed distribution.
func text(r *rand.Rand, words []string, n int, json bool) []byte {
	b := make([]byte, 0, n+256)
	ts := int64(1764806400) + r.Int64N(1e7)
	for len(b) < n {
		ts += r.Int64N(5)
		if json {
			b = fmt.Appendf(b, `{"id":%d,"ts":%d,"user":"%s","note":"`, r.IntN(1e6), ts, words[r.IntN(64)])
		} else {
			b = time.Unix(ts, 0).UTC().AppendFormat(b, "2006-01-02T15:04:05Z")
			b = append(b, []string{" INFO ", " DEBUG ", " WARN "}[r.IntN(3)]...)
		}
		for k := 4 + r.IntN(10); k > 0; k-- {
			i := r.IntN(len(words))
			if r.IntN(4) > 0 {
				i %= 128 // a few words are frequent
			}
			b = append(b, words[i]...)
			b = append(b, ' ')
		}
		if json {
			b = append(b, "\"}\n"...)
		} else {
			b = fmt.Appendf(b, "req=%08x\n", r.Uint32())
		}
	}
	return b[:n]
}

func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b[:n]
}
