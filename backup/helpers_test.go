package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/sign"
)

var testPass = []byte("correct horse battery staple")

var (
	keyOnce sync.Once
	testKey *sign.OpenPGPSigner
)

// customerKey is the customer's OpenPGP key (generated once per run).
func customerKey(t testing.TB) *sign.OpenPGPSigner {
	keyOnce.Do(func() {
		k, err := sign.GenerateOpenPGP("Customer", "ops@customer.example", sign.PurposeUpdate, nil)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

var fixedTime = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

// makeTree builds a small data tree with every kind of entry Write
// stores, plus some it skips.
func makeTree(t testing.TB, dir string) {
	t.Helper()
	w := func(rel string, data []byte, mode os.FileMode) {
		p := filepath.Join(dir, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, data, mode))
		require.NoError(t, os.Chmod(p, mode))
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	w("config/app.yaml", []byte("listen: :8443\n"), 0o640)
	w("config/empty", nil, 0o600)
	w("db/data.bin", pseudoRandom(9<<20+17, 1), 0o600)
	w("db/tool", []byte("#!/bin/sh\n"), 0o4755)
	w("uploads/a b ü.txt", []byte("unicode name"), 0o644)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "empty-dir"), 0o700))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "cache/tmp"), 0o755))
	w("cache/tmp/x", []byte("excluded"), 0o644)
	require.NoError(t, os.Chmod(filepath.Join(dir, "db"), 0o750))
	require.NoError(t, os.Symlink("config/app.yaml", filepath.Join(dir, "current.yaml")))
	require.NoError(t, os.Symlink("../config", filepath.Join(dir, "db/cfg")))
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(dir, "abs-link")))
	require.NoError(t, os.Symlink("../../outside", filepath.Join(dir, "db/escape")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600))
	// Fixed times, deepest first.
	var paths []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		paths = append(paths, p)
		return nil
	})
	sort.Sort(sort.Reverse(sort.StringSlice(paths)))
	for i, p := range paths {
		tm := fixedTime.Add(time.Duration(i) * time.Hour)
		_ = os.Chtimes(p, tm, tm) // follows symlinks: harmless here
	}
}

// pseudoRandom is n deterministic incompressible bytes.
func pseudoRandom(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// snapshot describes a tree: every entry's type, mode, owner, size,
// content digest, link target and modification time.
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		s := fmt.Sprintf("%v uid %d gid %d", fi.Mode(), st.Uid, st.Gid)
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			s += fmt.Sprintf(" size %d sha %s mtime %s", len(b), hex.EncodeToString(sum[:8]), fi.ModTime().UTC().Format(time.RFC3339Nano))
		case fi.IsDir():
			s += " mtime " + fi.ModTime().UTC().Format(time.RFC3339Nano)
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			s += " -> " + l
		}
		out[rel] = s
		return nil
	})
	require.NoError(t, err)
	return out
}

// stored is the part of snapshot a backup carries: no skipped or excluded
// entries.
func stored(snap map[string]string, drop ...string) map[string]string {
	out := map[string]string{}
	for k, v := range snap {
		keep := true
		for _, d := range drop {
			if k == d || strings.HasPrefix(k, d+"/") {
				keep = false
			}
		}
		if keep {
			out[k] = v
		}
	}
	return out
}

// leftovers lists staging directories left beside dir.
func leftovers(t testing.TB, dir string) []string {
	m, err := filepath.Glob(dir + ".restore-*")
	require.NoError(t, err)
	m2, err := filepath.Glob(dir + ".old-*")
	require.NoError(t, err)
	return append(m, m2...)
}

func testOptions(dir string) *Options {
	return &Options{
		Product: "acme-vault", Version: "2.4.0", Sequence: 24, Schema: 7,
		Dir: dir, Exclude: []string{"cache"}, Passphrase: testPass,
		Now:     func() time.Time { return fixedTime },
		Streams: []Stream{{Name: "db.sql", Open: staticStream("-- dump\nCREATE TABLE t (x int);\n")}},
	}
}

func staticStream(s string) func(context.Context) (io.ReadCloser, error) {
	return func(context.Context) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(s)), nil }
}
