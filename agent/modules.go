package agent

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// ErrModules: the module tree for the running kernel is missing or its
// modules.order cannot be read. A module that fails to load is not this
// error: it is reported per module in the ModuleReport.
var ErrModules = errors.New("agent: cannot read the kernel module list")

// ModuleOptions says where LoadModules finds modules.
type ModuleOptions struct {
	// Root is the file system root holding lib/modules; "" means "/".
	Root string
	// Release is the kernel release; "" means the running kernel's
	// (uname -r), which is what the build's module tree must match.
	Release string
}

// ModuleResult is the outcome of loading one module.
type ModuleResult struct {
	Path string `json:"path"` // below lib/modules/<release>
	// Loaded is true when the kernel took the module now or already had it.
	Loaded bool `json:"loaded"`
	// Error says why the kernel refused it ("" when loaded).
	Error string `json:"error,omitempty"`
	// NoDevice is true when the kernel refused it with ENODEV: the module
	// has nothing to drive on this machine (efivarfs on a BIOS boot), which
	// Failed does not count.
	NoDevice bool `json:"noDevice,omitempty"`
}

// ModuleReport lists what LoadModules did, in load order.
type ModuleReport struct {
	Release string         `json:"release"`
	Modules []ModuleResult `json:"modules"`
}

// Failed returns the modules the kernel refused, except those with no
// device to drive here (NoDevice).
func (r *ModuleReport) Failed() []ModuleResult {
	var out []ModuleResult
	for _, m := range r.Modules {
		if !m.Loaded && !m.NoDevice {
			out = append(out, m)
		}
	}
	return out
}

// LoadModules loads every module that lib/modules/<release>/modules.order
// names, in that order (each after its dependencies, as rootfs.AddModules
// writes it). A module the kernel already has counts as loaded; one it
// refuses is recorded and the rest still load, because a boot that can
// still reach the console is worth more than a perfect one. The error is
// for a missing or unreadable module list and for a cancelled context.
func LoadModules(ctx context.Context, opts *ModuleOptions) (*ModuleReport, error) {
	var o ModuleOptions
	if opts != nil {
		o = *opts
	}
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Release == "" {
		rel, err := kernelRelease()
		if err != nil {
			return nil, fmt.Errorf("%w: kernel release: %w", ErrModules, err)
		}
		o.Release = rel
	}
	if o.Release == "." || o.Release == ".." || strings.ContainsAny(o.Release, "/\x00") {
		return nil, fmt.Errorf("%w: invalid kernel release %q", ErrModules, o.Release)
	}
	dir := filepath.Join(o.Root, "lib", "modules", o.Release)
	order, err := readOrder(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrModules, dir, err)
	}
	rep := &ModuleReport{Release: o.Release}
	byName := map[string]*ModuleResult{}
	for _, p := range order {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		file := filepath.Join(dir, filepath.FromSlash(p))
		res := ModuleResult{Path: p, Loaded: true}
		// A module whose dependency did not load would only fail with
		// "unknown symbol": it shares the dependency's fate instead, so
		// the Hyper-V drivers on a machine without VMBus count as having
		// no device, not as failures.
		var dep *ModuleResult
		for _, d := range moduleDepends(file) {
			if r := byName[d]; r != nil && !r.Loaded {
				dep = r
				break
			}
		}
		if dep != nil {
			res.Loaded, res.NoDevice = false, dep.NoDevice
			res.Error = fmt.Sprintf("needs %s, which did not load", moduleName(dep.Path))
		} else if err := loadHook(file); err != nil {
			res.Loaded, res.Error, res.NoDevice = false, err.Error(), errors.Is(err, syscall.ENODEV)
		}
		rep.Modules = append(rep.Modules, res)
		byName[moduleName(p)] = &rep.Modules[len(rep.Modules)-1]
	}
	return rep, nil
}

// moduleName is a module's name from its path: the base name without
// ".ko" and with '-' as '_', as the kernel and modinfo's depends= spell it.
func moduleName(p string) string {
	n, _, _ := strings.Cut(path.Base(p), ".ko")
	return strings.ReplaceAll(n, "-", "_")
}

// maxModinfo bounds the .modinfo section read from a module.
const maxModinfo = 64 << 10

// moduleDepends reads the depends= list of a module's .modinfo section;
// nil when the file is no ELF module (the caller then just loads it).
func moduleDepends(file string) []string {
	f, err := elf.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil || sec.Size > maxModinfo {
		return nil
	}
	data, err := sec.Data()
	if err != nil {
		return nil
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok && len(v) > 0 {
			var out []string
			for _, d := range strings.Split(string(v), ",") {
				out = append(out, strings.ReplaceAll(d, "-", "_"))
			}
			return out
		}
	}
	return nil
}

// loadHook is loadModule; tests replace it so they never load a module
// into the machine that runs them.
var loadHook = loadModule

// readOrder reads modules.order: one module path a line, relative to the
// module directory. A path that climbs out of it is refused.
func readOrder(fsys fs.FS) ([]string, error) {
	f, err := fsys.Open("modules.order")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if !fs.ValidPath(l) || path.Clean(l) != l {
			return nil, fmt.Errorf("bad module path %q in modules.order", l)
		}
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

// BlockDevices lists the block devices the kernel sees (names under
// /sys/block, such as "sda" or "vda"), sorted, without loop and ram
// devices.
func BlockDevices() ([]string, error) { return listSys("/sys/block", "loop", "ram") }

// NetInterfaces lists the network interfaces the kernel sees (names under
// /sys/class/net), sorted, without the loopback.
func NetInterfaces() ([]string, error) { return listSys("/sys/class/net", "lo") }

func listSys(dir string, skip ...string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if slices.ContainsFunc(skip, func(s string) bool { return n == s || (s != "lo" && strings.HasPrefix(n, s)) }) {
			continue
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}
