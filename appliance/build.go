package appliance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/esp"
	"github.com/fogkit/fogkit/license"
	"github.com/fogkit/fogkit/ovf"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/update"
	"github.com/fogkit/fogkit/vmdk"
)

// Where the build puts the appliance's identity, license and keys in the
// root file system; package agent reads them there.
const (
	ReleaseFile       = "/etc/fogkit/release"
	LicenseFile       = "/etc/fogkit/license.lic"
	LicenseKeyFile    = "/etc/fogkit/license.pub"
	UpdateKeyFile     = "/etc/fogkit/update.pub"
	SupportKeyFile    = "/etc/fogkit/support.pub"
	RecordFile        = "build.json"
	BootTreeDir       = "boot-tree"
	unbootableDiskCap = 64 << 20
)

// builder carries state between stages.
type builder struct {
	s       *Spec
	o       *Options
	rec     *Record
	kernel  string
	efi     string
	modTree string
	initrd  string
	bootRaw string
	dataRaw string // the formatted data disk, an intermediate like bootRaw
	// diskSpec is the boot disk's spec, from which the ISO's EFI image is
	// made too.
	diskSpec  *disk.Spec
	diskExtra [][]byte // the bytes of diskSpec.Extra's readers
	licFile   []byte
	boot      *vmdk.Result
	data      *vmdk.Result
	desc      []byte
	why       string   // why the appliance is not bootable
	created   []string // outputs written so far, removed if the build fails
	// intermediates are other temporary files, removed when the build
	// ends either way.
	intermediates []string
}

// Build makes the appliance that spec describes into o.Dir: the initramfs,
// the boot and data VMDKs, the OVF descriptor, the signed OVA, the license
// (when spec.License is set), a full update package of the boot tree and
// a diff package from each previous build, the boot tree itself, and the
// build record (build.json). Every stage goes through fogkit's public
// packages. Each output is written under a temporary name and renamed
// when complete; when the build fails, the outputs it wrote are removed,
// so a failed build leaves no half file and no mix of old and new.
//
// The spec is checked first: every missing or contradictory field is
// reported in one SpecError before anything is written.
func Build(ctx context.Context, spec *Spec, o *Options) (*Record, error) {
	s, err := spec.withDefaults(o)
	if err != nil {
		return nil, err
	}
	b := &builder{s: s, o: o, rec: newRecord(s, o.Keys)}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("appliance: output directory: %w", err)
	}
	// The record is written last: removing an earlier one first means the
	// directory holds a complete build record only when the build is done.
	if err := os.Remove(b.path(RecordFile)); err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("appliance: %w", err)
	}
	stages := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"assets", b.stageAssets},
		{"license", b.stageLicense},
		{"rootfs", b.stageRootfs},
		{"disk", b.stageDisk},
		{"data", b.stageData},
		{"vmdk", b.stageVMDK},
		{"ovf", b.stageOVF},
		{"ova", b.stageOVA},
		{"flavours", b.stageFlavours},
		{"formats", b.stageFormats},
		{"iso", b.stageISO},
		{"update", b.stageUpdate},
		{"sbom", b.stageSBOM},
		{"provenance", b.stageProvenance},
		{"record", b.stageRecord},
	}
	for _, st := range stages {
		if err = ctx.Err(); err == nil {
			b.event(Event{Stage: st.name})
			err = st.fn(ctx)
		}
		if err != nil {
			b.cleanup()
			return nil, fmt.Errorf("appliance: stage %s: %w", st.name, err)
		}
	}
	b.removeIntermediates()
	return b.rec, nil
}

func (b *builder) event(e Event) {
	if b.o.Progress != nil {
		b.o.Progress(e)
	}
}

func (b *builder) note(msg string) {
	b.rec.Notes = append(b.rec.Notes, msg)
	b.event(Event{Stage: "note", Message: msg})
}

func (b *builder) path(name string) string { return filepath.Join(b.o.Dir, name) }

func (b *builder) cleanup() {
	for _, p := range b.created {
		_ = os.RemoveAll(p)
	}
	b.removeIntermediates()
}

// removeIntermediates removes the raw disks every output format was
// written from.
func (b *builder) removeIntermediates() {
	for _, p := range append([]string{b.bootRaw, b.dataRaw}, b.intermediates...) {
		if p != "" {
			_ = os.Remove(p)
		}
	}
}

// writeOutput writes one output through a temporary name and records it.
func (b *builder) writeOutput(name string, write func(io.Writer) error) error {
	final := b.path(name)
	tmp := final + ".partial"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	b.created = append(b.created, final)
	return b.rec.addOutput(b.o.Dir, name)
}

func (b *builder) input(name, path string) error {
	a, err := hashFile(path)
	if err != nil {
		return err
	}
	a.Name, a.Path = name, path
	b.rec.Inputs = append(b.rec.Inputs, a)
	return nil
}

func hashFile(path string) (Artifact, error) {
	f, err := os.Open(path)
	if err != nil {
		return Artifact{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return Artifact{}, err
	}
	return Artifact{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// hostEFI are the host's loaders, used when the spec names none.
var hostEFI = map[disk.Loader]string{
	disk.SystemdBoot: "/usr/lib/systemd/boot/efi/systemd-bootx64.efi",
	disk.UKI:         "/usr/lib/systemd/boot/efi/linuxx64.efi.stub",
}

// stageAssets settles the kernel, its module tree and the loader: the
// spec's, else fetched from the distribution (Options.FetchAssets), else
// the host's loader; without a kernel the build goes on, not bootable.
func (b *builder) stageAssets(ctx context.Context) error {
	b.kernel, b.efi, b.modTree = b.s.Kernel, b.s.EFI, b.s.ModuleTree
	if b.kernel == "" && b.o.FetchAssets {
		a, err := FetchAssets(ctx, b.o.Assets)
		if err != nil {
			b.note(fmt.Sprintf("fetching the kernel failed (%v); the appliance will not be bootable", err))
		} else {
			b.kernel, b.modTree = a.Kernel, a.Modules
			if b.efi == "" {
				b.efi = a.SystemdBoot
				if b.s.Loader == disk.UKI {
					b.efi = a.Stub
				}
			}
			b.rec.Assets = a.Packages
		}
	}
	if b.efi == "" {
		if _, err := os.Stat(hostEFI[b.s.Loader]); err == nil {
			b.efi = hostEFI[b.s.Loader]
		}
	}
	if b.modTree == "" && b.kernel != "" {
		rel := strings.TrimPrefix(filepath.Base(b.kernel), "vmlinuz-")
		d := filepath.Join(filepath.Dir(b.kernel), "..", "lib", "modules", rel)
		if st, err := os.Stat(d); err == nil && st.IsDir() && rel != filepath.Base(b.kernel) {
			b.modTree = filepath.Clean(d)
		}
	}
	b.rec.Bootable = b.kernel != "" && b.efi != ""
	if !b.rec.Bootable {
		var missing []string
		if b.kernel == "" {
			missing = append(missing, "no kernel (set Spec.Kernel, or Options.FetchAssets on Debian or Ubuntu)")
		}
		if b.efi == "" {
			missing = append(missing, "no UEFI loader (set Spec.EFI, or apt-get install systemd-boot-efi)")
		}
		b.why = "this appliance is NOT bootable: " + strings.Join(missing, "; ") + ". The OVA is valid and imports, but its boot disk holds no kernel or loader."
		b.note(b.why)
		return nil
	}
	if err := b.input("kernel", b.kernel); err != nil {
		return err
	}
	return b.input("efi "+string(b.s.Loader), b.efi)
}

func (b *builder) stageLicense(ctx context.Context) error {
	if b.s.License == nil {
		return nil
	}
	l := *b.s.License
	if l.Product == "" {
		l.Product = b.s.Product
	}
	var buf bytes.Buffer
	if err := license.Encode(ctx, &buf, &l, b.o.Keys.License); err != nil {
		return err
	}
	b.licFile = buf.Bytes()
	return b.writeOutput(b.s.Name+".lic", func(w io.Writer) error { _, err := w.Write(b.licFile); return err })
}

func (b *builder) stageRootfs(ctx context.Context) error {
	opts := &rootfs.Options{ModTime: b.s.Epoch, Compression: b.s.Compression, Workers: b.o.Workers}
	b.rec.Options["rootfs"] = opts
	r := rootfs.New(opts)
	release := fmt.Sprintf("NAME=%q\nVERSION=%q\nPRODUCT=%q\nVENDOR=%q\nSEQUENCE=%d\n", b.s.Name, b.s.Version, b.s.Product, b.s.Vendor, b.s.Sequence)
	files := []struct {
		path string
		mode uint32
		data []byte
	}{
		{"/init", 0o755, b.s.Init},
		{ReleaseFile, 0o644, []byte(release)},
		{LicenseKeyFile, 0o644, b.o.Keys.LicensePublic},
		// The appliance verifies update packages against this key.
		{UpdateKeyFile, 0o644, b.o.Keys.UpdatePublic},
	}
	if len(b.o.Keys.SupportPublic) > 0 {
		// Support bundles are encrypted to this key (a key set made before
		// the support key existed has none: the appliance then offers
		// only bundles the admin keeps).
		files = append(files, struct {
			path string
			mode uint32
			data []byte
		}{SupportKeyFile, 0o644, b.o.Keys.SupportPublic})
	}
	if b.licFile != nil {
		files = append(files, struct {
			path string
			mode uint32
			data []byte
		}{LicenseFile, 0o644, b.licFile})
	}
	for _, f := range files {
		if err := r.AddFile(rootfs.Entry{Path: f.path, Mode: f.mode}, f.data); err != nil {
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
		if err := r.Add(e); err != nil {
			return err
		}
	}
	tree := &rootfs.TreeOptions{Prefix: b.s.AppPrefix, Hook: b.s.AppHook}
	switch {
	case b.s.AppDir != "":
		entries, err := update.ScanTree(os.DirFS(b.s.AppDir))
		if err != nil {
			return fmt.Errorf("app tree: %w", err)
		}
		var size int64
		for _, e := range entries {
			size += e.Size
		}
		b.rec.Inputs = append(b.rec.Inputs, Artifact{Name: "app tree (update.TreeDigest)", Path: b.s.AppDir,
			Size: size, SHA256: strings.TrimPrefix(update.TreeDigest(entries), "sha256:")})
		if err := r.AddHostDir(ctx, b.s.AppDir, tree); err != nil {
			return err
		}
	case b.s.App != nil:
		if err := r.AddFS(ctx, b.s.App, tree); err != nil {
			return err
		}
	}
	if b.modTree != "" {
		names, defaults := b.s.Modules, b.s.Modules == nil
		if defaults {
			names = DefaultModules
		}
		if len(names) > 0 {
			rel := filepath.Base(b.modTree)
			// A kernel may lack some default drivers (Debian's cloud
			// kernel has no AHCI or e1000): skip those and say so; a
			// module the spec names must be there.
			mods, err := r.AddModules(ctx, os.DirFS(b.modTree), names, &rootfs.ModuleOptions{Release: rel, SkipMissing: defaults})
			if err != nil {
				return err
			}
			have := map[string]bool{}
			for _, m := range mods {
				b.rec.Modules = append(b.rec.Modules, m.Name)
				have[m.Name] = true
			}
			var missing []string
			for _, n := range names {
				if !have[rootfs.ModuleName(n)] {
					missing = append(missing, n)
				}
			}
			if len(missing) > 0 {
				b.note(fmt.Sprintf("kernel %s lacks default drivers %s: the appliance may not see its disks or network on every hypervisor", rel, strings.Join(missing, ", ")))
			}
		}
	}
	var st rootfs.Stats
	err := b.writeOutput("initrd.img", func(w io.Writer) error {
		var err error
		st, err = r.Write(ctx, w)
		return err
	})
	if err != nil {
		return err
	}
	b.initrd = b.path("initrd.img")
	b.event(Event{Stage: "rootfs", File: "initrd.img", Done: st.Bytes, Total: st.Bytes,
		Message: fmt.Sprintf("%d entries, %d bytes uncompressed", st.Entries, st.ArchiveBytes)})
	return nil
}

// stageDisk lays out the boot disk and exports the boot tree that update
// packages carry. With systemd-boot the ESP has package esp's layout: the
// version's kernel, initrd and entry text in fogkit/<sequence>/, an
// uncounted entry loader/entries/fogkit-<sequence>.conf (the shipped
// version is known good) and esp.LoaderConf; the boot tree is exactly
// that slot directory, which an update installs beside it. With UKI the
// boot tree is the whole ESP. Without a kernel or loader it makes no disk
// image (the vmdk stage writes an empty boot disk) and the boot tree holds
// the initrd and a note, so the OVA and update package stay valid.
func (b *builder) stageDisk(ctx context.Context) error {
	title := b.s.Name + " " + b.s.Version
	spec := &disk.Spec{
		Loader:  b.s.Loader,
		Title:   title,
		Cmdline: b.s.Cmdline,
		Initrds: []disk.File{{Path: b.initrd}},
		BIOS:    b.s.BIOS,
	}
	opts := &disk.Options{ModTime: b.s.Epoch, Seed: b.s.Name + "/" + b.s.Version}
	slotDir := ""
	if b.s.Loader == disk.SystemdBoot {
		seq := b.s.Sequence
		slotDir = esp.SlotDir(seq)
		text := esp.EntryText(title, seq, b.s.Cmdline)
		spec.Cmdline = esp.KernelOptions(b.s.Cmdline, seq) // the syslinux config's too
		spec.Initrds[0].Name = slotDir + "/" + esp.InitrdFile
		spec.Entry = &disk.Entry{ID: esp.EntryID(seq), Text: text}
		spec.LoaderConf = esp.LoaderConf
		spec.Extra = []disk.File{{Name: slotDir + "/" + esp.EntryFile, R: strings.NewReader(text), Size: int64(len(text))}}
	}
	if b.s.ESPSize > 0 {
		opts.DiskSize = b.s.ESPSize + 2<<20 // the ESP fills the disk but for 1 MiB at each end
	}
	b.rec.Options["disk"] = opts
	recSpec := *spec
	recSpec.Initrds = []disk.File{{Name: spec.Initrds[0].Name, Path: "initrd.img"}}
	b.rec.Options["diskSpec"] = &recSpec
	treeDir := b.path(BootTreeDir)
	if err := os.RemoveAll(treeDir); err != nil {
		return err
	}
	b.created = append(b.created, treeDir)
	if !b.rec.Bootable {
		initrd, err := os.ReadFile(b.initrd)
		if err != nil {
			return err
		}
		for name, data := range map[string][]byte{"initrd.img": initrd, "README.TXT": []byte(b.why + "\n")} {
			if err := writeTreeFile(treeDir, name, data, b.s.Epoch); err != nil {
				return err
			}
		}
		return nil
	}
	spec.Kernel = disk.File{Path: b.kernel}
	if slotDir != "" {
		spec.Kernel.Name = slotDir + "/" + esp.KernelFile
	}
	spec.EFI = disk.File{Path: b.efi}
	b.diskSpec = spec
	// The extra files (the loader entry) are readers, consumed by the
	// build: keep their bytes for the ISO's EFI image, made from the same
	// spec.
	for _, x := range spec.Extra {
		data, err := io.ReadAll(io.LimitReader(x.R, x.Size+1))
		if err != nil {
			return err
		}
		b.diskExtra = append(b.diskExtra, data)
	}
	for i := range spec.Extra {
		spec.Extra[i].R = bytes.NewReader(b.diskExtra[i])
	}
	b.bootRaw = b.path("boot.raw.partial")
	res, err := disk.BuildFile(ctx, spec, b.bootRaw, opts)
	if err != nil {
		return err
	}
	b.rec.Layout = &res.Layout
	f, err := os.Open(b.bootRaw)
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
		rel := fi.Path
		if slotDir != "" {
			var ok bool
			if rel, ok = strings.CutPrefix(fi.Path, slotDir+"/"); !ok {
				continue
			}
		}
		data, err := img.ReadFile(fi.Path)
		if err != nil {
			return err
		}
		if err := writeTreeFile(treeDir, filepath.FromSlash(rel), data, b.s.Epoch); err != nil {
			return err
		}
	}
	return nil
}

// writeTreeFile writes one boot-tree file with fixed modes and time: the
// tree digest of update packages covers modes, and the umask must not
// change it.
func writeTreeFile(root, rel string, data []byte, t time.Time) error {
	path := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	for dir := filepath.Dir(path); len(dir) >= len(root); dir = filepath.Dir(dir) {
		if err := os.Chmod(dir, 0o755); err != nil {
			return err
		}
		if dir == root {
			break
		}
	}
	if err := os.Chmod(path, 0o644); err != nil {
		return err
	}
	return os.Chtimes(path, t, t)
}

func (b *builder) stageVMDK(ctx context.Context) error {
	if !b.wants(FormatOVA) {
		return nil
	}
	bootName := b.s.Name + "-boot.vmdk"
	progress := func(e vmdk.Event) { b.event(Event{Stage: "vmdk", File: bootName, Done: e.Done, Total: e.Total}) }
	bootOpts := &vmdk.Options{FileName: bootName, Workers: b.o.Workers, Progress: progress}
	err := b.writeOutput(bootName, func(w io.Writer) error {
		var err error
		if b.bootRaw == "" {
			b.boot, err = vmdk.WriteEmpty(ctx, w, unbootableDiskCap, bootOpts)
			return err
		}
		src, err := os.Open(b.bootRaw)
		if err != nil {
			return err
		}
		defer src.Close()
		st, err := src.Stat()
		if err != nil {
			return err
		}
		b.boot, err = vmdk.Write(ctx, w, src, st.Size(), bootOpts)
		return err
	})
	if err != nil {
		return err
	}
	if err := b.writeDataVMDK(ctx); err != nil {
		return err
	}
	b.rec.Options["vmdkBoot"] = bootOpts
	return nil
}

func (b *builder) virtualSystem() *ovf.VirtualSystem {
	firmware := ovf.EFI
	if b.s.BIOS != nil {
		firmware = ovf.BIOS // a hybrid disk boots under both; BIOS imports everywhere
	}
	return &ovf.VirtualSystem{
		Name:       b.s.Name,
		Annotation: fmt.Sprintf("%s %s, built with fogkit", b.s.Name, b.s.Version),
		Product: &ovf.Product{
			Product:     b.s.Product,
			Vendor:      b.s.Vendor,
			Version:     b.s.Version,
			FullVersion: fmt.Sprintf("%s (build %d)", b.s.Version, b.s.Epoch.Unix()),
		},
		OS:        ovf.OSDebian64,
		CPUs:      b.s.CPUs,
		MemoryMiB: b.s.MemoryMiB,
		Firmware:  firmware,
		Disks: []ovf.Disk{
			{ID: "boot", Href: b.s.Name + "-boot.vmdk", FileSize: b.boot.Size, Capacity: b.boot.Capacity},
			{ID: "data", Href: b.s.Name + "-data.vmdk", FileSize: b.data.Size, Capacity: b.data.Capacity},
		},
		Networks: []ovf.Network{{Name: "VM Network", Description: "The appliance's network"}},
		NICs:     []ovf.NIC{{Network: "VM Network"}},
	}
}

func (b *builder) stageOVF(ctx context.Context) error {
	if !b.wants(FormatOVA) {
		return nil
	}
	vs := b.virtualSystem()
	desc, err := b.descriptor(vs, true)
	if err != nil {
		return err
	}
	b.desc = desc
	b.rec.Options["ovf"] = &ovf.Options{Profile: ovf.Portable, VirtualBoxMachine: vs.Firmware == ovf.EFI}
	b.rec.Options["ovfModel"] = vs
	return b.writeOutput(b.s.Name+".ovf", func(w io.Writer) error { _, err := w.Write(desc); return err })
}

func (b *builder) stageOVA(ctx context.Context) error {
	if !b.wants(FormatOVA) {
		return nil
	}
	return b.writeOVA(ctx, b.s.Name+".ova", b.s.Name, b.desc, []ovaFile{
		{b.s.Name + "-boot.vmdk", b.path(b.s.Name + "-boot.vmdk"), b.boot},
		{b.s.Name + "-data.vmdk", b.path(b.s.Name + "-data.vmdk"), b.data},
	})
}

// stageUpdate writes a full update package of the boot tree and a diff
// package from each previous build's boot tree.
func (b *builder) stageUpdate(ctx context.Context) error {
	to := update.Tree{Version: b.s.Version, Sequence: b.s.Sequence, FS: os.DirFS(b.path(BootTreeDir))}
	base := update.BuildOptions{Vendor: b.s.Vendor, Product: b.s.Product, Version: b.s.Version,
		Sequence: b.s.Sequence, ModTime: b.s.Epoch}
	full := base
	full.Kind = update.KindFull
	b.rec.Options["updateFull"] = &full
	if err := b.writeUpdate(ctx, fmt.Sprintf("%s-%s-full.fup", b.s.Name, b.s.Version), to, nil, &full); err != nil {
		return err
	}
	for _, dir := range b.s.Previous {
		prev, err := Load(filepath.Join(dir, RecordFile))
		if err != nil {
			return fmt.Errorf("previous build %s: %w", dir, err)
		}
		if prev.Spec.Sequence >= b.s.Sequence {
			return fmt.Errorf("previous build %s has sequence %d: this build needs a higher Sequence (now %d)", dir, prev.Spec.Sequence, b.s.Sequence)
		}
		from := update.Tree{Version: prev.Spec.Version, Sequence: prev.Spec.Sequence, FS: os.DirFS(filepath.Join(dir, BootTreeDir))}
		diff := base
		diff.Kind = update.KindDiff
		diff.FullIfLarger = true
		b.rec.Options["updateDiff"] = &diff
		if err := b.writeUpdate(ctx, fmt.Sprintf("%s-%s-to-%s.fup", b.s.Name, prev.Spec.Version, b.s.Version), to, []update.Tree{from}, &diff); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) writeUpdate(ctx context.Context, name string, to update.Tree, from []update.Tree, o *update.BuildOptions) error {
	var rep *update.BuildReport
	err := b.writeOutput(name, func(w io.Writer) error {
		var err error
		rep, err = update.Build(ctx, w, []sign.Signer{b.o.Keys.Update}, to, from, o)
		return err
	})
	if err != nil {
		return err
	}
	b.event(Event{Stage: "update", File: name, Message: fmt.Sprintf("%s, %d whole, %d patched, %d kept, %d deleted",
		rep.Manifest.Kind, rep.Whole, rep.Patched, rep.Kept, rep.Deleted)})
	return nil
}

func (b *builder) stageRecord(ctx context.Context) error {
	sort.SliceStable(b.rec.Inputs, func(i, j int) bool { return b.rec.Inputs[i].Name < b.rec.Inputs[j].Name })
	data, err := b.rec.marshal()
	if err != nil {
		return err
	}
	// Check what we wrote, as a customer would, before calling it done.
	if err := b.rec.verify(ctx, b.o.Dir, false); err != nil {
		return fmt.Errorf("self-check: %w", err)
	}
	final := b.path(RecordFile)
	if err := os.WriteFile(final+".partial", data, 0o644); err != nil {
		return err
	}
	b.created = append(b.created, final)
	return os.Rename(final+".partial", final)
}
