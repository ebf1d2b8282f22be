package rootfs_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	initOnce sync.Once
	initBin  []byte
)

func testInit(t *testing.T) []byte {
	initOnce.Do(func() { initBin = testutil.BuildStaticInit(t, testutil.TestInitPackage) })
	if initBin == nil {
		t.Fatal("test init was not built")
	}
	return initBin
}

// bootBase is the initramfs the boot tests use: the test /init, a console,
// a device node, a hard-link pair, a uid-1000 file and a 1777 directory.
func bootBase(t *testing.T, c rootfs.Compression, motd string) []byte {
	b := rootfs.New(&rootfs.Options{ModTime: epoch, Compression: c})
	require.NoError(t, b.AddFile(rootfs.Entry{Path: "/init", Mode: 0o755}, testInit(t)))
	for _, e := range []rootfs.Entry{
		{Path: "/dev/console", Type: rootfs.TypeChar, Mode: 0o600, Major: 5, Minor: 1},
		{Path: "/nodes/tty", Type: rootfs.TypeChar, Mode: 0o620, GID: 5, Major: 5, Minor: 1},
		{Path: "/nodes/disk", Type: rootfs.TypeBlock, Mode: 0o660, GID: 6, Major: 8, Minor: 17},
		{Path: "/tmp", Type: rootfs.TypeDir, Mode: 0o1777},
		{Path: "/data/b", Type: rootfs.TypeHardlink, Linkname: "/data/a"},
	} {
		require.NoError(t, b.Add(e))
	}
	require.NoError(t, b.AddFile(rootfs.Entry{Path: "/data/a", Mode: 0o644}, []byte("linked\n")))
	require.NoError(t, b.AddFile(rootfs.Entry{Path: "/home/user/file", Mode: 0o640, UID: 1000, GID: 1000}, []byte("mine")))
	require.NoError(t, b.AddFile(rootfs.Entry{Path: "/etc/motd", Mode: 0o644}, []byte(motd)))
	var buf bytes.Buffer
	_, err := b.WriteTo(&buf)
	require.NoError(t, err)
	return buf.Bytes()
}

var statLine = regexp.MustCompile(`STAT (\S+) mode=(\d+) uid=(\d+) gid=(\d+) nlink=(\d+) ino=(\d+) rdev=(\d+,\d+) size=(\d+)`)

// boot boots initrd and returns STAT fields by path and CAT lines by path.
func boot(t *testing.T, initrd []byte) (map[string][]string, map[string]string) {
	kernel := testutil.TestKernel(t)
	path := filepath.Join(t.TempDir(), "initrd")
	require.NoError(t, os.WriteFile(path, initrd, 0o644))
	nonce := testutil.NewNonce()
	res := testutil.Boot(t, testutil.BootOptions{
		Firmware: testutil.DirectKernel, Kernel: kernel, Initrd: path,
		Append: fmt.Sprintf("fogkit.nonce=%s fogkit.stat=/nodes/tty,/nodes/disk,/data/a,/data/b,/home/user/file,/tmp fogkit.cat=/etc/motd rdinit=/init", nonce),
		Marker: testutil.BootMarker(nonce),
	})
	stats := map[string][]string{}
	cats := map[string]string{}
	for _, line := range strings.Split(res.Console, "\n") {
		line = strings.TrimRight(line, "\r")
		if m := statLine.FindStringSubmatch(line); m != nil {
			stats[m[1]] = m[2:]
		}
		if rest, ok := strings.CutPrefix(line, "CAT /etc/motd "); ok {
			cats["/etc/motd"] = rest
		}
	}
	return stats, cats
}

func checkStats(t *testing.T, stats map[string][]string) {
	t.Helper()
	// fields: mode uid gid nlink ino rdev size
	want := map[string][]string{
		"/nodes/tty":      {"20620", "0", "5", "1", "", "5,1", "0"},
		"/nodes/disk":     {"60660", "0", "6", "1", "", "8,17", "0"},
		"/data/a":         {"100644", "0", "0", "2", "", "0,0", "7"},
		"/data/b":         {"100644", "0", "0", "2", "", "0,0", "7"},
		"/home/user/file": {"100640", "1000", "1000", "1", "", "0,0", "4"},
		"/tmp":            {"41777", "0", "0", "", "", "0,0", ""},
	}
	for p, w := range want {
		got, ok := stats[p]
		if !assert.True(t, ok, "no STAT line for %s", p) {
			continue
		}
		for i, v := range w {
			if v != "" {
				assert.Equal(t, v, got[i], "%s field %d (mode uid gid nlink ino rdev size)", p, i)
			}
		}
	}
	if a, b := stats["/data/a"], stats["/data/b"]; a != nil && b != nil {
		assert.Equal(t, a[4], b[4], "hard links share an inode in the guest")
	}
}

// The cloud kernel boots our initramfs to the test /init, for every
// compression, and the guest sees the modes, owners, devices and links.
func TestBootInitramfs(t *testing.T) {
	testutil.TestKernel(t)
	testutil.RequireTool(t, "qemu-system-x86_64")
	for _, c := range []rootfs.Compression{rootfs.CompressNone, rootfs.CompressGzip, rootfs.CompressZstd} {
		t.Run(string(c), func(t *testing.T) {
			stats, cats := boot(t, bootBase(t, c, "base\n"))
			checkStats(t, stats)
			assert.Equal(t, `base\n`, cats["/etc/motd"])
		})
	}
}

// A compressed base followed by an uncompressed overlay: the overlay's
// file wins in the guest.
func TestBootConcatOverlayWins(t *testing.T) {
	testutil.TestKernel(t)
	testutil.RequireTool(t, "qemu-system-x86_64")
	for _, c := range []rootfs.Compression{rootfs.CompressGzip, rootfs.CompressZstd} {
		t.Run(string(c), func(t *testing.T) {
			base := bootBase(t, c, "base\n")
			ov := rootfs.New(&rootfs.Options{ModTime: epoch, AllowNoInit: true})
			require.NoError(t, ov.AddFile(rootfs.Entry{Path: "/etc/motd", Mode: 0o644}, []byte("overlay\n")))
			var ob, all bytes.Buffer
			_, err := ov.WriteTo(&ob)
			require.NoError(t, err)
			_, err = rootfs.Concat(&all, bytes.NewReader(base), bytes.NewReader(ob.Bytes()))
			require.NoError(t, err)

			// Our reader sees both members, the overlay last.
			hs, data := readAll(t, all.Bytes())
			last := hs[len(hs)-1]
			assert.Equal(t, "/etc/motd", last.Path)
			assert.Equal(t, 1, last.Member)
			assert.Equal(t, "overlay\n", string(data["/etc/motd"]))

			stats, cats := boot(t, all.Bytes())
			checkStats(t, stats)
			assert.Equal(t, `overlay\n`, cats["/etc/motd"])
		})
	}
}
