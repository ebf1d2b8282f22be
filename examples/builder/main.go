// Command builder makes fogkit's build appliance and with it the first
// half of a self-rebuild proof. It assembles an app tree holding the
// fogkit command and every input of the build appliance's own build:
//
//	app/fogkit               the fogkit command (static, -trimpath)
//	app/init                 the appliance's /init (examples/builder/init)
//	app/kernel/vmlinuz       the kernel
//	app/kernel/modules/REL/  the driver modules the appliance loads, as the kernel package ships them
//	app/systemd-bootx64.efi  the loader
//	app/keys/                the vendor keys the build signs with
//	app/builder.yaml         the spec (builder.yaml, with the kernel's release filled in)
//
// and runs app/fogkit build -f builder.yaml inside app/, into build/
// ("stage 2"). Booted, the appliance runs the same build of the same tree
// on its data disk ("stage 3") and prints every output's SHA-256: they
// equal build/'s. The self-rebuild test does exactly that under qemu.
//
//	go run ./examples/builder [-out DIR] [-kernel vmlinuz-REL] [-efi systemd-bootx64.efi] [-keys DIR]
//
// The keys are in the tree because a build that signs needs them, and a
// proof must rebuild the signatures too: that is acceptable for a proof,
// whose keys sign nothing anybody trusts. A vendor who runs a build
// appliance in earnest keeps the signing keys outside it (see README,
// "Reproducible builds").
package main

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/fogkit/fogkit/appliance"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/fogkit/fogkit/sign"
)

//go:embed builder.yaml
var specTemplate string

// Options says where the inputs come from.
type Options struct {
	Kernel string // a bzImage named vmlinuz-<release>, its modules at ../lib/modules/<release>
	EFI    string // systemd-bootx64.efi
	Keys   string // a key directory to copy; "" creates fresh keys
}

func main() {
	out := flag.String("out", "builder-out", "output directory: app/ (the tree) and build/ (its build)")
	kernel := flag.String("kernel", appliance.HostKernel(), "kernel (vmlinuz-<release>, with ../lib/modules/<release> beside it)")
	efi := flag.String("efi", "/usr/lib/systemd/boot/efi/systemd-bootx64.efi", "systemd-boot's EFI program")
	keys := flag.String("keys", "", "copy this key directory into the tree (default: fresh keys)")
	flag.Parse()
	ctx := context.Background()
	app := filepath.Join(*out, "app")
	if err := Assemble(ctx, app, &Options{Kernel: *kernel, EFI: *efi, Keys: *keys}); err != nil {
		fmt.Fprintln(os.Stderr, "builder:", err)
		os.Exit(1)
	}
	build, err := filepath.Abs(filepath.Join(*out, "build"))
	if err == nil {
		err = Build(ctx, app, build, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "builder:", err)
		os.Exit(1)
	}
	sums, err := Digests(build)
	if err != nil {
		fmt.Fprintln(os.Stderr, "builder:", err)
		os.Exit(1)
	}
	for _, name := range sortedKeys(sums) {
		fmt.Printf("sha256 %s %s\n", sums[name], name)
	}
	fmt.Printf("boot %s with a blank data disk of 16 GiB: it builds itself again and prints these digests\n",
		filepath.Join(*out, "build", "fogbuilder.ova"))
}

// Assemble writes the build appliance's app tree into dir (which must not
// exist yet), with the modes the spec's appModes give, so that the tree
// and the copy the appliance carries at /opt/app are the same.
func Assemble(ctx context.Context, dir string, o *Options) error {
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("%s exists: give a fresh -out", dir)
	}
	rel := strings.TrimPrefix(filepath.Base(o.Kernel), "vmlinuz-")
	if o.Kernel == "" || rel == filepath.Base(o.Kernel) {
		return fmt.Errorf("kernel %q: give a vmlinuz-<release> with its lib/modules beside it", o.Kernel)
	}
	modTree := filepath.Join(filepath.Dir(o.Kernel), "..", "lib", "modules", rel)
	if err := os.MkdirAll(filepath.Join(dir, "kernel", "modules", rel), 0o755); err != nil {
		return err
	}
	for _, c := range []struct{ pkg, out string }{
		{"github.com/fogkit/fogkit/cmd/fogkit", "fogkit"},
		{"github.com/fogkit/fogkit/examples/builder/init", "init"},
	} {
		if err := goBuild(ctx, c.pkg, filepath.Join(dir, c.out)); err != nil {
			return err
		}
	}
	if err := copyFile(o.Kernel, filepath.Join(dir, "kernel", "vmlinuz")); err != nil {
		return err
	}
	if err := copyFile(o.EFI, filepath.Join(dir, "systemd-bootx64.efi")); err != nil {
		return err
	}
	if err := copyModules(ctx, modTree, filepath.Join(dir, "kernel", "modules", rel)); err != nil {
		return err
	}
	keys := filepath.Join(dir, "keys")
	if o.Keys != "" {
		if err := os.CopyFS(keys, os.DirFS(o.Keys)); err != nil {
			return err
		}
	} else if _, err := sign.CreateKeyDir(keys, &sign.KeyDirOptions{Name: "fogbuilder"}); err != nil {
		return err
	}
	spec := strings.Replace(specTemplate, "kernel/modules/RELEASE", "kernel/modules/"+rel, 1)
	if err := os.WriteFile(filepath.Join(dir, "builder.yaml"), []byte(spec), 0o644); err != nil {
		return err
	}
	return setModes(dir)
}

// goBuild builds a static linux/amd64 program the way GoInit does: the
// same sources give the same bytes on any machine.
func goBuild(ctx context.Context, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// appliance.DefaultModules is what the spec asks for (it names no
// modules); copyModules copies those modules and their dependencies, as
// the kernel package ships them (compressed or not), and modules.builtin.
func copyModules(ctx context.Context, tree, dst string) error {
	mods, err := rootfs.New(nil).AddModules(ctx, os.DirFS(tree), appliance.DefaultModules, &rootfs.ModuleOptions{Release: filepath.Base(tree), SkipMissing: true})
	if err != nil {
		return err
	}
	files := []string{"modules.builtin"}
	for _, m := range mods {
		if m.Path == "" {
			continue
		}
		found := false
		for _, ext := range []string{"", ".xz", ".zst", ".gz"} {
			if _, err := os.Stat(filepath.Join(tree, m.Path+ext)); err == nil {
				files, found = append(files, m.Path+ext), true
				break
			}
		}
		if !found {
			return fmt.Errorf("module %s: no file %s in %s", m.Name, m.Path, tree)
		}
	}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Join(dst, path.Dir(f)), 0o755); err != nil {
			return err
		}
		if err := copyFile(filepath.Join(tree, f), filepath.Join(dst, f)); err != nil {
			return err
		}
	}
	return nil
}

// setModes gives the tree the modes builder.yaml's appModes give the
// image: the programs 0755, private keys 0400, other files 0444,
// directories 0555.
func setModes(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o444)
		switch {
		case d.IsDir():
			dirs = append(dirs, p)
			return nil
		case d.Name() == "fogkit" || d.Name() == "init":
			mode = 0o755
		case strings.HasSuffix(d.Name(), ".key"):
			mode = 0o400
		}
		return os.Chmod(p, mode)
	})
	if err != nil {
		return err
	}
	// Deepest first, so a directory is still writable while its children
	// change.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(dirs[i], 0o555); err != nil {
			return err
		}
	}
	return nil
}

// Build runs the tree's own fogkit on its spec, from inside the tree, into
// out (an absolute path), printing the stage timings on log.
func Build(ctx context.Context, app, out string, log io.Writer) error {
	cmd := exec.CommandContext(ctx, "./fogkit", "build", "-f", "builder.yaml", "-keys", "keys", "-out", out, "-timings")
	cmd.Dir = app
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("fogkit build in %s: %w", app, err)
	}
	return nil
}

// Digests maps every file under dir (slash-separated, relative) to its
// SHA-256, as the appliance prints them.
func Digests(dir string) (map[string]string, error) {
	sums := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		sums[filepath.ToSlash(rel)], err = fileDigest(p)
		return err
	})
	if err == nil && len(sums) == 0 {
		err = errors.New(dir + " holds no files")
	}
	return sums, err
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func fileDigest(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
