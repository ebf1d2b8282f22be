package rootfs_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/stretchr/testify/require"
)

// hostTree makes the same logical tree under dir: files created in the
// given order, host mtimes from mtime, and the process umask set to umask
// while creating (modes are then set explicitly, as a checkout would).
func hostTree(t *testing.T, dir string, reverse bool, mtime time.Time, umask int) {
	t.Helper()
	old := syscall.Umask(umask)
	defer syscall.Umask(old)
	type f struct {
		path string
		mode os.FileMode
		data []byte
	}
	var files []f
	for i := 0; i < 40; i++ {
		files = append(files, f{fmt.Sprintf("d%d/sub%d/file%02d", i%3, i%2, i), 0o644, testutil.TextBytes(uint64(i), 1000+i*997)})
	}
	files = append(files,
		f{"init", 0o755, []byte("#!/bin/sh\nexec /bin/sh\n")},
		f{"bin/tool", 0o4755, testutil.RandomBytes(9, 70000)})
	if reverse {
		for i, j := 0, len(files)-1; i < j; i, j = i+1, j-1 {
			files[i], files[j] = files[j], files[i]
		}
	}
	for _, x := range files {
		p := filepath.Join(dir, x.path)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o777))
		require.NoError(t, os.WriteFile(p, x.data, 0o666))
		require.NoError(t, os.Chmod(p, x.mode))
	}
	require.NoError(t, os.Symlink("../init", filepath.Join(dir, "bin", "init-link")))
	require.NoError(t, os.Link(filepath.Join(dir, "bin/tool"), filepath.Join(dir, "bin/tool2")))
	require.NoError(t, filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() {
			require.NoError(t, os.Chmod(p, 0o755))
		}
		return os.Chtimes(p, mtime, mtime)
	}))
}

func buildHost(t *testing.T, dir string, c rootfs.Compression, workers int, reverseAdds bool) []byte {
	t.Helper()
	b := rootfs.New(&rootfs.Options{ModTime: epoch, Compression: c, Workers: workers})
	extra := []rootfs.Entry{
		{Path: "/dev/console", Type: rootfs.TypeChar, Mode: 0o600, Major: 5, Minor: 1},
		{Path: "/tmp", Type: rootfs.TypeDir, Mode: 0o1777},
		{Path: "/etc/hostname", Type: rootfs.TypeHardlink, Linkname: "/bin/tool"},
	}
	if reverseAdds {
		for i := len(extra) - 1; i >= 0; i-- {
			require.NoError(t, b.Add(extra[i]))
		}
		require.NoError(t, b.AddHostDir(t.Context(), dir, nil))
	} else {
		require.NoError(t, b.AddHostDir(t.Context(), dir, nil))
		for _, e := range extra {
			require.NoError(t, b.Add(e))
		}
	}
	var buf bytes.Buffer
	_, err := b.WriteTo(&buf)
	require.NoError(t, err)
	return buf.Bytes()
}

// Build twice with different TZ, umask, host mtimes, creation and add
// order, GOMAXPROCS and worker counts: identical bytes for every
// compression. The second build runs in a child process, so that its time
// zone, GOMAXPROCS and umask really differ from the first.
func TestBuildTwiceIdentical(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	hostTree(t, d1, false, time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), 0o022)
	hostTree(t, d2, true, time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC), 0o077)
	outDir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBuildTwiceHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "FOGKIT_ROOTFS_HELPER_TREE="+d2, "FOGKIT_ROOTFS_HELPER_OUT="+outDir,
		"TZ=Pacific/Auckland", "GOMAXPROCS=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "PASS")
	for _, c := range compressions {
		a := buildHost(t, d1, c, 0, false)
		b, err := os.ReadFile(filepath.Join(outDir, string(c)))
		require.NoError(t, err)
		require.Equal(t, sum(a), sum(b), "compression %s", c)
		hs, _ := readAll(t, a)
		require.Greater(t, len(hs), 45)
	}
}

var compressions = []rootfs.Compression{rootfs.CompressNone, rootfs.CompressGzip, rootfs.CompressZstd}

// TestBuildTwiceHelper is the child of TestBuildTwiceIdentical.
func TestBuildTwiceHelper(t *testing.T) {
	tree, out := os.Getenv("FOGKIT_ROOTFS_HELPER_TREE"), os.Getenv("FOGKIT_ROOTFS_HELPER_OUT")
	if tree == "" || out == "" {
		return // only meaningful as the child process
	}
	syscall.Umask(0o077)
	require.Equal(t, 1, runtime.GOMAXPROCS(0))
	for _, c := range compressions {
		// Reverse add order; 3 workers where the parent uses GOMAXPROCS.
		b := buildHost(t, tree, c, 3, true)
		require.NoError(t, os.WriteFile(filepath.Join(out, string(c)), b, 0o644))
	}
}

// The compressors' output depends on the input only, not on the number of
// workers, also for inputs spanning many parallel jobs.
func TestCompressionIndependentOfWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	// 40 MB: more than one zstd job (4 × 8 MiB window) and many gzip blocks.
	content := append(testutil.TextBytes(11, 30<<20), testutil.RandomBytes(12, 10<<20)...)
	for _, c := range []rootfs.Compression{rootfs.CompressGzip, rootfs.CompressZstd} {
		t.Run(string(c), func(t *testing.T) {
			var sums []string
			for _, w := range []int{1, 2, 5} {
				b := rootfs.New(&rootfs.Options{Compression: c, Workers: w, AllowNoInit: true})
				require.NoError(t, b.AddFile(rootfs.Entry{Path: "/big", Mode: 0o644}, content))
				var buf bytes.Buffer
				_, err := b.WriteTo(&buf)
				require.NoError(t, err)
				sums = append(sums, sum(buf.Bytes()))
				if w == 1 {
					_, data := readAll(t, buf.Bytes())
					require.True(t, bytes.Equal(content, data["/big"]))
					// The reference decompressor agrees on a multi-job stream.
					tool := testutil.RequireTool(t, map[rootfs.Compression]string{rootfs.CompressGzip: "gzip", rootfs.CompressZstd: "zstd"}[c])
					plain := testutil.MustRun(t, "", buf.Bytes(), tool, "-dcq")
					_, data = readAll(t, plain)
					require.True(t, bytes.Equal(content, data["/big"]))
				}
			}
			require.Equal(t, sums[0], sums[1])
			require.Equal(t, sums[0], sums[2])
		})
	}
}
