package disk

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/diskfs/go-diskfs/filesystem/fat32"
	"github.com/diskfs/go-diskfs/partition/gpt"
)

const (
	mib = int64(1 << 20)
	// MinESPSize is the smallest ESP this package makes: FAT32 needs at
	// least 65525 clusters.
	MinESPSize = 33 * mib
	// MaxESPSize is the largest ESP this package makes.
	MaxESPSize = 4095 * mib
	espOffset  = mib // the ESP starts at 1 MiB (LBA 2048)
	writeChunk = 16 << 20
)

// GoodESPSize reports whether go-diskfs v1.9.4 formats a FAT32 file system
// of size bytes correctly. For some sizes (64, 129, 194, 259, 505–507,
// 762–763, 1018–1020 MiB, 4 GiB, …) its sectors-per-FAT computation leaves
// the FAT two entries short of the cluster count and fsck.fat rejects the
// result; this repeats that computation and checks the FAT covers every
// cluster.
func GoodESPSize(size int64) bool {
	if size < MinESPSize || size%512 != 0 {
		return false
	}
	var clusterBytes int64
	switch {
	case size <= 260*mib:
		clusterBytes = 512
	case size <= 8<<30:
		clusterBytes = 4096
	case size <= 16<<30:
		clusterBytes = 8192
	case size <= 32<<30:
		clusterBytes = 16384
	default:
		clusterBytes = 32768
	}
	spc := clusterBytes / 512
	total := size / 512
	const reserved = 32
	denom := 512*spc + 8
	spf := (4*(total-reserved) + denom - 1) / denom
	spf &= 0xffff // go-diskfs keeps it in a uint16
	clusters := (total - reserved - 2*spf) / spc
	return spf*512/4 >= clusters+2
}

// goodESPSizeAtLeast rounds a MiB-aligned size up to the next good one.
func goodESPSizeAtLeast(size int64) int64 {
	size = max(alignUp(size, mib), MinESPSize)
	for !GoodESPSize(size) {
		size += mib
	}
	return size
}

// plan is everything decided before writing.
type plan struct {
	spec     *Spec
	opts     Options
	seed     []byte
	loader   *source // the systemd-boot binary, or the stub (UKI)
	kernel   *source
	initrds  []*source
	files    []*source // files written as they are, in order
	stub     *peStub
	uki      *ukiPlan
	ukiSecs  []ukiSection
	ukiSize  int64
	espSize  int64
	diskSize int64
	gptmbr   []byte
}

// Build writes the boot disk described by spec to dst and returns its
// layout and the ESP's files with their sha256.
//
// go-diskfs works on files, so when dst is not an *os.File (a regular file
// that Build may truncate and write in place) Build writes the image to a
// sparse temporary file first and then copies every block of it to dst,
// zeros included, so whatever dst held before cannot show through. With
// Spec.BIOS set and dst an *os.File, the file must be reachable by its
// Name(), which is what syslinux opens.
func Build(ctx context.Context, spec *Spec, dst io.WriterAt, opts *Options) (*Result, error) {
	p, err := prepare(spec, opts)
	if err != nil {
		return nil, err
	}
	if f, ok := dst.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && sameFile(f) {
			return p.buildInPlace(ctx, f)
		}
	}
	tmp, err := os.CreateTemp("", "fogkit-disk-*.raw")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	res, err := p.buildInPlace(ctx, tmp)
	if err != nil {
		return nil, err
	}
	if err := copyAll(ctx, dst, tmp, p.diskSize); err != nil {
		return nil, err
	}
	return res, nil
}

// BuildFile is Build to a new (or truncated) image file at path; the file
// is sparse. On error the file is removed.
func BuildFile(ctx context.Context, spec *Spec, path string, opts *Options) (*Result, error) {
	p, err := prepare(spec, opts)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	res, err := p.buildInPlace(ctx, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	return res, nil
}

func sameFile(f *os.File) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(f.Name())
	return err == nil && os.SameFile(a, b)
}

func prepare(spec *Spec, o *Options) (*plan, error) {
	if spec == nil {
		return nil, fmt.Errorf("%w: nil spec", ErrInvalidSpec)
	}
	p := &plan{spec: spec}
	if o != nil {
		p.opts = *o
	}
	if p.opts.ESPName == "" {
		p.opts.ESPName = "EFI System Partition"
	}
	if len([]rune(p.opts.ESPName)) > 36 {
		return nil, fmt.Errorf("%w: partition name longer than 36 characters", ErrInvalidSpec)
	}
	if p.opts.VolumeLabel == "" {
		p.opts.VolumeLabel = "FOGKIT"
	}
	if len(p.opts.VolumeLabel) > 11 {
		return nil, fmt.Errorf("%w: volume label longer than 11 bytes", ErrInvalidSpec)
	}
	title := spec.Title
	if title == "" {
		title = "fogkit"
	}
	if strings.ContainsAny(spec.Cmdline, "\n\r") || strings.ContainsAny(title, "\n\r") {
		return nil, fmt.Errorf("%w: command line and title must be one line", ErrInvalidSpec)
	}
	var err error
	if p.kernel, err = newSource("kernel", spec.Kernel, "vmlinuz"); err != nil {
		return nil, err
	}
	for i, f := range spec.Initrds {
		def := "initrd.img"
		if i > 0 {
			def = fmt.Sprintf("initrd-%d.img", i+1)
		}
		s, err := newSource(fmt.Sprintf("initrd %d", i+1), f, def)
		if err != nil {
			return nil, err
		}
		if i < len(spec.Initrds)-1 {
			// Loaders concatenate initrds as they are (systemd-boot 252
			// does), and the kernel finds an uncompressed cpio member only
			// at a 4-byte-aligned offset: pad all but the last.
			s.pad = alignUp(s.size, 4) - s.size
			s.size += s.pad
		}
		p.initrds = append(p.initrds, s)
	}
	switch spec.Loader {
	case SystemdBoot:
		p.loader, err = newSource("loader", spec.EFI, "EFI/BOOT/BOOTX64.EFI")
	case UKI:
		p.loader, err = newSource("UKI stub", spec.EFI, "EFI/BOOT/BOOTX64.EFI")
	default:
		return nil, fmt.Errorf("%w: loader %q (want %q or %q)", ErrInvalidSpec, spec.Loader, SystemdBoot, UKI)
	}
	if err != nil {
		return nil, err
	}
	p.loader.name = "EFI/BOOT/BOOTX64.EFI"
	if err := p.kernel.checkKernel(); err != nil {
		return nil, err
	}

	// Files on the ESP, in the order they are written.
	entryID, entryText := entryName(title), ""
	if e := spec.Entry; e != nil {
		if e.ID == "" || entryName(e.ID) != e.ID || e.Text == "" || len(e.Text) > 64<<10 {
			return nil, fmt.Errorf("%w: entry %q: want an id of [a-z0-9._-] and a text of 1 byte to 64 KiB", ErrInvalidSpec, e.ID)
		}
		entryID, entryText = e.ID, e.Text
	}
	switch spec.Loader {
	case SystemdBoot:
		if entryText == "" {
			entryText = p.entry(title)
		}
		conf := spec.LoaderConf
		if conf == "" {
			conf = fmt.Sprintf("timeout 0\ndefault %s.conf\neditor no\n", entryID)
		}
		p.files = append(p.files, p.loader,
			generated("loader/loader.conf", []byte(conf)),
			generated("loader/entries/"+entryID+".conf", []byte(entryText)))
	case UKI:
		stub, err := p.loader.readAll(maxStubSize)
		if err != nil {
			return nil, err
		}
		if p.stub, err = parseStub(stub); err != nil {
			return nil, err
		}
	}
	if spec.Loader == SystemdBoot || spec.BIOS != nil {
		p.files = append(p.files, p.kernel)
		p.files = append(p.files, p.initrds...)
	}
	if b := spec.BIOS; b != nil {
		if b.Syslinux == "" {
			return nil, &ToolError{Program: "syslinux", Err: errors.New("no syslinux program given")}
		}
		mbr, err := newSource("gptmbr", b.GPTMBR, "")
		if err != nil {
			return nil, err
		}
		if mbr.size < 1 || mbr.size > 440 {
			return nil, &FormatError{What: "gptmbr", Reason: fmt.Sprintf("%d bytes, want 1..440", mbr.size), Err: ErrInvalidSpec}
		}
		if p.gptmbr, err = mbr.readAll(440); err != nil {
			return nil, err
		}
		cfg := b.Config
		if cfg == "" {
			cfg = p.syslinuxConfig(title)
		}
		p.files = append(p.files, generated("syslinux.cfg", []byte(cfg)))
		for i, m := range b.Modules {
			s, err := newSource(fmt.Sprintf("syslinux module %d", i+1), m, path.Base(m.Path))
			if err != nil {
				return nil, err
			}
			p.files = append(p.files, s)
		}
	}
	for i, f := range spec.Extra {
		s, err := newSource(fmt.Sprintf("extra file %d", i+1), f, "")
		if err != nil {
			return nil, err
		}
		p.files = append(p.files, s)
	}
	seen := map[string]bool{}
	if spec.Loader == UKI {
		seen["efi/boot/bootx64.efi"] = true
	}
	for _, s := range p.files {
		if s.name, err = checkESPPath(s.what, s.name); err != nil {
			return nil, err
		}
		k := strings.ToLower(s.name)
		if seen[k] {
			return nil, fmt.Errorf("%w: two files at ESP path %s", ErrInvalidSpec, s.name)
		}
		seen[k] = true
	}
	if spec.Loader == UKI {
		if err := p.planUKI(title); err != nil {
			return nil, err
		}
	}
	if err := p.seedAndSize(); err != nil {
		return nil, err
	}
	return p, nil
}

func entryName(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "fogkit"
	}
	return b.String()
}

func (p *plan) entry(title string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "title %s\nlinux /%s\n", title, p.kernel.name)
	for _, s := range p.initrds {
		fmt.Fprintf(&b, "initrd /%s\n", s.name)
	}
	if p.spec.Cmdline != "" {
		fmt.Fprintf(&b, "options %s\n", p.spec.Cmdline)
	}
	return b.String()
}

func (p *plan) syslinuxConfig(title string) string {
	var b strings.Builder
	label := entryName(title)
	fmt.Fprintf(&b, "DEFAULT %s\nPROMPT 0\nTIMEOUT 0\n\nLABEL %s\n  MENU LABEL %s\n  LINUX /%s\n", label, label, title, p.kernel.name)
	if len(p.initrds) > 0 {
		names := make([]string, len(p.initrds))
		for i, s := range p.initrds {
			names[i] = "/" + s.name
		}
		fmt.Fprintf(&b, "  INITRD %s\n", strings.Join(names, ","))
	}
	if p.spec.Cmdline != "" {
		fmt.Fprintf(&b, "  APPEND %s\n", p.spec.Cmdline)
	}
	return b.String()
}

// planUKI lays out the UKI's sections; when the kernel and initrds are
// also ESP files (BIOS), their bytes are read back from the ESP.
func (p *plan) planUKI(title string) error {
	osrel := p.spec.OSRelease
	if osrel == "" {
		osrel = fmt.Sprintf("ID=fogkit\nNAME=%q\nPRETTY_NAME=%q\n", title, title)
	}
	kernel := p.kernel
	p.ukiSecs = []ukiSection{
		{name: ".osrel", size: int64(len(osrel)), open: generated("", []byte(osrel)).open},
		{name: ".cmdline", size: int64(len(p.spec.Cmdline)), open: generated("", []byte(p.spec.Cmdline)).open},
	}
	if len(p.initrds) > 0 {
		var total int64
		for _, s := range p.initrds {
			total += alignUp(s.size, 4)
		}
		initrds := p.initrds
		p.ukiSecs = append(p.ukiSecs, ukiSection{name: ".initrd", size: total, open: func() (io.Reader, func(), error) {
			var rs []io.Reader
			var closers []func()
			done := func() {
				for _, c := range closers {
					c()
				}
			}
			for _, s := range initrds {
				r, c, err := s.open()
				if err != nil {
					done()
					return nil, nil, err
				}
				closers = append(closers, c)
				rs = append(rs, r, io.LimitReader(zeroReader{}, alignUp(s.size, 4)-s.size))
			}
			return io.MultiReader(rs...), done, nil
		}})
	}
	p.ukiSecs = append(p.ukiSecs, ukiSection{name: ".linux", size: kernel.size, open: kernel.open})
	var err error
	if p.uki, err = p.stub.plan(p.ukiSecs); err != nil {
		return err
	}
	p.ukiSize = p.uki.size
	if p.ukiSize > maxInput {
		return fmt.Errorf("%w: UKI of %d bytes", ErrTooLarge, p.ukiSize)
	}
	return nil
}

type zeroReader struct{}

func (zeroReader) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// seedAndSize fixes the seed and the ESP and disk sizes.
func (p *plan) seedAndSize() error {
	if p.opts.Seed != "" {
		p.seed = []byte(p.opts.Seed)
	} else {
		// Derived from what the spec says (not from the content, which
		// would need a second pass over the inputs).
		type named struct {
			Name string `json:"n"`
			Size int64  `json:"s"`
		}
		var d struct {
			Loader  Loader  `json:"l"`
			Files   []named `json:"f"`
			Cmdline string  `json:"c"`
			UKI     int64   `json:"u"`
		}
		d.Loader, d.Cmdline, d.UKI = p.spec.Loader, p.spec.Cmdline, p.ukiSize
		for _, s := range append(append([]*source{p.kernel}, p.initrds...), p.files...) {
			d.Files = append(d.Files, named{s.name, s.size})
		}
		b, _ := json.Marshal(d)
		sum := sha256.Sum256(b)
		p.seed = sum[:]
	}
	// Content estimate with 4 KiB clusters (the largest this package
	// uses), one cluster per directory and generous directory slack.
	need := alignUp(p.ukiSize, 4096)
	dirs := map[string]bool{}
	for _, s := range p.files {
		need += alignUp(s.size, 4096)
		for d := path.Dir(s.name); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	need += int64(len(dirs)+1)*4096 + int64(len(p.files))*4096 + 64<<10
	if p.spec.BIOS != nil {
		need += 256 << 10 // ldlinux.sys and ldlinux.c32
	}
	// The FATs take 8 bytes per 512-byte cluster (both copies) plus the
	// reserved sectors.
	needESP := need + need/64 + 2*(need/512*4) + 64<<10
	if p.opts.DiskSize > 0 {
		disk := alignUp(p.opts.DiskSize, mib)
		esp := disk - 2*mib
		if esp < MinESPSize || esp < needESP {
			return &SizeError{Need: max(needESP, MinESPSize) + 2*mib, Have: disk}
		}
		p.espSize = goodESPSizeAtLeast(esp)
	} else {
		p.espSize = goodESPSizeAtLeast(needESP)
	}
	if p.espSize > MaxESPSize {
		return fmt.Errorf("%w: ESP of %d bytes (at most %d)", ErrTooLarge, p.espSize, MaxESPSize)
	}
	p.diskSize = espOffset + p.espSize + mib
	return nil
}

// guid derives a version-4-shaped GUID from the seed and a purpose.
func (p *plan) guid(purpose string) string {
	h := sha256.Sum256(append([]byte("fogkit/disk/"+purpose+"\x00"), p.seed...))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}

func (p *plan) volumeID() uint32 {
	h := sha256.Sum256(append([]byte("fogkit/disk/fat-volume-id\x00"), p.seed...))
	return binary.LittleEndian.Uint32(h[:4])
}

func (p *plan) progress(e Event) {
	if p.opts.Progress != nil {
		p.opts.Progress(e)
	}
}

func (p *plan) buildInPlace(ctx context.Context, f *os.File) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.progress(Event{Stage: "layout", Total: p.diskSize})
	if err := f.Truncate(0); err != nil {
		return nil, err
	}
	if err := f.Truncate(p.diskSize); err != nil {
		return nil, err
	}
	st := newFileStorage(f)
	var attrs uint64
	if p.spec.BIOS != nil {
		attrs = LegacyBIOSBootable
		if _, err := f.WriteAt(p.gptmbr, 0); err != nil {
			return nil, err
		}
	}
	table := &gpt.Table{
		LogicalSectorSize:  512,
		PhysicalSectorSize: 512,
		ProtectiveMBR:      true,
		GUID:               p.guid("disk"),
		Partitions: []*gpt.Partition{{
			Index:      1,
			Start:      uint64(espOffset / 512),
			Size:       uint64(p.espSize),
			Type:       gpt.EFISystemPartition,
			Name:       p.opts.ESPName,
			GUID:       p.guid("partition/1"),
			Attributes: attrs,
		}},
	}
	if err := table.Write(st, p.diskSize); err != nil {
		return nil, fmt.Errorf("disk: write GPT: %w", err)
	}
	fsys, err := fat32.Create(st, p.espSize, espOffset, 512, p.opts.VolumeLabel, true)
	if err != nil {
		return nil, fmt.Errorf("disk: format ESP: %w", err)
	}
	var total int64
	for _, s := range p.files {
		total += s.size
	}
	total += p.ukiSize
	var done int64
	for _, s := range p.files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := p.writeFile(ctx, fsys, s, &done, total); err != nil {
			return nil, err
		}
	}
	if p.spec.Loader == UKI {
		if err := p.writeUKI(ctx, fsys, &done, total); err != nil {
			return nil, err
		}
	}
	if err := fsys.Close(); err != nil {
		return nil, err
	}
	if err := st.flush(); err != nil {
		return nil, err
	}
	if err := p.finishFAT(f); err != nil {
		return nil, err
	}
	if p.spec.BIOS != nil {
		p.progress(Event{Stage: "syslinux"})
		if err := p.installSyslinux(ctx, f); err != nil {
			return nil, err
		}
		if err := p.finishFAT(f); err != nil {
			return nil, err
		}
	}
	p.progress(Event{Stage: "verify", Total: p.diskSize})
	res, err := Inspect(f, p.diskSize)
	if err != nil {
		return nil, fmt.Errorf("disk: reading back the image: %w", err)
	}
	return res, nil
}

// finishFAT stamps times and the volume ID (see stamp).
func (p *plan) finishFAT(f *os.File) error {
	fs, err := openFAT(f, espOffset, p.espSize)
	if err != nil {
		return err
	}
	return stamp(fs, f, p.opts.ModTime, p.volumeID())
}

func mkdirs(fsys *fat32.FileSystem, name string) error {
	if d := path.Dir(name); d != "." {
		if err := fsys.Mkdir("/" + d); err != nil {
			return fmt.Errorf("disk: mkdir %s: %w", d, err)
		}
	}
	return nil
}

func isNoSpace(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no space left")
}

func (p *plan) writeFile(ctx context.Context, fsys *fat32.FileSystem, s *source, done *int64, total int64) error {
	if err := mkdirs(fsys, s.name); err != nil {
		return err
	}
	out, err := fsys.OpenFile("/"+s.name, os.O_CREATE|os.O_RDWR)
	if err != nil {
		return fmt.Errorf("disk: create %s: %w", s.name, err)
	}
	defer out.Close()
	r, closeIn, err := s.open()
	if err != nil {
		return err
	}
	defer closeIn()
	w := bufio.NewWriterSize(&ctxWriter{ctx: ctx, w: out}, writeChunk)
	n, err := io.Copy(w, r)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		if isNoSpace(err) {
			return &SizeError{Need: p.espSize + s.size, Have: p.espSize}
		}
		return fmt.Errorf("disk: write %s: %w", s.name, err)
	}
	*done += n
	p.progress(Event{Stage: "write", File: s.name, Done: *done, Total: total})
	return nil
}

func (p *plan) writeUKI(ctx context.Context, fsys *fat32.FileSystem, done *int64, total int64) error {
	name := "EFI/BOOT/BOOTX64.EFI"
	if err := mkdirs(fsys, name); err != nil {
		return err
	}
	out, err := fsys.OpenFile("/"+name, os.O_CREATE|os.O_RDWR)
	if err != nil {
		return fmt.Errorf("disk: create %s: %w", name, err)
	}
	defer out.Close()
	if p.spec.BIOS != nil {
		// The kernel and initrds are already on the ESP: read them back
		// (a reader input can be consumed only once).
		for i := range p.ukiSecs {
			switch p.ukiSecs[i].name {
			case ".linux":
				p.ukiSecs[i].open = fatOpener(fsys, p.kernel)
			case ".initrd":
				initrds := p.initrds
				p.ukiSecs[i].open = func() (io.Reader, func(), error) {
					var rs []io.Reader
					for _, s := range initrds {
						r, _, err := fatOpener(fsys, s)()
						if err != nil {
							return nil, nil, err
						}
						rs = append(rs, r, io.LimitReader(zeroReader{}, alignUp(s.size, 4)-s.size))
					}
					return io.MultiReader(rs...), func() {}, nil
				}
			}
		}
	}
	w := bufio.NewWriterSize(&ctxWriter{ctx: ctx, w: out}, writeChunk)
	patch := func(off int64, b []byte) error {
		if err := w.Flush(); err != nil {
			return err
		}
		if _, err := out.Seek(off, io.SeekStart); err != nil {
			return err
		}
		_, err := out.Write(b)
		return err
	}
	err = writeUKI(w, p.uki, p.ukiSecs, patch, func(n int64) {
		*done += n
		p.progress(Event{Stage: "write", File: name, Done: *done, Total: total})
	})
	if err != nil {
		if isNoSpace(err) {
			return &SizeError{Need: p.espSize + p.ukiSize, Have: p.espSize}
		}
		return fmt.Errorf("disk: write UKI: %w", err)
	}
	return nil
}

func fatOpener(fsys *fat32.FileSystem, s *source) func() (io.Reader, func(), error) {
	return func() (io.Reader, func(), error) {
		f, err := fsys.OpenFile("/"+s.name, os.O_RDONLY)
		if err != nil {
			return nil, nil, fmt.Errorf("disk: reopen %s: %w", s.name, err)
		}
		return io.LimitReader(f, s.size), func() { f.Close() }, nil
	}
}

type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(b)
}

// copyAll copies the image to dst block by block. All-zero blocks are
// written too: dst may be a reused buffer or device whose old bytes would
// otherwise survive in the holes (a FAT that fsck rejects).
func copyAll(ctx context.Context, dst io.WriterAt, src io.ReaderAt, size int64) error {
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := buf[:min(int64(len(buf)), size-off)]
		if _, err := src.ReadAt(b, off); err != nil {
			return err
		}
		if _, err := dst.WriteAt(b, off); err != nil {
			return err
		}
	}
	return nil
}
