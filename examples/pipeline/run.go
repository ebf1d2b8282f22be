package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/license"
	"github.com/fogkit/fogkit/ova"
	"github.com/fogkit/fogkit/ovf"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/fogkit/fogkit/update"
	"github.com/fogkit/fogkit/vmdk"
)

//go:embed demoapp
var demoApp embed.FS

// artifact is one input or output file in build.json.
type artifact struct {
	Name   string `json:"name"`
	Path   string `json:"path,omitempty"` // relative to the output directory for outputs
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// record is build.json: what made the build and what it made. It holds no
// timings or host paths of outputs, so two runs with the same inputs write
// the same record.
type record struct {
	Format   string         `json:"format"`
	Config   *config        `json:"config"`
	Bootable bool           `json:"bootable"`
	Notes    []string       `json:"notes,omitempty"`
	Inputs   []artifact     `json:"inputs"`
	Options  map[string]any `json:"options"`
	Outputs  []artifact     `json:"outputs"`
	Layout   *disk.Layout   `json:"bootDiskLayout,omitempty"`

	timings []stageTime
}

type stageTime struct {
	stage string
	took  time.Duration
}

// pipeline carries state between stages.
type pipeline struct {
	cfg     *config
	rec     *record
	out     io.Writer // summary lines
	prog    io.Writer // progress bars; io.Discard when quiet
	keys    *keySet
	epoch   time.Time
	initBin []byte
	licFile []byte
	initrd  string
	bootRaw string
	boot    *vmdk.Result
	data    *vmdk.Result
	desc    []byte
}

func run(ctx context.Context, cfg *config, out, progress io.Writer) (*record, error) {
	if cfg.Quiet {
		progress = io.Discard
	}
	p := &pipeline{
		cfg:   cfg,
		out:   out,
		prog:  progress,
		epoch: time.Unix(cfg.Epoch, 0).UTC(),
		rec:   &record{Format: "fogkit-build-v1", Config: cfg, Options: map[string]any{}},
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("stage setup: %w", err)
	}
	stages := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"keys", p.stageKeys},
		{"init", p.stageInit},
		{"license", p.stageLicense},
		{"rootfs", p.stageRootfs},
		{"disk", p.stageDisk},
		{"vmdk", p.stageVMDK},
		{"ovf", p.stageOVF},
		{"ova", p.stageOVA},
		{"update", p.stageUpdate},
		{"record", p.stageRecord},
	}
	for _, s := range stages {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("stage %s: %w", s.name, err)
		}
		fmt.Fprintf(progress, "==> %s\n", s.name)
		t0 := time.Now()
		if err := s.fn(ctx); err != nil {
			return nil, fmt.Errorf("stage %s: %w", s.name, err)
		}
		p.rec.timings = append(p.rec.timings, stageTime{s.name, time.Since(t0)})
	}
	if p.bootRaw != "" {
		_ = os.Remove(p.bootRaw) // an intermediate: the VMDK holds it
	}
	return p.rec, nil
}

func (p *pipeline) path(name string) string { return filepath.Join(p.cfg.Out, name) }

// output records an output file by its name in the output directory.
func (p *pipeline) output(name string) error {
	a, err := hashFile(p.path(name))
	if err != nil {
		return err
	}
	a.Name, a.Path = name, name
	p.rec.Outputs = append(p.rec.Outputs, a)
	return nil
}

func (p *pipeline) input(name, path string) error {
	a, err := hashFile(path)
	if err != nil {
		return err
	}
	a.Name, a.Path = name, path
	p.rec.Inputs = append(p.rec.Inputs, a)
	return nil
}

func hashFile(path string) (artifact, error) {
	f, err := os.Open(path)
	if err != nil {
		return artifact{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return artifact{}, err
	}
	return artifact{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func (p *pipeline) stageKeys(ctx context.Context) error {
	k, created, err := loadOrCreateKeys(p.cfg.Keys, p.cfg.Name)
	if err != nil {
		return err
	}
	p.keys = k
	if created {
		fmt.Fprintf(p.prog, "    created fresh keys in %s\n", p.cfg.Keys)
	}
	return nil
}

// stageInit builds the demo /init as a static linux/amd64 binary with the
// Go toolchain, unless -init names a prebuilt one.
func (p *pipeline) stageInit(ctx context.Context) error {
	if p.cfg.InitBinary != "" {
		b, err := os.ReadFile(p.cfg.InitBinary)
		if err != nil {
			return err
		}
		p.initBin = b
		return p.input("init", p.cfg.InitBinary)
	}
	tmp, err := os.MkdirTemp("", "fogkit-init-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "init")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w",
		"-o", bin, "github.com/fogkit/fogkit/examples/pipeline/demoinit")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build of the demo /init (run from the fogkit module, or pass -init): %v\n%s", err, b)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	p.initBin = b
	sum := sha256.Sum256(b)
	p.rec.Inputs = append(p.rec.Inputs, artifact{Name: "init (demoinit, built)", Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])})
	return nil
}

// stageLicense issues the demo customer's license; it is baked into the
// root filesystem so the appliance can check it at boot.
func (p *pipeline) stageLicense(ctx context.Context) error {
	expires := p.epoch.AddDate(2, 0, 0)
	l := &license.License{
		ID:          fmt.Sprintf("%s-demo-%d", p.cfg.Product, p.cfg.Epoch),
		Sequence:    1,
		Product:     p.cfg.Product,
		Customer:    license.Customer{ID: "ACME-001", Name: "Acme Corporation"},
		IssuedAt:    p.epoch,
		NotBefore:   p.epoch,
		ExpiresAt:   &expires,
		GracePeriod: license.Days(14),
		Seats:       25,
		Features:    []string{"backup", "cluster", "reporting"},
		Limits:      map[string]int64{"nodes": 5},
		Metadata:    map[string]string{"issued-by": "fogkit reference pipeline"},
	}
	var buf bytes.Buffer
	if err := license.Encode(ctx, &buf, l, p.keys.license); err != nil {
		return err
	}
	p.licFile = buf.Bytes()
	name := p.cfg.Name + ".lic"
	if err := os.WriteFile(p.path(name), p.licFile, 0o644); err != nil {
		return err
	}
	return p.output(name)
}

func (p *pipeline) stageRootfs(ctx context.Context) error {
	comp, err := rootfs.ParseCompression(p.cfg.Compress)
	if err != nil {
		return err
	}
	opts := &rootfs.Options{ModTime: p.epoch, Compression: comp}
	p.rec.Options["rootfs"] = opts
	b := rootfs.New(opts)
	release := fmt.Sprintf("NAME=%q\nVERSION=%q\nPRODUCT=%q\nVENDOR=%q\n", p.cfg.Name, p.cfg.Version, p.cfg.Product, p.cfg.Vendor)
	files := []struct {
		path string
		mode uint32
		data []byte
	}{
		{"/init", 0o755, p.initBin},
		{"/etc/fogkit/release", 0o644, []byte(release)},
		{"/etc/fogkit/license.lic", 0o644, p.licFile},
		{"/etc/fogkit/license.pub", 0o644, p.keys.licensePub},
		// The appliance verifies update packages against this key.
		{"/etc/fogkit/update.pub", 0o644, p.keys.updatePub},
	}
	for _, f := range files {
		if err := b.AddFile(rootfs.Entry{Path: f.path, Mode: f.mode}, f.data); err != nil {
			return err
		}
	}
	for _, e := range []rootfs.Entry{
		{Path: "/dev", Type: rootfs.TypeDir, Mode: 0o755},
		{Path: "/dev/console", Type: rootfs.TypeChar, Mode: 0o600, Major: 5, Minor: 1},
		{Path: "/dev/null", Type: rootfs.TypeChar, Mode: 0o666, Major: 1, Minor: 3},
		{Path: "/proc", Type: rootfs.TypeDir, Mode: 0o555},
		{Path: "/sys", Type: rootfs.TypeDir, Mode: 0o555},
		{Path: "/run", Type: rootfs.TypeDir, Mode: 0o755},
		{Path: "/tmp", Type: rootfs.TypeDir, Mode: 0o1777},
		{Path: "/var/lib/fogkit", Type: rootfs.TypeDir, Mode: 0o755},
	} {
		if err := b.Add(e); err != nil {
			return err
		}
	}
	tree := &rootfs.TreeOptions{Prefix: "/opt/app"}
	if p.cfg.App != "" {
		entries, err := update.ScanTree(os.DirFS(p.cfg.App))
		if err != nil {
			return fmt.Errorf("-app: %w", err)
		}
		var size int64
		for _, e := range entries {
			size += e.Size
		}
		p.rec.Inputs = append(p.rec.Inputs, artifact{Name: "app tree (update.TreeDigest)", Path: p.cfg.App,
			Size: size, SHA256: strings.TrimPrefix(update.TreeDigest(entries), "sha256:")})
		if err := b.AddHostDir(ctx, p.cfg.App, tree); err != nil {
			return err
		}
	} else {
		sub, err := fs.Sub(demoApp, "demoapp")
		if err != nil {
			return err
		}
		// embed.FS reports every file 0444: make the entry point executable.
		tree.Hook = func(e *rootfs.Entry) bool {
			if strings.HasSuffix(e.Path, ".sh") {
				e.Mode = 0o755
			}
			return true
		}
		if err := b.AddFS(ctx, sub, tree); err != nil {
			return err
		}
	}
	p.initrd = p.path("initrd.img")
	f, err := os.Create(p.initrd)
	if err != nil {
		return err
	}
	st, err := b.Write(ctx, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p.initrd)
		return err
	}
	fmt.Fprintf(p.prog, "    %d entries, %d bytes uncompressed, %d written\n", st.Entries, st.ArchiveBytes, st.Bytes)
	return p.output("initrd.img")
}

// stageDisk lays out the boot disk. Without a kernel or loader it makes no
// disk image (the vmdk stage writes an empty boot disk), keeps the boot tree
// with the initrd, so the OVA and the update package stay valid, and says
// plainly that the appliance will not boot.
func (p *pipeline) stageDisk(ctx context.Context) error {
	kernel := p.cfg.Kernel
	switch kernel {
	case "":
		kernel = firstExisting(kernelPlaces)
	case "none":
		kernel = ""
	}
	efi := p.cfg.EFI
	if efi == "" {
		efi = firstExisting(efiPlaces[p.cfg.Loader])
	}
	p.rec.Bootable = kernel != "" && efi != ""
	note := ""
	if p.rec.Bootable {
		if err := p.input("kernel", kernel); err != nil {
			return err
		}
		if err := p.input("efi "+p.cfg.Loader, efi); err != nil {
			return err
		}
	}
	spec := &disk.Spec{
		Loader:  disk.Loader(p.cfg.Loader),
		Title:   p.cfg.Name + " " + p.cfg.Version,
		Cmdline: p.cfg.Cmdline,
		Initrds: []disk.File{{Path: p.initrd}},
	}
	if p.rec.Bootable {
		spec.Kernel = disk.File{Path: kernel}
		spec.EFI = disk.File{Path: efi}
		if p.cfg.BIOS {
			bios, err := p.biosSpec()
			if err != nil {
				return err
			}
			spec.BIOS = bios
		}
	} else {
		note = notBootableNote(kernel == "", efi == "", p.cfg.Loader)
		p.rec.Notes = append(p.rec.Notes, note)
		fmt.Fprintln(p.prog, "    NOTE: "+note)
	}
	opts := &disk.Options{ModTime: p.epoch, Seed: p.cfg.Name + "/" + p.cfg.Version}
	p.rec.Options["disk"] = opts
	// Record the spec with the initrd named as an output, not by the host
	// path of this output directory, so build.json is reproducible.
	recSpec := *spec
	recSpec.Initrds = []disk.File{{Path: "initrd.img"}}
	p.rec.Options["diskSpec"] = &recSpec
	if !p.rec.Bootable {
		// No kernel or loader: the boot disk is left empty (vmdk stage) and
		// the boot tree holds what there is, so the OVA and the update
		// package are still real and verifiable.
		return p.writeUnbootableTree(note)
	}
	p.bootRaw = p.path("boot.raw")
	res, err := disk.BuildFile(ctx, spec, p.bootRaw, opts)
	if err != nil {
		return err
	}
	p.rec.Layout = &res.Layout
	return p.writeBootTree(res)
}

func (p *pipeline) writeUnbootableTree(note string) error {
	dir := p.path("boot-tree")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	initrd, err := os.ReadFile(p.initrd)
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{"initrd.img": initrd, "README.TXT": []byte(note + "\n")} {
		if err := writeTreeFile(filepath.Join(dir, name), data, p.epoch); err != nil {
			return err
		}
	}
	return nil
}

func (p *pipeline) biosSpec() (*disk.BIOS, error) {
	syslinux := p.cfg.Syslinux
	if syslinux == "" {
		syslinux = firstExisting(syslinuxPlaces)
	}
	gptmbr := p.cfg.GPTMBR
	if gptmbr == "" {
		gptmbr = firstExisting(gptmbrPlaces)
	}
	if syslinux == "" || gptmbr == "" {
		return nil, fmt.Errorf("-bios needs syslinux and gptmbr.bin (Debian: apt-get install syslinux syslinux-common, or pass -syslinux and -gptmbr)")
	}
	return &disk.BIOS{Syslinux: syslinux, GPTMBR: disk.File{Path: gptmbr}}, nil
}

func notBootableNote(noKernel, noEFI bool, loader string) string {
	var missing []string
	if noKernel {
		missing = append(missing, "no kernel (pass -kernel PATH; on Debian, apt-get download the package that linux-image-cloud-amd64 depends on and unpack it with dpkg-deb -x, see README)")
	}
	if noEFI {
		what := "systemd-bootx64.efi"
		if loader == "uki" {
			what = "linuxx64.efi.stub"
		}
		missing = append(missing, "no "+what+" (pass -efi, or apt-get install systemd-boot-efi)")
	}
	return "this appliance is NOT bootable: " + strings.Join(missing, "; ") + ". The OVA is valid and imports, but its boot disk holds no kernel or loader."
}

// writeBootTree copies the ESP's files into OUT/boot-tree: the tree that
// update packages carry from one version to the next.
func (p *pipeline) writeBootTree(res *disk.Result) error {
	dir := p.path("boot-tree")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	f, err := os.Open(p.bootRaw)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	img, err := disk.Open(f, st.Size())
	if err != nil {
		return err
	}
	for _, fi := range res.Files {
		b, err := img.ReadFile(fi.Path)
		if err != nil {
			return err
		}
		if err := writeTreeFile(filepath.Join(dir, filepath.FromSlash(fi.Path)), b, p.epoch); err != nil {
			return err
		}
	}
	return nil
}

// writeTreeFile writes one boot-tree file with a fixed mode and time: the
// tree digest of update packages covers modes, and the umask must not
// change it.
func writeTreeFile(path string, data []byte, t time.Time) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		if filepath.Base(dir) == "boot-tree" || dir == filepath.Dir(dir) {
			break
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(path, 0o644); err != nil {
		return err
	}
	return os.Chtimes(path, t, t)
}

func (p *pipeline) stageVMDK(ctx context.Context) error {
	bootName := p.cfg.Name + "-boot.vmdk"
	bar := newBar(p.prog, bootName)
	bootOpts := &vmdk.Options{FileName: bootName, Progress: func(e vmdk.Event) { bar.set(e.Done, e.Total) }}
	var err error
	if p.bootRaw == "" {
		p.boot, err = writeVMDK(p.path(bootName), func(w io.Writer) (*vmdk.Result, error) {
			return vmdk.WriteEmpty(ctx, w, unbootableDiskSize, bootOpts)
		})
	} else {
		p.boot, err = p.convertBootDisk(ctx, bootName, bootOpts)
	}
	bar.finish()
	if err != nil {
		return err
	}
	dataName := p.cfg.Name + "-data.vmdk"
	dataOpts := &vmdk.Options{FileName: dataName}
	p.data, err = writeVMDK(p.path(dataName), func(w io.Writer) (*vmdk.Result, error) {
		return vmdk.WriteEmpty(ctx, w, p.cfg.DataSize, dataOpts)
	})
	if err != nil {
		return err
	}
	p.rec.Options["vmdkBoot"] = bootOpts
	p.rec.Options["vmdkData"] = dataOpts
	if err := p.output(bootName); err != nil {
		return err
	}
	return p.output(dataName)
}

// unbootableDiskSize is the capacity of the empty boot disk of a build
// without a kernel.
const unbootableDiskSize = 64 << 20

func (p *pipeline) convertBootDisk(ctx context.Context, name string, opts *vmdk.Options) (*vmdk.Result, error) {
	src, err := os.Open(p.bootRaw)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return nil, err
	}
	return writeVMDK(p.path(name), func(w io.Writer) (*vmdk.Result, error) {
		return vmdk.Write(ctx, w, src, st.Size(), opts)
	})
}

// writeVMDK writes to a temporary name and renames on success, so a failed
// build never leaves a half-written VMDK under the final name.
func writeVMDK(path string, write func(io.Writer) (*vmdk.Result, error)) (*vmdk.Result, error) {
	tmp := path + ".partial"
	f, err := os.Create(tmp)
	if err != nil {
		return nil, err
	}
	res, err := write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, err
	}
	return res, nil
}

func (p *pipeline) vsModel() *ovf.VirtualSystem {
	firmware := ovf.EFI
	if p.cfg.BIOS {
		firmware = ovf.BIOS // a hybrid disk boots under both; BIOS imports everywhere
	}
	return &ovf.VirtualSystem{
		Name:       p.cfg.Name,
		Annotation: fmt.Sprintf("%s %s, built with fogkit", p.cfg.Name, p.cfg.Version),
		Product: &ovf.Product{
			Product:     p.cfg.Product,
			Vendor:      p.cfg.Vendor,
			Version:     p.cfg.Version,
			FullVersion: fmt.Sprintf("%s (build %d)", p.cfg.Version, p.cfg.Epoch),
		},
		OS:        ovf.OS{CIMID: 96, VMware: "debian11_64Guest", VirtualBox: "Debian_64", Description: "Debian GNU/Linux (64-bit)"},
		CPUs:      p.cfg.CPUs,
		MemoryMiB: p.cfg.MemoryMiB,
		Firmware:  firmware,
		Disks: []ovf.Disk{
			{ID: "boot", Href: p.cfg.Name + "-boot.vmdk", FileSize: p.boot.Size, Capacity: p.boot.Capacity},
			{ID: "data", Href: p.cfg.Name + "-data.vmdk", FileSize: p.data.Size, Capacity: p.data.Capacity},
		},
		Networks: []ovf.Network{{Name: "VM Network", Description: "The appliance's network"}},
		NICs:     []ovf.NIC{{Network: "VM Network"}},
	}
}

func (p *pipeline) stageOVF(ctx context.Context) error {
	vs := p.vsModel()
	opts := &ovf.Options{Profile: ovf.Portable, VirtualBoxMachine: vs.Firmware == ovf.EFI}
	if err := ovf.Validate(vs, opts); err != nil {
		return err
	}
	desc, err := ovf.MarshalBytes(vs, opts)
	if err != nil {
		return err
	}
	p.desc = desc
	p.rec.Options["ovf"] = opts
	p.rec.Options["ovfModel"] = vs
	name := p.cfg.Name + ".ovf"
	if err := os.WriteFile(p.path(name), desc, 0o644); err != nil {
		return err
	}
	return p.output(name)
}

func (p *pipeline) stageOVA(ctx context.Context) error {
	var files []ova.File
	for _, v := range []struct {
		name string
		res  *vmdk.Result
	}{{p.cfg.Name + "-boot.vmdk", p.boot}, {p.cfg.Name + "-data.vmdk", p.data}} {
		digest, err := hex.DecodeString(v.res.SHA256)
		if err != nil {
			return err
		}
		f, err := ova.PathFile(v.name, p.path(v.name), digest)
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	bar := newBar(p.prog, p.cfg.Name+".ova")
	bar.total = int64(len(p.desc))
	for _, f := range files {
		bar.total += f.Size
	}
	opts := &ova.Options{Name: p.cfg.Name, ModTime: p.epoch, Signer: p.keys.ova,
		Progress: func(e ova.Event) {
			if e.Stage == ova.StageWrite {
				bar.file(e.File, e.Done)
			}
		}}
	name := p.cfg.Name + ".ova"
	tmp := p.path(name + ".partial")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, err = ova.Write(ctx, f, p.desc, files, opts)
	bar.finish()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p.path(name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	p.rec.Options["ova"] = opts
	// Verify what we wrote, as a customer would, against our own certificate.
	rf, err := os.Open(p.path(name))
	if err != nil {
		return err
	}
	defer rf.Close()
	rep, err := ova.Verify(ctx, rf, &ova.VerifyOptions{Roots: p.keys.ovaCerts, Now: p.epoch})
	if err != nil {
		return fmt.Errorf("verify of the new OVA: %w", err)
	}
	fmt.Fprintf(p.prog, "    verified: %d members, signed by %q, %d findings\n",
		len(rep.Entries), rep.Signer.Subject, len(rep.Findings))
	return p.output(name)
}

func (p *pipeline) stageRecord(ctx context.Context) error {
	sort.SliceStable(p.rec.Inputs, func(i, j int) bool { return p.rec.Inputs[i].Name < p.rec.Inputs[j].Name })
	b, err := json.MarshalIndent(p.rec, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(p.path("build.json"), append(b, '\n'), 0o644)
}

func printSummary(w io.Writer, cfg *config, rec *record, took time.Duration) {
	fmt.Fprintf(w, "\nfogkit pipeline: %s %s in %s\n", cfg.Name, cfg.Version, cfg.Out)
	for _, o := range rec.Outputs {
		fmt.Fprintf(w, "  %-28s %12d bytes  sha256 %s\n", o.Path, o.Size, o.SHA256)
	}
	fmt.Fprintf(w, "  %-28s provenance: inputs, options and the outputs above\n", "build.json")
	fmt.Fprintf(w, "  %-28s the boot tree that update packages carry\n", "boot-tree/")
	fmt.Fprintf(w, "  %-28s signing keys (keep the .key files private)\n", cfg.Keys+"/")
	fmt.Fprintln(w, "stage timings:")
	for _, t := range rec.timings {
		fmt.Fprintf(w, "  %-8s %s\n", t.stage, t.took.Round(time.Millisecond))
	}
	fmt.Fprintf(w, "  total    %s\n", took.Round(time.Millisecond))
	if !rec.Bootable {
		for _, n := range rec.Notes {
			fmt.Fprintln(w, "NOTE:", n)
		}
	} else {
		fmt.Fprintf(w, "bootable: import %s in VMware or VirtualBox, or boot %s under qemu with OVMF\n",
			filepath.Join(cfg.Out, cfg.Name+".ova"), filepath.Join(cfg.Out, cfg.Name+"-boot.vmdk"))
	}
}
