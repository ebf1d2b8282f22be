// Command mkrootfs builds a deterministic initramfs (cpio newc) with
// fogkit's rootfs package.
//
//	go run ./examples/mkrootfs [-dir DIR] [-spec FILE] [-compress none|gzip|zstd] [-epoch UNIX] [-o OUT]
//
// -dir adds a host directory tree, -spec a Linux gen_init_cpio list (its
// ${VAR}s come from the environment); both may be given, the spec layered
// on top. With neither, it builds an embedded demo tree: a /init script,
// /dev nodes, a symlink and a hard link. -epoch defaults to
// SOURCE_DATE_EPOCH, else 0. It prints one line: entries, bytes, sha256.
// Exit status: 0 done, 1 build failed, 2 bad usage.
package main

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/fogkit/fogkit/rootfs"
)

//go:embed demo
var demo embed.FS

type usageError struct{ error }

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	var ue usageError
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, "mkrootfs:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "mkrootfs:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("mkrootfs", flag.ContinueOnError)
	fl.SetOutput(stderr)
	dir := fl.String("dir", "", "host directory tree to add")
	spec := fl.String("spec", "", "gen_init_cpio list file to add (after -dir)")
	compress := fl.String("compress", "gzip", "compression: none, gzip or zstd")
	epoch := fl.Int64("epoch", 0, "mtime of every entry, Unix seconds (default: SOURCE_DATE_EPOCH if set, else 0)")
	out := fl.String("o", "", "output file (default out/rootfs.cpio[.gz|.zst])")
	keepOwners := fl.Bool("keep-owners", false, "keep host uid/gid from -dir (default 0:0)")
	noInit := fl.Bool("allow-no-init", false, "do not require an executable /init (overlays)")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: mkrootfs [-dir DIR] [-spec FILE] [-compress none|gzip|zstd] [-epoch UNIX] [-o OUT]")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{errors.New("bad usage")} // flag has printed the details
	}
	if fl.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fl.Arg(0))}
	}
	comp, err := rootfs.ParseCompression(*compress)
	if err != nil {
		return usageError{err}
	}
	opts := &rootfs.Options{Compression: comp, AllowNoInit: *noInit, Progress: progress(stderr)}
	epochSet := false
	fl.Visit(func(f *flag.Flag) { epochSet = epochSet || f.Name == "epoch" })
	switch {
	case epochSet && (*epoch < 0 || *epoch > 0xFFFFFFFF):
		return usageError{fmt.Errorf("-epoch %d is outside 0..4294967295", *epoch)}
	case epochSet:
		opts.ModTime = time.Unix(*epoch, 0).UTC()
	default:
		t, ok, err := rootfs.SourceDateEpoch()
		if err != nil {
			return usageError{err}
		}
		if ok {
			opts.ModTime = t
		}
	}
	if *out == "" {
		*out = filepath.Join("out", "rootfs.cpio"+map[rootfs.Compression]string{
			rootfs.CompressNone: "", rootfs.CompressGzip: ".gz", rootfs.CompressZstd: ".zst"}[comp])
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	b := rootfs.New(opts)
	if *dir == "" && *spec == "" {
		if err := addDemo(ctx, b); err != nil {
			return err
		}
	}
	if *dir != "" {
		if err := b.AddHostDir(ctx, *dir, &rootfs.TreeOptions{KeepOwners: *keepOwners}); err != nil {
			return err
		}
	}
	if *spec != "" {
		f, err := os.Open(*spec)
		if err != nil {
			return err
		}
		err = b.AddSpec(ctx, f, &rootfs.SpecOptions{Expand: os.LookupEnv})
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *spec, err)
		}
	}
	if err := b.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".mkrootfs-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	st, err := b.Write(ctx, io.MultiWriter(tmp, h))
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return err
	}
	if opts.Progress != nil {
		fmt.Fprint(stderr, "\r\033[K")
	}
	fmt.Fprintf(stdout, "%s: %d entries, %d bytes (%s, cpio %d bytes), sha256 %s\n",
		*out, st.Entries, st.Bytes, comp, st.ArchiveBytes, hex.EncodeToString(h.Sum(nil)))
	return nil
}

// addDemo adds the embedded demo tree plus what a tree in git cannot hold:
// device nodes, a symlink and a hard link.
func addDemo(ctx context.Context, b *rootfs.Builder) error {
	sub, err := fs.Sub(demo, "demo")
	if err != nil {
		return err
	}
	// embed.FS reports every file 0444 and every directory 0555.
	err = b.AddFS(ctx, sub, &rootfs.TreeOptions{Hook: func(e *rootfs.Entry) bool {
		switch {
		case e.Type == rootfs.TypeDir:
			e.Mode = 0o755
		case e.Path == "/init":
			e.Mode = 0o755
		default:
			e.Mode = 0o644
		}
		return true
	}})
	if err != nil {
		return err
	}
	for _, e := range []rootfs.Entry{
		{Path: "/dev/console", Type: rootfs.TypeChar, Mode: 0o600, Major: 5, Minor: 1},
		{Path: "/dev/null", Type: rootfs.TypeChar, Mode: 0o666, Major: 1, Minor: 3},
		{Path: "/dev/tty", Type: rootfs.TypeChar, Mode: 0o666, Major: 5, Minor: 0},
		{Path: "/tmp", Type: rootfs.TypeDir, Mode: 0o1777},
		{Path: "/bin/sh", Type: rootfs.TypeSymlink, Linkname: "busybox"},
		{Path: "/etc/issue", Type: rootfs.TypeHardlink, Linkname: "/etc/motd"},
	} {
		if err := b.Add(e); err != nil {
			return err
		}
	}
	return nil
}

// progress returns a Progress callback that redraws one status line on a
// terminal (at most five times a second), or nil when stderr is not one.
func progress(stderr io.Writer) func(rootfs.Event) {
	f, ok := stderr.(*os.File)
	if !ok {
		return nil
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	var last time.Time
	return func(e rootfs.Event) {
		if now := time.Now(); now.Sub(last) > 200*time.Millisecond || e.Done == e.Total {
			last = now
			fmt.Fprintf(f, "\r\033[K%d/%d entries, %.1f MB", e.Done, e.Total, float64(e.Written)/1e6)
		}
	}
}
