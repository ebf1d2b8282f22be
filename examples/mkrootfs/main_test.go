package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/fogkit/fogkit/rootfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDemoIsReproducible(t *testing.T) {
	dir := t.TempDir()
	var sums []string
	for _, name := range []string{"a.cpio.zst", "b.cpio.zst"} {
		var out bytes.Buffer
		require.NoError(t, run([]string{"-compress", "zstd", "-epoch", "1700000000", "-o", filepath.Join(dir, name)}, &out, &out))
		m := regexp.MustCompile(`: (\d+) entries, \d+ bytes .* sha256 ([0-9a-f]{64})\n$`).FindStringSubmatch(out.String())
		require.NotNil(t, m, out.String())
		assert.Equal(t, "12", m[1])
		sums = append(sums, m[2])
	}
	assert.Equal(t, sums[0], sums[1])

	f, err := os.Open(filepath.Join(dir, "a.cpio.zst"))
	require.NoError(t, err)
	defer f.Close()
	hs, err := rootfs.List(f, nil)
	require.NoError(t, err)
	byPath := map[string]rootfs.Header{}
	for _, h := range hs {
		byPath[h.Path] = h
		assert.Equal(t, int64(1700000000), h.ModTime.Unix())
	}
	assert.Equal(t, uint32(0o755), byPath["/init"].Mode)
	assert.Equal(t, rootfs.TypeChar, byPath["/dev/console"].Type)
	assert.Equal(t, "busybox", byPath["/bin/sh"].Linkname)
	assert.Equal(t, byPath["/etc/motd"].Ino, byPath["/etc/issue"].Ino)
}

func TestSpecAndDir(t *testing.T) {
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	require.NoError(t, os.MkdirAll(filepath.Join(tree, "etc"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(tree, "init"), []byte("#!/bin/sh\n"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(tree, "etc", "motd"), []byte("tree\n"), 0o644))
	t.Setenv("MKROOTFS_TEST_SRC", tree)
	spec := filepath.Join(dir, "list")
	require.NoError(t, os.WriteFile(spec, []byte("nod /dev/console 0600 0 0 c 5 1\nfile /etc/motd ${MKROOTFS_TEST_SRC}/init 0644 0 0\n"), 0o644))
	var out bytes.Buffer
	outFile := filepath.Join(dir, "r.cpio")
	require.NoError(t, run([]string{"-dir", tree, "-spec", spec, "-compress", "none", "-o", outFile}, &out, &out))
	f, err := os.Open(outFile)
	require.NoError(t, err)
	defer f.Close()
	hs, err := rootfs.List(f, nil)
	require.NoError(t, err)
	assert.Len(t, hs, 5) // dev, dev/console, etc, etc/motd, init
}

func TestBadUsage(t *testing.T) {
	for _, args := range [][]string{{"-compress", "xz"}, {"-bogus"}, {"extra"}, {"-epoch", "-5"}} {
		var out bytes.Buffer
		err := run(args, &out, &out)
		var ue usageError
		assert.True(t, errors.As(err, &ue), "%v: %v", args, err)
	}
	var out bytes.Buffer
	err := run([]string{"-dir", t.TempDir(), "-o", filepath.Join(t.TempDir(), "x")}, &out, &out)
	require.ErrorIs(t, err, rootfs.ErrNoInit)
}
