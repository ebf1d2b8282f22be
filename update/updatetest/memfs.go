// Package updatetest holds test support for package update: MemFS, an
// in-memory implementation of update.FS that loses what was not made
// durable and injects crashes at a chosen operation, for crash-matrix
// tests of Apply, Confirm, Rollback, Recover and Adopt.
//
// It does not import update (update's own tests use it); MemFS satisfies
// update.FS and update.Locker structurally.
package updatetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fogkit/fogkit/update/internal/lockerr"
)

// ErrCrashed: the simulated machine lost power; every operation after the
// scheduled crash fails with it.
var ErrCrashed = errors.New("updatetest: simulated crash")

// WriteFile is a file being written; the same type as update.WriteFile.
type WriteFile = interface {
	io.Writer
	Chmod(mode fs.FileMode) error
	Sync() error
	Close() error
}

// MemFS is an in-memory update.FS for tests and simulations. It models a
// filesystem that loses what was not made durable: file content and mode
// become durable on File.Sync, directory entries (and a directory's mode)
// on SyncDir of that directory. After CrashAfter(n), the (n+1)-th mutating
// operation and every operation after it fail with ErrCrashed; Reboot then
// returns the filesystem as a restart would find it.
type MemFS struct {
	mu      sync.Mutex
	root    *memNode
	ops     int
	crashAt int
	crashed bool
	free    int64
	noLink  bool
	locked  bool
}

type memNode struct {
	mode, syncedMode fs.FileMode
	data, synced     []byte
	target           string
	kids, syncedKids map[string]*memNode
}

// NewMemFS returns an empty MemFS with 1 TiB free and no crash scheduled.
func NewMemFS() *MemFS {
	root := &memNode{mode: fs.ModeDir | 0o755, syncedMode: fs.ModeDir | 0o755, kids: map[string]*memNode{}, syncedKids: map[string]*memNode{}}
	return &MemFS{root: root, crashAt: -1, free: 1 << 40}
}

// CrashAfter schedules a crash: n more mutating operations succeed, then
// every operation fails. A negative n cancels the crash.
func (m *MemFS) CrashAfter(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n < 0 {
		m.crashAt = -1
		return
	}
	m.crashAt = m.ops + n
}

// Ops returns how many mutating operations have run.
func (m *MemFS) Ops() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ops
}

// Crashed reports whether the simulated crash happened.
func (m *MemFS) Crashed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.crashed
}

// TryLock takes the in-memory lock of the target (an error matching
// update.ErrBusy when held); a Reboot starts unlocked, as a restart
// releases every lock.
func (m *MemFS) TryLock() (func() error, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.locked {
		return nil, fmt.Errorf("%w: the in-memory target is locked", lockerr.ErrBusy)
	}
	m.locked = true
	var once sync.Once
	return func() error {
		once.Do(func() {
			m.mu.Lock()
			m.locked = false
			m.mu.Unlock()
		})
		return nil
	}, nil
}

// SetFree sets what Free reports.
func (m *MemFS) SetFree(n int64) { m.mu.Lock(); m.free = n; m.mu.Unlock() }

// SetLinks enables or disables hard links (disabled: Link fails with
// errors.ErrUnsupported).
func (m *MemFS) SetLinks(on bool) { m.mu.Lock(); m.noLink = !on; m.mu.Unlock() }

// SyncAll makes everything durable, as after a clean unmount.
func (m *MemFS) SyncAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[*memNode]bool{}
	var walk func(n *memNode)
	walk = func(n *memNode) {
		if seen[n] {
			return
		}
		seen[n] = true
		n.syncedMode = n.mode
		n.synced = n.data
		if n.kids != nil {
			n.syncedKids = cloneKids(n.kids)
			for _, k := range n.kids {
				walk(k)
			}
		}
	}
	walk(m.root)
}

// Reboot returns the durable state as a new MemFS, as a machine restarting
// after the crash (or power loss) would find it: unsynced data, modes and
// directory entries are lost.
func (m *MemFS) Reboot() *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	done := map[*memNode]*memNode{}
	var clone func(n *memNode) *memNode
	clone = func(n *memNode) *memNode {
		if c, ok := done[n]; ok {
			return c
		}
		c := &memNode{mode: n.syncedMode, syncedMode: n.syncedMode, target: n.target}
		done[n] = c
		if n.mode.IsDir() {
			c.kids, c.syncedKids = map[string]*memNode{}, map[string]*memNode{}
			for name, k := range n.syncedKids {
				ck := clone(k)
				c.kids[name], c.syncedKids[name] = ck, ck
			}
		} else {
			c.data = append([]byte(nil), n.synced...)
			c.synced = c.data
		}
		return c
	}
	return &MemFS{root: clone(m.root), crashAt: -1, free: m.free, noLink: m.noLink}
}

func cloneKids(k map[string]*memNode) map[string]*memNode {
	out := make(map[string]*memNode, len(k))
	for n, v := range k {
		out[n] = v
	}
	return out
}

// step accounts for one mutating operation; m.mu is held.
func (m *MemFS) step(op, name string) error {
	if m.crashed {
		return &fs.PathError{Op: op, Path: name, Err: ErrCrashed}
	}
	m.ops++
	if m.crashAt >= 0 && m.ops > m.crashAt {
		m.crashed = true
		return &fs.PathError{Op: op, Path: name, Err: ErrCrashed}
	}
	return nil
}

func (m *MemFS) alive(op, name string) error {
	if m.crashed {
		return &fs.PathError{Op: op, Path: name, Err: ErrCrashed}
	}
	return nil
}

// lookup walks to name without following links.
func (m *MemFS) lookup(op, name string) (*memNode, error) {
	if name == "." || name == "" {
		return m.root, nil
	}
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	n := m.root
	for _, c := range strings.Split(name, "/") {
		if !n.mode.IsDir() {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		k, ok := n.kids[c]
		if !ok {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		n = k
	}
	return n, nil
}

func (m *MemFS) parent(op, name string) (*memNode, string, error) {
	if name == "." || !fs.ValidPath(name) {
		return nil, "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	dir, base := path.Split(name)
	p, err := m.lookup(op, strings.TrimSuffix(dir, "/"))
	if err != nil {
		return nil, "", err
	}
	if !p.mode.IsDir() {
		return nil, "", &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return p, base, nil
}

func (m *MemFS) Open(name string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.alive("open", name); err != nil {
		return nil, err
	}
	n, err := m.lookup("open", name)
	if err != nil {
		return nil, err
	}
	if !n.mode.IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("not a regular file")}
	}
	return io.NopCloser(bytes.NewReader(n.data[:len(n.data):len(n.data)])), nil
}

func (m *MemFS) add(op, name string, n *memNode) error {
	if err := m.step(op, name); err != nil {
		return err
	}
	p, base, err := m.parent(op, name)
	if err != nil {
		return err
	}
	if _, ok := p.kids[base]; ok {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrExist}
	}
	p.kids[base] = n
	return nil
}

func (m *MemFS) Create(name string, perm fs.FileMode) (WriteFile, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := &memNode{mode: perm.Perm(), syncedMode: perm.Perm()}
	if err := m.add("create", name, n); err != nil {
		return nil, err
	}
	return &memFile{m: m, n: n, name: name}, nil
}

func (m *MemFS) Mkdir(name string, perm fs.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	mode := fs.ModeDir | perm.Perm()
	return m.add("mkdir", name, &memNode{mode: mode, syncedMode: mode, kids: map[string]*memNode{}, syncedKids: map[string]*memNode{}})
}

func (m *MemFS) Symlink(target, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	mode := fs.ModeSymlink | 0o777
	return m.add("symlink", name, &memNode{mode: mode, syncedMode: mode, target: target})
}

func (m *MemFS) Link(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.noLink {
		return &fs.PathError{Op: "link", Path: newname, Err: errors.ErrUnsupported}
	}
	n, err := m.lookup("link", oldname)
	if err != nil {
		return err
	}
	if !n.mode.IsRegular() {
		return &fs.PathError{Op: "link", Path: oldname, Err: fs.ErrInvalid}
	}
	return m.add("link", newname, n)
}

func (m *MemFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.step("remove", name); err != nil {
		return err
	}
	p, base, err := m.parent("remove", name)
	if err != nil {
		return err
	}
	n, ok := p.kids[base]
	if !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	if n.mode.IsDir() && len(n.kids) > 0 {
		return &fs.PathError{Op: "remove", Path: name, Err: errors.New("directory not empty")}
	}
	delete(p.kids, base)
	return nil
}

func (m *MemFS) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.step("rename", newname); err != nil {
		return err
	}
	op, ob, err := m.parent("rename", oldname)
	if err != nil {
		return err
	}
	n, ok := op.kids[ob]
	if !ok {
		return &fs.PathError{Op: "rename", Path: oldname, Err: fs.ErrNotExist}
	}
	np, nb, err := m.parent("rename", newname)
	if err != nil {
		return err
	}
	if old, ok := np.kids[nb]; ok {
		if old.mode.IsDir() != n.mode.IsDir() || (old.mode.IsDir() && len(old.kids) > 0) {
			return &fs.PathError{Op: "rename", Path: newname, Err: fs.ErrExist}
		}
	}
	if n.mode.IsDir() && strings.HasPrefix(newname+"/", oldname+"/") {
		return &fs.PathError{Op: "rename", Path: newname, Err: fs.ErrInvalid}
	}
	delete(op.kids, ob)
	np.kids[nb] = n
	return nil
}

func (m *MemFS) Readlink(name string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.alive("readlink", name); err != nil {
		return "", err
	}
	n, err := m.lookup("readlink", name)
	if err != nil {
		return "", err
	}
	if n.mode.Type() != fs.ModeSymlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return n.target, nil
}

func (m *MemFS) Lstat(name string) (fs.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.alive("lstat", name); err != nil {
		return nil, err
	}
	n, err := m.lookup("lstat", name)
	if err != nil {
		return nil, err
	}
	return memInfo{name: path.Base(name), n: n, size: nodeSize(n), m: m}, nil
}

// links counts the directory entries that refer to n, its link count. It
// walks the whole tree (MemFS is for tests and small trees).
func (m *MemFS) links(n *memNode) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var count uint64
	var walk func(d *memNode)
	walk = func(d *memNode) {
		for _, k := range d.kids {
			if k == n {
				count++
			}
			if k.mode.IsDir() {
				walk(k)
			}
		}
	}
	walk(m.root)
	return count
}

func nodeSize(n *memNode) int64 {
	if n.mode.Type() == fs.ModeSymlink {
		return int64(len(n.target))
	}
	return int64(len(n.data))
}

func (m *MemFS) ReadDir(name string) ([]fs.DirEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.alive("readdir", name); err != nil {
		return nil, err
	}
	n, err := m.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if !n.mode.IsDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	out := make([]fs.DirEntry, 0, len(n.kids))
	for k, v := range n.kids {
		out = append(out, fs.FileInfoToDirEntry(memInfo{name: k, n: v, size: nodeSize(v)}))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

func (m *MemFS) Chmod(name string, mode fs.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.step("chmod", name); err != nil {
		return err
	}
	n, err := m.lookup("chmod", name)
	if err != nil {
		return err
	}
	n.mode = n.mode.Type() | mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)
	return nil
}

func (m *MemFS) SyncDir(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.step("syncdir", name); err != nil {
		return err
	}
	n, err := m.lookup("syncdir", name)
	if err != nil {
		return err
	}
	if !n.mode.IsDir() {
		return &fs.PathError{Op: "syncdir", Path: name, Err: fs.ErrInvalid}
	}
	n.syncedKids = cloneKids(n.kids)
	n.syncedMode = n.mode
	return nil
}

func (m *MemFS) Free() (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.alive("free", "."); err != nil {
		return 0, err
	}
	return m.free, nil
}

type memFile struct {
	m      *MemFS
	n      *memNode
	name   string
	closed bool
}

func (f *memFile) Write(p []byte) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if f.closed {
		return 0, fs.ErrClosed
	}
	if err := f.m.step("write", f.name); err != nil {
		return 0, err
	}
	f.n.data = append(f.n.data, p...)
	return len(p), nil
}

func (f *memFile) Chmod(mode fs.FileMode) error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.m.step("chmod", f.name); err != nil {
		return err
	}
	f.n.mode = mode & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	return nil
}

func (f *memFile) Sync() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.m.step("sync", f.name); err != nil {
		return err
	}
	f.n.synced = append([]byte(nil), f.n.data...)
	f.n.syncedMode = f.n.mode
	return nil
}

func (f *memFile) Close() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if f.closed {
		return fs.ErrClosed
	}
	f.closed = true
	return f.m.alive("close", f.name)
}

type memInfo struct {
	name string
	n    *memNode
	size int64
	m    *MemFS // for the link count; nil when unknown
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() fs.FileMode  { return i.n.mode }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.n.mode.IsDir() }
func (i memInfo) Sys() any           { return nil }

// LinkCount returns how many directory entries name the file (update
// reads it to decide whether a base file may be hard-linked); unknown for
// the results of ReadDir.
func (i memInfo) LinkCount() (uint64, bool) {
	if i.m == nil {
		return 0, false
	}
	return i.m.links(i.n), true
}

// SameFile reports whether other is an Lstat result of the same file.
func (i memInfo) SameFile(other fs.FileInfo) bool {
	o, ok := other.(memInfo)
	return ok && i.n == o.n
}
