package rootfs_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"testing/fstest"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func headersByPath(t *testing.T, archive []byte) (map[string]rootfs.Header, map[string][]byte) {
	hs, data := readAll(t, archive)
	m := map[string]rootfs.Header{}
	for _, h := range hs {
		m[h.Path] = h
	}
	return m, data
}

// A host tree keeps symlinks, detects hard links, and carries FIFOs,
// sockets, devices (as root) and, on request, owners.
func TestAddHostDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "bin"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bin", "busybox"), []byte("elf"), 0o755))
	require.NoError(t, os.Link(filepath.Join(dir, "bin", "busybox"), filepath.Join(dir, "bin", "ash")))
	require.NoError(t, os.Symlink("bin/busybox", filepath.Join(dir, "init")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o640))
	l, err := net.Listen("unix", filepath.Join(dir, "sock"))
	require.NoError(t, err)
	defer l.Close()
	root := os.Geteuid() == 0
	if root {
		require.NoError(t, syscall.Mknod(filepath.Join(dir, "null"), syscall.S_IFCHR|0o666, 1<<8|3))
		require.NoError(t, os.Lchown(filepath.Join(dir, "bin", "busybox"), 1000, 1001))
	}

	for _, keep := range []bool{false, true} {
		b := rootfs.New(nil)
		require.NoError(t, b.AddHostDir(t.Context(), dir, &rootfs.TreeOptions{KeepOwners: keep}))
		var buf bytes.Buffer
		_, err := b.WriteTo(&buf)
		require.NoError(t, err)
		m, data := headersByPath(t, buf.Bytes())
		assert.Equal(t, rootfs.TypeSymlink, m["/init"].Type)
		assert.Equal(t, "bin/busybox", m["/init"].Linkname)
		assert.Equal(t, m["/bin/ash"].Ino, m["/bin/busybox"].Ino)
		assert.Equal(t, uint32(2), m["/bin/ash"].Nlink)
		assert.Equal(t, "elf", string(data["/bin/busybox"]), "data goes with the last name")
		assert.Equal(t, rootfs.TypeFIFO, m["/fifo"].Type)
		assert.Equal(t, uint32(0o640), m["/fifo"].Mode)
		assert.Equal(t, rootfs.TypeSocket, m["/sock"].Type)
		if root {
			assert.Equal(t, rootfs.TypeChar, m["/null"].Type)
			assert.Equal(t, [2]uint32{1, 3}, [2]uint32{m["/null"].Major, m["/null"].Minor})
			if keep {
				assert.Equal(t, [2]uint32{1000, 1001}, [2]uint32{m["/bin/ash"].UID, m["/bin/ash"].GID})
			} else {
				assert.Equal(t, [2]uint32{0, 0}, [2]uint32{m["/bin/ash"].UID, m["/bin/ash"].GID})
			}
		}
	}
}

// AddFS with a prefix and a hook that fixes modes and skips a directory.
func TestAddFSHookAndPrefix(t *testing.T) {
	fsys := fstest.MapFS{
		"app/run":       {Data: []byte("#!/bin/sh\n"), Mode: 0o444},
		"app/conf.json": {Data: []byte("{}"), Mode: 0o444},
		"skip/secret":   {Data: []byte("x"), Mode: 0o400},
	}
	b := rootfs.New(&rootfs.Options{AllowNoInit: true})
	require.NoError(t, b.AddFS(t.Context(), fsys, &rootfs.TreeOptions{Prefix: "/opt/vendor", Hook: func(e *rootfs.Entry) bool {
		if e.Path == "/opt/vendor/skip" {
			return false
		}
		if e.Path == "/opt/vendor/app/run" {
			e.Mode = 0o755
		}
		return true
	}}))
	var buf bytes.Buffer
	_, err := b.WriteTo(&buf)
	require.NoError(t, err)
	m, data := headersByPath(t, buf.Bytes())
	assert.Equal(t, uint32(0o755), m["/opt/vendor/app/run"].Mode)
	assert.Equal(t, uint32(0o444), m["/opt/vendor/app/conf.json"].Mode)
	assert.Equal(t, "{}", string(data["/opt/vendor/app/conf.json"]))
	assert.NotContains(t, m, "/opt/vendor/skip/secret")
	assert.Equal(t, rootfs.TypeDir, m["/opt"].Type, "implied parent")
}

// Layering: a later add replaces an earlier one; Remove drops a subtree.
func TestLayeringAndRemove(t *testing.T) {
	b := withInit(t, rootfs.New(nil))
	require.NoError(t, b.AddFile(rootfs.Entry{Path: "/etc/motd", Mode: 0o644}, []byte("one")))
	require.NoError(t, b.AddFile(rootfs.Entry{Path: "etc//motd/", Mode: 0o600}, []byte("two")))
	require.NoError(t, b.AddFile(rootfs.Entry{Path: "/var/cache/x", Mode: 0o600}, []byte("x")))
	assert.True(t, b.Remove("/var"))
	assert.False(t, b.Remove("/nope"))
	assert.Equal(t, 2, b.Len())
	var buf bytes.Buffer
	_, err := b.WriteTo(&buf)
	require.NoError(t, err)
	m, data := headersByPath(t, buf.Bytes())
	assert.Equal(t, "two", string(data["/etc/motd"]))
	assert.Equal(t, uint32(0o600), m["/etc/motd"].Mode)
	assert.NotContains(t, m, "/var")
}

type failWriter struct{ left int }

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.left {
		n := f.left
		f.left = 0
		return n, errors.New("disk full")
	}
	f.left -= len(p)
	return len(p), nil
}

// A failing writer stops the build with its error, for every compression.
func TestWriterErrorPropagates(t *testing.T) {
	for _, c := range compressions {
		b := withInit(t, rootfs.New(&rootfs.Options{Compression: c}))
		require.NoError(t, b.AddFile(rootfs.Entry{Path: "/r", Mode: 0o644}, testutil.RandomBytes(5, 4<<20)))
		_, err := b.WriteTo(&failWriter{left: 1000})
		require.Error(t, err, "compression %s", c)
	}
	_, err := rootfs.Concat(&failWriter{left: 10}, bytes.NewReader(make([]byte, 100)))
	require.Error(t, err)
	_, err = rootfs.Concat(io.Discard, iotestErrReader{})
	require.Error(t, err)
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("boom") }
