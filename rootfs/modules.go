package rootfs

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// ErrModule: a kernel module is missing from the tree, is not a valid
// module, or the tree's module graph cannot be resolved (a dependency
// cycle, a module larger than the limit).
var ErrModule = errors.New("rootfs: kernel module error")

// ModuleError says which module an error concerns.
type ModuleError struct {
	Module string // module name, e.g. "virtio_blk"
	Detail string // what is wrong, or the module's file
	Err    error  // the cause, if any (a decompression or ELF error)
}

func (e *ModuleError) Error() string {
	s := fmt.Sprintf("%v: %s", ErrModule, e.Module)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ModuleError) Unwrap() []error { return []error{ErrModule, e.Err} }

// ModuleOptions says how AddModules reads a kernel's module tree.
type ModuleOptions struct {
	// Release is the kernel release, the name of the lib/modules/<release>
	// directory; modules go to /lib/modules/<Release> in the archive.
	// Required.
	Release string
	// MaxModuleSize bounds one module after decompression. Zero means
	// 64 MiB, far above the largest driver of a distribution kernel.
	MaxModuleSize int64
	// Mode is the permission of the module files and index files written;
	// zero means 0644.
	Mode uint32
	// SkipMissing skips a requested name that is neither in the tree nor
	// built in, instead of failing: for a default driver list that a given
	// kernel may not all have. A missing dependency is still an error.
	SkipMissing bool
}

// Module is one kernel module that AddModules put in the archive (or
// found built into the kernel).
type Module struct {
	// Name is the module's name as the kernel knows it: dashes become
	// underscores ("nls_iso8859_1").
	Name string `json:"name"`
	// Path is the file's path below lib/modules/<release>, always with the
	// plain ".ko" suffix because modules are stored decompressed; empty for
	// a built-in module.
	Path string `json:"path,omitempty"`
	// Builtin is true for a module compiled into the kernel image: it needs
	// no file and no loading.
	Builtin bool `json:"builtin,omitempty"`
	// Depends lists the modules this one needs loaded first, as the
	// module's own depends= field names them.
	Depends []string `json:"depends,omitempty"`
	// Size is the stored (decompressed) size in bytes.
	Size int64 `json:"size,omitempty"`
}

// moduleSuffixes are the file suffixes a distribution ships modules
// under, longest first so ".ko.xz" is not taken for ".ko".
var moduleSuffixes = []string{".ko.zst", ".ko.xz", ".ko.gz", ".ko"}

// ModuleName returns the kernel's name for a module file or name:
// "drivers/nls/nls_iso8859-1.ko.xz" and "nls_iso8859-1" both give
// "nls_iso8859_1".
func ModuleName(s string) string {
	s = path.Base(s)
	for _, suf := range moduleSuffixes {
		if strings.HasSuffix(s, suf) {
			s = strings.TrimSuffix(s, suf)
			break
		}
	}
	return strings.ReplaceAll(s, "-", "_")
}

// AddModules adds the named kernel modules and every module they depend
// on from tree, the root of an unpacked lib/modules/<release> directory (as
// a distribution's kernel package holds it: kernel/…/*.ko[.xz|.zst|.gz]
// and modules.builtin; no modules.dep is needed, since packages leave it
// to depmod at install time). Names may use dashes or underscores; a name
// built into the kernel (listed in modules.builtin) is satisfied without a
// file.
//
// Each module is stored decompressed under /lib/modules/<Release> with its
// ".ko" name, because the kernel's finit_module only takes compressed
// modules when built with in-kernel decompression, and the initramfs is
// compressed as a whole anyway. Beside them AddModules writes, for the
// subset only, the index files module loaders read: modules.dep (each
// module's full dependency closure, loaded right to left as modprobe
// does), modules.alias (from each module's alias= fields, so a loader can
// match hardware), modules.order (the load order) and modules.builtin (a
// copy of the tree's). The returned list is in load order: each module
// after every module it depends on, ties broken by name, so the same tree
// and names give the same archive.
//
// The dependency graph comes from each module's own .modinfo section, not
// from an index file that may be stale. A name that is neither a module
// file nor built in, a file that is not an ELF module, a dependency cycle
// or a module above MaxModuleSize is an error matching ErrModule.
func (b *Builder) AddModules(ctx context.Context, tree fs.FS, names []string, opts *ModuleOptions) ([]Module, error) {
	var o ModuleOptions
	if opts != nil {
		o = *opts
	}
	if o.Release == "" || strings.ContainsAny(o.Release, "/\x00") || o.Release == "." || o.Release == ".." {
		return nil, &ModuleError{Module: "", Detail: fmt.Sprintf("invalid kernel release %q", o.Release)}
	}
	if o.MaxModuleSize <= 0 {
		o.MaxModuleSize = 64 << 20
	}
	if o.Mode == 0 {
		o.Mode = 0o644
	}
	idx, err := indexModules(ctx, tree)
	if err != nil {
		return nil, err
	}
	r := &moduleResolver{ctx: ctx, tree: tree, idx: idx, max: o.MaxModuleSize, mods: map[string]*loadedModule{}, state: map[string]int{}}
	want := make([]string, 0, len(names))
	for _, n := range names {
		want = append(want, ModuleName(n))
	}
	slices.Sort(want)
	want = slices.Compact(want)
	for _, n := range want {
		if o.SkipMissing && !r.available(n) {
			continue
		}
		if err := r.visit(n, ""); err != nil {
			return nil, err
		}
	}
	return r.order, b.writeModules(o, r)
}

// moduleIndex maps module names to their files in the tree, and lists the
// built-in ones.
type moduleIndex struct {
	files   map[string]string // name -> path in tree
	builtin map[string]bool
	rawBI   []byte // modules.builtin as shipped, copied into the archive
}

func indexModules(ctx context.Context, tree fs.FS) (*moduleIndex, error) {
	idx := &moduleIndex{files: map[string]string{}, builtin: map[string]bool{}}
	err := fs.WalkDir(tree, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		base := path.Base(p)
		if !slices.ContainsFunc(moduleSuffixes, func(s string) bool { return strings.HasSuffix(base, s) }) {
			return nil
		}
		n := ModuleName(base)
		if prev, ok := idx.files[n]; ok {
			// Two files for one name (an updates/ override, or two
			// compressions): keep the first in lexical order, as a fixed
			// rule so the result never depends on the walk.
			if prev < p {
				return nil
			}
		}
		idx.files[n] = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: reading the module tree: %w", ErrModule, err)
	}
	bi, err := fs.ReadFile(tree, "modules.builtin")
	switch {
	case err == nil:
		idx.rawBI = bi
		sc := bufio.NewScanner(bytes.NewReader(bi))
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" {
				idx.builtin[ModuleName(l)] = true
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%w: modules.builtin: %w", ErrModule, err)
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return nil, fmt.Errorf("%w: modules.builtin: %w", ErrModule, err)
	}
	return idx, nil
}

type loadedModule struct {
	Module
	data []byte
	info *modInfo
}

type moduleResolver struct {
	ctx   context.Context
	tree  fs.FS
	idx   *moduleIndex
	max   int64
	mods  map[string]*loadedModule
	state map[string]int // 1 visiting, 2 done
	order []Module
}

// visit loads n and its dependencies depth first, appending each module
// after its dependencies (post-order), which is a valid load order.
func (r *moduleResolver) visit(n, from string) error {
	switch r.state[n] {
	case 1:
		return &ModuleError{Module: n, Detail: "dependency cycle through " + from}
	case 2:
		return nil
	}
	if err := r.ctx.Err(); err != nil {
		return err
	}
	r.state[n] = 1
	p, ok := r.idx.files[n]
	if !ok {
		if !r.idx.builtin[n] {
			d := "no such module in the tree and not built in"
			if from != "" {
				d += " (needed by " + from + ")"
			}
			return &ModuleError{Module: n, Detail: d}
		}
		r.state[n] = 2
		m := Module{Name: n, Builtin: true}
		r.order = append(r.order, m)
		r.mods[n] = &loadedModule{Module: m}
		return nil
	}
	data, err := readModule(r.tree, p, r.max)
	if err != nil {
		return &ModuleError{Module: n, Err: err, Detail: p}
	}
	mi, err := modinfo(data)
	if err != nil {
		return &ModuleError{Module: n, Err: err, Detail: p}
	}
	for _, d := range mi.deps {
		if err := r.visit(d, n); err != nil {
			return err
		}
	}
	// A soft dependency that names a module of the tree is loaded with
	// it, "pre:" ones first. One that names an alias (ext4's
	// "crypto-crc32c") is not resolved here: that would mean decompressing
	// every module of the tree to read its aliases, so the caller lists
	// the module that provides it.
	for _, d := range mi.pre {
		if r.available(d) {
			if err := r.visit(d, n); err != nil {
				return err
			}
		}
	}
	rel := p[:strings.LastIndex(p, ".ko")+len(".ko")] // stored decompressed
	m := Module{Name: n, Path: rel, Depends: mi.deps, Size: int64(len(data))}
	r.mods[n] = &loadedModule{Module: m, data: data, info: mi}
	r.order = append(r.order, m)
	r.state[n] = 2
	for _, d := range mi.post {
		if r.available(d) && r.state[d] == 0 {
			if err := r.visit(d, n); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *moduleResolver) available(n string) bool {
	_, ok := r.idx.files[n]
	return ok || r.idx.builtin[n]
}

// readModule reads and decompresses one module file, refusing more than
// max bytes of output so a hostile tree cannot exhaust memory.
func readModule(tree fs.FS, p string, max int64) ([]byte, error) {
	f, err := tree.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rd io.Reader = f
	switch {
	case strings.HasSuffix(p, ".ko.xz"):
		x, err := xz.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("xz: %w", err)
		}
		rd = x
	case strings.HasSuffix(p, ".ko.zst"):
		z, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(max)+1))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		defer z.Close()
		rd = z
	case strings.HasSuffix(p, ".ko.gz"):
		g, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		rd = g
	}
	data, err := io.ReadAll(io.LimitReader(rd, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	return data, nil
}

// modInfo is what AddModules reads from a module's .modinfo section.
type modInfo struct {
	deps      []string // depends=: must be loaded first
	pre, post []string // softdep= "pre:" and "post:" names
	aliases   []string // alias= patterns
	softdep   string   // the softdep= value as written, for modules.softdep
}

// modinfo parses a module's .modinfo section: NUL-separated key=value
// strings.
func modinfo(data []byte) (*modInfo, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not an ELF module: %w", err)
	}
	if f.Type != elf.ET_REL {
		return nil, fmt.Errorf("ELF type %v, want a relocatable module", f.Type)
	}
	s := f.Section(".modinfo")
	if s == nil || s.Type == elf.SHT_NOBITS {
		return nil, errors.New("no .modinfo section")
	}
	if s.Size > uint64(len(data)) {
		return nil, errors.New(".modinfo larger than the file")
	}
	info, err := s.Data()
	if err != nil {
		return nil, fmt.Errorf(".modinfo: %w", err)
	}
	mi := &modInfo{}
	for _, kv := range bytes.Split(info, []byte{0}) {
		k, v, ok := bytes.Cut(kv, []byte{'='})
		if !ok {
			continue
		}
		switch string(k) {
		case "depends":
			for _, d := range strings.Split(string(v), ",") {
				if d = strings.TrimSpace(d); d != "" {
					mi.deps = append(mi.deps, ModuleName(d))
				}
			}
		case "alias":
			if a := string(v); a != "" && !strings.ContainsAny(a, " \t\n") {
				mi.aliases = append(mi.aliases, a)
			}
		case "softdep":
			// "pre: a b post: c", as modprobe.d(5) spells it.
			var into *[]string
			for _, w := range strings.Fields(string(v)) {
				switch w {
				case "pre:":
					into = &mi.pre
				case "post:":
					into = &mi.post
				default:
					if into != nil {
						*into = append(*into, ModuleName(w))
					}
				}
			}
			if len(mi.pre)+len(mi.post) > 0 && !strings.ContainsAny(string(v), "\n") {
				mi.softdep = string(v)
			}
		}
	}
	for _, l := range []*[]string{&mi.deps, &mi.pre, &mi.post} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	return mi, nil
}

// writeModules adds the module files and the index files for the resolved
// subset to the archive.
func (b *Builder) writeModules(o ModuleOptions, r *moduleResolver) error {
	// Parent directories are left to Write, which adds missing ones, so
	// a /lib the caller already added (a directory or a symlink into /usr)
	// is never replaced.
	root := "/lib/modules/" + o.Release
	var dep, alias, order, softdep bytes.Buffer
	var aliasLines []string
	for _, m := range r.order {
		if m.Builtin {
			continue
		}
		lm := r.mods[m.Name]
		if err := b.AddFile(Entry{Path: root + "/" + m.Path, Mode: o.Mode}, lm.data); err != nil {
			return err
		}
		// modules.dep names the whole closure; modprobe loads the list
		// from right to left, so the deepest dependencies go last.
		closure := r.closure(m.Name)
		fmt.Fprintf(&dep, "%s:", m.Path)
		for i := len(closure) - 1; i >= 0; i-- {
			fmt.Fprintf(&dep, " %s", closure[i])
		}
		dep.WriteByte('\n')
		fmt.Fprintf(&order, "%s\n", m.Path)
		if lm.info.softdep != "" {
			fmt.Fprintf(&softdep, "softdep %s %s\n", m.Name, lm.info.softdep)
		}
		for _, a := range lm.info.aliases {
			aliasLines = append(aliasLines, "alias "+a+" "+m.Name)
		}
	}
	sort.Strings(aliasLines)
	aliasLines = slices.Compact(aliasLines)
	alias.WriteString("# Aliases extracted from modules themselves.\n")
	for _, l := range aliasLines {
		alias.WriteString(l + "\n")
	}
	files := []struct {
		name string
		data []byte
	}{
		{"modules.dep", dep.Bytes()},
		{"modules.alias", alias.Bytes()},
		{"modules.order", order.Bytes()},
		{"modules.softdep", softdep.Bytes()},
		{"modules.builtin", r.idx.rawBI},
	}
	for _, f := range files {
		if err := b.AddFile(Entry{Path: root + "/" + f.name, Mode: o.Mode}, f.data); err != nil {
			return err
		}
	}
	return nil
}

// closure returns the paths of every non-built-in module n depends on,
// directly or not, in load order.
func (r *moduleResolver) closure(n string) []string {
	need := map[string]bool{}
	var walk func(string)
	walk = func(x string) {
		for _, d := range r.mods[x].Depends {
			if !need[d] {
				need[d] = true
				walk(d)
			}
		}
	}
	walk(n)
	var out []string
	for _, m := range r.order {
		if need[m.Name] && !m.Builtin {
			out = append(out, m.Path)
		}
	}
	return out
}
