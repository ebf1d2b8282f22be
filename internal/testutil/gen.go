package testutil

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// RandomBytes returns n pseudo-random bytes from seed: the same seed gives
// the same bytes on every machine.
func RandomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TextBytes returns n bytes of compressible, text-like data from seed.
func TextBytes(seed uint64, n int) []byte {
	words := []string{"appliance", "fog", "kit", "disk", "grain", "vmdk", "ova", "license",
		"update", "kernel", "initrd", "the", "and", "of", "a", "to", "\n"}
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, 0, n+16)
	for len(b) < n {
		b = append(b, words[r.IntN(len(words))]...)
		b = append(b, ' ')
	}
	return b[:n]
}

// DiskBytes returns n bytes of disk-like content from seed: stretches of
// 40 KiB up to 40 KiB + spread, in turn text, random bytes, zeros and a
// third text followed by zeros, so that a disk writer sees data to
// compress, data not to compress and blocks to leave out.
func DiskBytes(seed uint64, n, spread int) []byte {
	b := make([]byte, n)
	for off, i := 0, 0; off < n; i++ {
		l := min(n-off, 40<<10+int(seed+uint64(i)*7919)%spread)
		switch i % 4 {
		case 0:
			copy(b[off:], TextBytes(seed+uint64(i), l))
		case 1:
			copy(b[off:], RandomBytes(seed+uint64(i), l))
		case 2: // zeros
		case 3:
			copy(b[off:], TextBytes(seed+uint64(i), l/3))
		}
		off += l
	}
	return b
}

// WriteFile writes data to name in dir and returns its path.
func WriteFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TreeOptions shapes a generated file tree.
type TreeOptions struct {
	Files    int // number of regular files (default 50)
	MaxSize  int // largest file in bytes (default 64 KiB)
	MaxDepth int // deepest directory nesting (default 3)
}

// Tree writes a deterministic tree of directories and files under dir and
// returns the relative paths of the files in creation order. Half the files
// hold text, half random bytes, so compressors see realistic input.
func Tree(t testing.TB, dir string, seed uint64, o *TreeOptions) []string {
	t.Helper()
	opt := TreeOptions{Files: 50, MaxSize: 64 << 10, MaxDepth: 3}
	if o != nil {
		if o.Files > 0 {
			opt.Files = o.Files
		}
		if o.MaxSize > 0 {
			opt.MaxSize = o.MaxSize
		}
		if o.MaxDepth > 0 {
			opt.MaxDepth = o.MaxDepth
		}
	}
	r := rand.New(rand.NewPCG(seed, 42))
	var files []string
	for i := 0; i < opt.Files; i++ {
		depth := r.IntN(opt.MaxDepth + 1)
		p := ""
		for d := 0; d < depth; d++ {
			p = filepath.Join(p, fmt.Sprintf("d%d", r.IntN(4)))
		}
		p = filepath.Join(p, fmt.Sprintf("f%03d.dat", i))
		size := r.IntN(opt.MaxSize + 1)
		var data []byte
		if i%2 == 0 {
			data = TextBytes(seed+uint64(i), size)
		} else {
			data = RandomBytes(seed+uint64(i), size)
		}
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	return files
}
