// Package esptest holds test support for package esp: an in-memory FS that
// loses what was not synced and injects crashes, and a model of how
// systemd-boot 252 chooses and counts entries, to check what a machine
// would boot after a power cut.
package esptest

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fogkit/fogkit/esp"
)

// ErrCrashed: the simulated machine lost power.
var ErrCrashed = errors.New("esptest: simulated crash")

// Durability says what of the unsynced state survives Reboot.
type Durability int

const (
	// LoseUnsynced keeps only what was synced: file content on a file
	// sync, directory entries on a sync of their directory.
	LoseUnsynced Durability = iota
	// KeepAll keeps every operation, synced or not.
	KeepAll
	// KeepNamesLoseData keeps every directory change but only synced file
	// content (a file appears with the name it got, empty or stale).
	KeepNamesLoseData
)

// Durabilities lists every model, for tests that try all of them.
var Durabilities = []Durability{LoseUnsynced, KeepAll, KeepNamesLoseData}

func (d Durability) String() string {
	return [...]string{"lose-unsynced", "keep-all", "keep-names-lose-data"}[d]
}

// MemFS is an in-memory esp.FS. After CrashAfter(n) the (n+1)-th mutating
// operation and all later ones fail with ErrCrashed; Reboot returns what a
// restart would find.
type MemFS struct {
	mu      sync.Mutex
	root    *node
	ops     int
	crashAt int
	chunk   int
}

type node struct {
	dir          bool
	data, synced []byte
	kids, skids  map[string]*node
}

func newDir() *node { return &node{dir: true, kids: map[string]*node{}, skids: map[string]*node{}} }

// NewMemFS returns an empty MemFS with no crash scheduled.
func NewMemFS() *MemFS { return &MemFS{root: newDir(), crashAt: -1} }

// CrashAfter lets n more mutating operations succeed; negative cancels.
func (m *MemFS) CrashAfter(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n < 0 {
		m.crashAt = -1
	} else {
		m.crashAt = m.ops + n
	}
}

// SetWriteChunk makes every write of more than n bytes land n bytes per
// operation, so a crash can tear it (0: a write is one operation).
func (m *MemFS) SetWriteChunk(n int) { m.mu.Lock(); m.chunk = n; m.mu.Unlock() }

// Ops returns the number of mutating operations so far.
func (m *MemFS) Ops() int { m.mu.Lock(); defer m.mu.Unlock(); return m.ops }

// Crashed reports whether the scheduled crash happened.
func (m *MemFS) Crashed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.crashAt >= 0 && m.ops > m.crashAt
}

// step counts one mutating operation; m.mu is held.
func (m *MemFS) step() error {
	if m.crashAt >= 0 && m.ops >= m.crashAt {
		m.ops = m.crashAt + 1
		return ErrCrashed
	}
	m.ops++
	return nil
}

// Reboot returns the filesystem a restart finds under durability d.
func (m *MemFS) Reboot(d Durability) *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[*node]*node{}
	var clone func(n *node) *node
	clone = func(n *node) *node {
		if c, ok := seen[n]; ok {
			return c
		}
		if n.dir {
			c := newDir()
			seen[n] = c
			kids := n.skids
			if d != LoseUnsynced {
				kids = n.kids
			}
			for k, v := range kids {
				cv := clone(v)
				c.kids[k], c.skids[k] = cv, cv
			}
			return c
		}
		data := n.synced
		if d == KeepAll {
			data = n.data
		}
		c := &node{data: bytes.Clone(data), synced: bytes.Clone(data)}
		seen[n] = c
		return c
	}
	return &MemFS{root: clone(m.root), crashAt: -1, chunk: m.chunk}
}

// SyncAll makes everything durable (a clean shutdown).
func (m *MemFS) SyncAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	var walk func(n *node)
	walk = func(n *node) {
		if !n.dir {
			n.synced = bytes.Clone(n.data)
			return
		}
		n.skids = map[string]*node{}
		for k, v := range n.kids {
			n.skids[k] = v
			walk(v)
		}
	}
	walk(m.root)
}

// WriteFile creates or replaces name with data, durably, making parent
// directories: test setup, not counted as an operation.
func (m *MemFS) WriteFile(name string, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir := m.root
	parts := strings.Split(name, "/")
	for _, p := range parts[:len(parts)-1] {
		k, ok := dir.kids[p]
		if !ok {
			k = newDir()
			dir.kids[p], dir.skids[p] = k, k
		}
		dir = k
	}
	n := &node{data: bytes.Clone(data), synced: bytes.Clone(data)}
	dir.kids[parts[len(parts)-1]], dir.skids[parts[len(parts)-1]] = n, n
}

// ReadFile returns a file's current content.
func (m *MemFS) ReadFile(name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup("read", name)
	if err != nil {
		return nil, err
	}
	if n.dir {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	}
	return bytes.Clone(n.data), nil
}

// Files lists every file path, sorted.
func (m *MemFS) Files() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	var walk func(p string, n *node)
	walk = func(p string, n *node) {
		for k, v := range n.kids {
			q := k
			if p != "" {
				q = p + "/" + k
			}
			if v.dir {
				walk(q, v)
			} else {
				out = append(out, q)
			}
		}
	}
	walk("", m.root)
	sort.Strings(out)
	return out
}

func (m *MemFS) lookup(op, name string) (*node, error) {
	if name == "." || name == "" {
		return m.root, nil
	}
	n := m.root
	for _, p := range strings.Split(name, "/") {
		if !n.dir {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		k, ok := n.kids[p]
		if !ok {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		n = k
	}
	return n, nil
}

func (m *MemFS) parent(op, name string) (*node, string, error) {
	d, err := m.lookup(op, path.Dir(name))
	if err != nil {
		return nil, "", err
	}
	if !d.dir {
		return nil, "", &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return d, path.Base(name), nil
}

func (m *MemFS) Open(name string) (fs.File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup("open", name)
	if err != nil {
		return nil, err
	}
	return &openFile{Reader: bytes.NewReader(bytes.Clone(n.data)), info: info{path.Base(name), n}}, nil
}

func (m *MemFS) ReadDir(name string) ([]fs.DirEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if !n.dir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	var out []fs.DirEntry
	for k, v := range n.kids {
		out = append(out, fs.FileInfoToDirEntry(info{k, v}))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

func (m *MemFS) Stat(name string) (fs.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return info{path.Base(name), n}, nil
}

func (m *MemFS) Create(name string) (esp.File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.step(); err != nil {
		return nil, err
	}
	d, base, err := m.parent("create", name)
	if err != nil {
		return nil, err
	}
	if _, ok := d.kids[base]; ok {
		return nil, &fs.PathError{Op: "create", Path: name, Err: fs.ErrExist}
	}
	n := &node{}
	d.kids[base] = n
	return &memFile{m: m, n: n}, nil
}

func (m *MemFS) Mkdir(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.step(); err != nil {
		return err
	}
	d, base, err := m.parent("mkdir", name)
	if err != nil {
		return err
	}
	if _, ok := d.kids[base]; ok {
		return &fs.PathError{Op: "mkdir", Path: name, Err: fs.ErrExist}
	}
	d.kids[base] = newDir()
	return nil
}

func (m *MemFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.step(); err != nil {
		return err
	}
	d, base, err := m.parent("remove", name)
	if err != nil {
		return err
	}
	n, ok := d.kids[base]
	if !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	if n.dir && len(n.kids) > 0 {
		return &fs.PathError{Op: "remove", Path: name, Err: errors.New("directory not empty")}
	}
	delete(d.kids, base)
	return nil
}

func (m *MemFS) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.step(); err != nil {
		return err
	}
	od, ob, err := m.parent("rename", oldname)
	if err != nil {
		return err
	}
	nd, nb, err := m.parent("rename", newname)
	if err != nil {
		return err
	}
	n, ok := od.kids[ob]
	if !ok {
		return &fs.PathError{Op: "rename", Path: oldname, Err: fs.ErrNotExist}
	}
	delete(od.kids, ob)
	nd.kids[nb] = n
	return nil
}

func (m *MemFS) Sync(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.step(); err != nil {
		return err
	}
	n, err := m.lookup("sync", name)
	if err != nil {
		return err
	}
	if n.dir {
		n.skids = map[string]*node{}
		for k, v := range n.kids {
			n.skids[k] = v
		}
	} else {
		n.synced = bytes.Clone(n.data)
	}
	return nil
}

type memFile struct {
	m      *MemFS
	n      *node
	closed bool
}

func (f *memFile) Write(b []byte) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if f.closed {
		return 0, fs.ErrClosed
	}
	n := 0
	for n < len(b) || len(b) == 0 {
		if err := f.m.step(); err != nil {
			return n, err
		}
		k := len(b) - n
		if f.m.chunk > 0 && k > f.m.chunk {
			k = f.m.chunk
		}
		f.n.data = append(f.n.data, b[n:n+k]...)
		n += k
		if len(b) == 0 {
			break
		}
	}
	return n, nil
}

func (f *memFile) Sync() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.m.step(); err != nil {
		return err
	}
	f.n.synced = bytes.Clone(f.n.data)
	return nil
}

func (f *memFile) Close() error { f.closed = true; return nil }

type openFile struct {
	*bytes.Reader
	info info
}

func (f *openFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *openFile) Close() error               { return nil }

var _ io.Reader = (*openFile)(nil)

type info struct {
	name string
	n    *node
}

func (i info) Name() string { return i.name }
func (i info) Size() int64  { return int64(len(i.n.data)) }
func (i info) Mode() fs.FileMode {
	if i.n.dir {
		return fs.ModeDir | esp.DirMode
	}
	return esp.FileMode
}
func (i info) ModTime() time.Time { return time.Time{} }
func (i info) IsDir() bool        { return i.n.dir }
func (i info) Sys() any           { return nil }
