package appliance

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// ErrAssets: the boot assets could not be fetched: the machine has no
// apt-get or dpkg-deb (it is not Debian or Ubuntu), the distribution's
// mirror cannot be reached, or a package is unknown. A build that asked
// for a bootable appliance can fall back to a non-bootable one and say so.
var ErrAssets = errors.New("appliance: boot assets unavailable")

// AssetOptions says which distribution packages FetchAssets takes and
// where it keeps them.
type AssetOptions struct {
	// CacheDir holds the unpacked packages, one directory each, reused by
	// later builds. Default: fogkit/assets in the user's cache directory.
	CacheDir string
	// KernelPackage is the meta-package whose linux-image dependency is
	// the kernel. Default "linux-image-amd64", Debian's generic kernel: its
	// cloud flavour lacks the AHCI, e1000 and LSI drivers that VirtualBox
	// and VMware present. On Ubuntu use "linux-image-generic".
	KernelPackage string
	// LoaderPackage holds systemd-boot and the UKI stub. Default
	// "systemd-boot-efi".
	LoaderPackage string
}

// Package is one distribution package FetchAssets unpacked.
type Package struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	Architecture string `json:"architecture"`
	// SHA256 is the digest of the .deb as the signed archive index lists
	// it; FetchAssets checks the downloaded file against it.
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Dir is where the package is unpacked.
	Dir string `json:"-"`
}

// Assets are the files a bootable appliance needs from the distribution:
// a kernel with its module tree and the UEFI loaders.
type Assets struct {
	Kernel  string `json:"kernel"`  // the kernel image (bzImage)
	Release string `json:"release"` // its release, the lib/modules directory name
	Modules string `json:"modules"` // the lib/modules/<release> directory
	// SystemdBoot is systemd-bootx64.efi; Stub is linuxx64.efi.stub (for
	// unified kernel images).
	SystemdBoot string    `json:"systemdBoot"`
	Stub        string    `json:"stub"`
	Packages    []Package `json:"packages"`
}

const assetMarker = ".fogkit-asset.json"

// FetchAssets downloads the kernel and loader packages of the running
// Debian or Ubuntu system with `apt-get download` (which checks each
// package against the archive's signed index), unpacks them with
// `dpkg-deb -x` into the cache, never installing anything, and returns
// where the boot files are. A package already in the cache at the same
// version is reused without network. Each package is unpacked into a
// temporary directory beside its final one and renamed into place only
// when complete, so an interrupted or failed fetch never leaves a half
// filled cache entry.
func FetchAssets(ctx context.Context, opts *AssetOptions) (*Assets, error) {
	var o AssetOptions
	if opts != nil {
		o = *opts
	}
	if o.KernelPackage == "" {
		o.KernelPackage = "linux-image-amd64"
	}
	if o.LoaderPackage == "" {
		o.LoaderPackage = "systemd-boot-efi"
	}
	if o.CacheDir == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("%w: no cache directory: %w", ErrAssets, err)
		}
		o.CacheDir = filepath.Join(d, "fogkit", "assets")
	}
	for _, tool := range []string{"apt-get", "apt-cache", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%w: %s not found: fetching needs Debian or Ubuntu", ErrAssets, tool)
		}
	}
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAssets, err)
	}
	kpkg, err := kernelDependency(ctx, o.KernelPackage)
	if err != nil {
		return nil, err
	}
	a := &Assets{}
	for _, name := range []string{kpkg, o.LoaderPackage} {
		p, err := fetchPackage(ctx, o.CacheDir, name)
		if err != nil {
			return nil, err
		}
		a.Packages = append(a.Packages, *p)
	}
	kdir := a.Packages[0].Dir
	kernels, _ := filepath.Glob(filepath.Join(kdir, "boot", "vmlinuz-*"))
	if len(kernels) != 1 {
		return nil, fmt.Errorf("%w: %s holds %d kernels, want 1", ErrAssets, kpkg, len(kernels))
	}
	a.Kernel = kernels[0]
	a.Release = strings.TrimPrefix(filepath.Base(a.Kernel), "vmlinuz-")
	a.Modules = filepath.Join(kdir, "lib", "modules", a.Release)
	if _, err := os.Stat(a.Modules); err != nil {
		// Ubuntu ships the modules in linux-modules-<release>.
		p, err := fetchPackage(ctx, o.CacheDir, "linux-modules-"+a.Release)
		if err != nil {
			return nil, fmt.Errorf("%w: no module tree for %s: %w", ErrAssets, a.Release, err)
		}
		a.Packages = append(a.Packages, *p)
		a.Modules = filepath.Join(p.Dir, "lib", "modules", a.Release)
	}
	efi := filepath.Join(a.Packages[1].Dir, "usr", "lib", "systemd", "boot", "efi")
	a.SystemdBoot = filepath.Join(efi, "systemd-bootx64.efi")
	a.Stub = filepath.Join(efi, "linuxx64.efi.stub")
	for _, f := range []string{a.Modules, a.SystemdBoot, a.Stub} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrAssets, err)
		}
	}
	return a, nil
}

// kernelDependency returns the linux-image package a meta-package
// depends on, as `apt-cache depends` lists it.
func kernelDependency(ctx context.Context, meta string) (string, error) {
	out, err := run(ctx, "", "apt-cache", "depends", meta)
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "Depends:" && kernelPkg.MatchString(f[1]) {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("%w: %s depends on no linux-image-<version> package", ErrAssets, meta)
}

var (
	kernelPkg = regexp.MustCompile(`^linux-image-(unsigned-)?[0-9][A-Za-z0-9.+-]*$`)
	// pkgName and pkgField bound what apt's output may put into a path.
	pkgName  = regexp.MustCompile(`^[a-z0-9][a-z0-9.+-]+$`)
	pkgField = regexp.MustCompile(`^[A-Za-z0-9.+~:-]+$`)
)

// fetchPackage returns the cached, unpacked package name at the version
// apt would install, downloading and unpacking it first when missing.
func fetchPackage(ctx context.Context, cache, name string) (*Package, error) {
	if !pkgName.MatchString(name) {
		return nil, fmt.Errorf("%w: invalid package name %q", ErrAssets, name)
	}
	p, err := candidate(ctx, name)
	if err != nil {
		return nil, err
	}
	// apt's own file-name escaping of the epoch colon.
	p.Dir = filepath.Join(cache, strings.ReplaceAll(p.Name+"_"+p.Version+"_"+p.Architecture, ":", "%3a"))
	if b, err := os.ReadFile(filepath.Join(p.Dir, assetMarker)); err == nil {
		var got Package
		if json.Unmarshal(b, &got) == nil && got.SHA256 == p.SHA256 {
			got.Dir = p.Dir
			return &got, nil
		}
	}
	tmp, err := os.MkdirTemp(cache, ".fetch-")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAssets, err)
	}
	defer os.RemoveAll(tmp)
	if _, err := run(ctx, tmp, "apt-get", "download", "-q", name+"="+p.Version); err != nil {
		return nil, err
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return nil, fmt.Errorf("%w: apt-get download %s left %d files", ErrAssets, name, len(debs))
	}
	sum, size, err := fileSHA256(debs[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAssets, err)
	}
	if sum != p.SHA256 || size != p.Size {
		return nil, fmt.Errorf("%w: %s: downloaded %d bytes with sha256 %s, the index says %d bytes, %s", ErrAssets, name, size, sum, p.Size, p.SHA256)
	}
	tree := filepath.Join(tmp, "tree")
	if _, err := run(ctx, "", "dpkg-deb", "-x", debs[0], tree); err != nil {
		return nil, err
	}
	rec, _ := json.MarshalIndent(p, "", "  ")
	if err := os.WriteFile(filepath.Join(tree, assetMarker), append(rec, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAssets, err)
	}
	// A concurrent build may have unpacked the same version meanwhile:
	// its copy is as good as ours.
	if err := os.Rename(tree, p.Dir); err != nil {
		if _, serr := os.Stat(filepath.Join(p.Dir, assetMarker)); serr != nil {
			return nil, fmt.Errorf("%w: %w", ErrAssets, err)
		}
	}
	return p, nil
}

// candidate reads the version apt would install and its index record.
func candidate(ctx context.Context, name string) (*Package, error) {
	out, err := run(ctx, "", "apt-cache", "show", "--no-all-versions", name)
	if err != nil {
		return nil, err
	}
	p := &Package{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			continue
		}
		switch k {
		case "Package":
			p.Name = v
		case "Version":
			p.Version = v
		case "Architecture":
			p.Architecture = v
		case "SHA256":
			p.SHA256 = v
		case "Size":
			fmt.Sscan(v, &p.Size)
		}
	}
	if p.Name != name || !pkgField.MatchString(p.Version) || !pkgName.MatchString(p.Architecture) || len(p.SHA256) != 64 || p.Size <= 0 {
		return nil, fmt.Errorf("%w: apt-cache has no usable record for %s", ErrAssets, name)
	}
	if _, err := hex.DecodeString(p.SHA256); err != nil {
		return nil, fmt.Errorf("%w: apt-cache lists a bad sha256 for %s", ErrAssets, name)
	}
	return p, nil
}

func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// run runs a distribution tool and returns its output, or ErrAssets with
// what it said.
func run(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 500 {
			msg = msg[len(msg)-500:]
		}
		return nil, fmt.Errorf("%w: %s %s: %v: %s", ErrAssets, name, strings.Join(args, " "), err, msg)
	}
	return out, nil
}
