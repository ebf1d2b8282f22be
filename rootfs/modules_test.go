package rootfs

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"
	"github.com/ulikunitz/xz"

	"github.com/fogkit/fogkit/internal/testutil"
)

// fakeModule returns a minimal ELF64 relocatable object whose .modinfo
// section holds the given key=value strings: all AddModules reads.
func fakeModule(info ...string) []byte {
	var modinfo bytes.Buffer
	for _, kv := range info {
		modinfo.WriteString(kv)
		modinfo.WriteByte(0)
	}
	shstr := []byte("\x00.modinfo\x00.shstrtab\x00")
	const ehsize, shentsize = 64, 64
	modOff := uint64(ehsize)
	strOff := modOff + uint64(modinfo.Len())
	shOff := (strOff + uint64(len(shstr)) + 7) &^ 7
	var b bytes.Buffer
	le := binary.LittleEndian
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0})
	b.Write(make([]byte, 8))
	binary.Write(&b, le, uint16(1))  // ET_REL
	binary.Write(&b, le, uint16(62)) // EM_X86_64
	binary.Write(&b, le, uint32(1))
	binary.Write(&b, le, uint64(0)) // entry
	binary.Write(&b, le, uint64(0)) // phoff
	binary.Write(&b, le, shOff)
	binary.Write(&b, le, uint32(0))
	binary.Write(&b, le, uint16(ehsize))
	binary.Write(&b, le, uint16(0)) // phentsize
	binary.Write(&b, le, uint16(0)) // phnum
	binary.Write(&b, le, uint16(shentsize))
	binary.Write(&b, le, uint16(3)) // shnum
	binary.Write(&b, le, uint16(2)) // shstrndx
	b.Write(modinfo.Bytes())
	b.Write(shstr)
	b.Write(make([]byte, int(shOff)-b.Len()))
	sh := func(name, typ uint32, off, size uint64) {
		binary.Write(&b, le, name)
		binary.Write(&b, le, typ)
		binary.Write(&b, le, uint64(0)) // flags
		binary.Write(&b, le, uint64(0)) // addr
		binary.Write(&b, le, off)
		binary.Write(&b, le, size)
		binary.Write(&b, le, uint32(0))
		binary.Write(&b, le, uint32(0))
		binary.Write(&b, le, uint64(1))
		binary.Write(&b, le, uint64(0))
	}
	sh(0, 0, 0, 0)
	sh(1, 1, modOff, uint64(modinfo.Len())) // .modinfo, PROGBITS
	sh(10, 3, strOff, uint64(len(shstr)))   // .shstrtab, STRTAB
	return b.Bytes()
}

func xzBytes(t *testing.T, p []byte) []byte {
	var b bytes.Buffer
	w, err := xz.NewWriter(&b)
	require.NoError(t, err)
	_, err = w.Write(p)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

func zstBytes(t *testing.T, p []byte) []byte {
	e, err := zstd.NewWriter(nil)
	require.NoError(t, err)
	return e.EncodeAll(p, nil)
}

func gzBytes(t *testing.T, p []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, err := w.Write(p)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

// moduleTree is a small kernel module tree: virtio_blk needs virtio and
// virtio_ring; virtio is built in; vfat needs fat; nls_iso8859-1 has a
// dash in its file name; the modules come in every compression.
func moduleTree(t *testing.T) fstest.MapFS {
	f := func(b []byte) *fstest.MapFile { return &fstest.MapFile{Data: b, Mode: 0o644} }
	return fstest.MapFS{
		"kernel/drivers/block/virtio_blk.ko.xz": f(xzBytes(t, fakeModule("license=GPL", "depends=virtio,virtio_ring", "alias=virtio:d00000002v*", "name=virtio_blk"))),
		"kernel/drivers/virtio/virtio_ring.ko":  f(fakeModule("depends=", "name=virtio_ring")),
		"kernel/fs/fat/vfat.ko.zst":             f(zstBytes(t, fakeModule("depends=fat", "alias=fs-vfat", "softdep=pre: nls_cp437 crypto-crc32c post: nls-ascii"))),
		"kernel/fs/nls/nls_cp437.ko":            f(fakeModule("depends=")),
		"kernel/fs/nls/nls_ascii.ko":            f(fakeModule("depends=")),
		"kernel/fs/fat/fat.ko.gz":               f(gzBytes(t, fakeModule("depends="))),
		"kernel/fs/nls/nls_iso8859-1.ko":        f(fakeModule("depends=")),
		"kernel/net/unused.ko":                  f(fakeModule("depends=fat")),
		"kernel/bad/notelf.ko":                  f([]byte("this is not an ELF file")),
		"kernel/bad/cyc_a.ko":                   f(fakeModule("depends=cyc_b")),
		"kernel/bad/cyc_b.ko":                   f(fakeModule("depends=cyc_a")),
		"kernel/bad/needs_missing.ko":           f(fakeModule("depends=nowhere")),
		"modules.builtin":                       f([]byte("kernel/drivers/virtio/virtio.ko\nkernel/fs/ext4/ext4.ko\n")),
	}
}

func TestAddModulesClosureAndIndexes(t *testing.T) {
	b := New(&Options{AllowNoInit: true})
	mods, err := b.AddModules(context.Background(), moduleTree(t), []string{"vfat", "virtio_blk", "nls_iso8859-1", "ext4", "vfat"}, &ModuleOptions{Release: "6.1.0-test"})
	require.NoError(t, err)
	var names []string
	for _, m := range mods {
		names = append(names, m.Name)
	}
	// Each module after its dependencies, ties by requested name order
	// (sorted), built-ins included but without a file.
	require.Equal(t, []string{"ext4", "nls_iso8859_1", "fat", "nls_cp437", "vfat", "nls_ascii", "virtio", "virtio_ring", "virtio_blk"}, names)
	require.True(t, mods[0].Builtin)
	require.Empty(t, mods[0].Path)
	require.Equal(t, "kernel/drivers/block/virtio_blk.ko", mods[8].Path)

	var buf bytes.Buffer
	_, err = b.WriteTo(&buf)
	require.NoError(t, err)
	got := map[string][]byte{}
	r := NewReader(bytes.NewReader(buf.Bytes()), nil)
	for {
		e, err := r.Next()
		if err != nil {
			break
		}
		if e.Type == TypeFile {
			data := make([]byte, e.Size)
			_, err := io.ReadFull(r, data)
			require.NoError(t, err)
			got[e.Path] = data
		}
	}
	root := "/lib/modules/6.1.0-test/"
	require.Equal(t, fakeModule("license=GPL", "depends=virtio,virtio_ring", "alias=virtio:d00000002v*", "name=virtio_blk"), got[root+"kernel/drivers/block/virtio_blk.ko"], "stored decompressed")
	require.Contains(t, got, root+"kernel/fs/fat/fat.ko")
	require.NotContains(t, got, root+"kernel/net/unused.ko")
	require.Equal(t, "kernel/fs/nls/nls_iso8859-1.ko:\n"+
		"kernel/fs/fat/fat.ko:\n"+
		"kernel/fs/nls/nls_cp437.ko:\n"+
		"kernel/fs/fat/vfat.ko: kernel/fs/fat/fat.ko\n"+
		"kernel/fs/nls/nls_ascii.ko:\n"+
		"kernel/drivers/virtio/virtio_ring.ko:\n"+
		"kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio_ring.ko\n", string(got[root+"modules.dep"]))
	require.Equal(t, "# Aliases extracted from modules themselves.\nalias fs-vfat vfat\nalias virtio:d00000002v* virtio_blk\n", string(got[root+"modules.alias"]))
	require.Equal(t, "kernel/fs/nls/nls_iso8859-1.ko\nkernel/fs/fat/fat.ko\nkernel/fs/nls/nls_cp437.ko\nkernel/fs/fat/vfat.ko\nkernel/fs/nls/nls_ascii.ko\nkernel/drivers/virtio/virtio_ring.ko\nkernel/drivers/block/virtio_blk.ko\n", string(got[root+"modules.order"]))
	require.Equal(t, "kernel/drivers/virtio/virtio.ko\nkernel/fs/ext4/ext4.ko\n", string(got[root+"modules.builtin"]))
	require.Equal(t, "softdep vfat pre: nls_cp437 crypto-crc32c post: nls-ascii\n", string(got[root+"modules.softdep"]))
}

func TestAddModulesDeterministic(t *testing.T) {
	build := func(names []string) []byte {
		b := New(&Options{AllowNoInit: true})
		_, err := b.AddModules(context.Background(), moduleTree(t), names, &ModuleOptions{Release: "r"})
		require.NoError(t, err)
		var buf bytes.Buffer
		_, err = b.WriteTo(&buf)
		require.NoError(t, err)
		return buf.Bytes()
	}
	require.Equal(t, build([]string{"virtio_blk", "vfat"}), build([]string{"vfat", "virtio-blk", "vfat"}))
}

func TestAddModulesErrors(t *testing.T) {
	cases := map[string]struct {
		names []string
		opts  *ModuleOptions
		want  string
	}{
		"missing":          {[]string{"nosuch"}, &ModuleOptions{Release: "r"}, "not built in"},
		"missing dep":      {[]string{"needs_missing"}, &ModuleOptions{Release: "r"}, "needed by needs_missing"},
		"cycle":            {[]string{"cyc_a"}, &ModuleOptions{Release: "r"}, "cycle"},
		"not elf":          {[]string{"notelf"}, &ModuleOptions{Release: "r"}, "not an ELF module"},
		"too large":        {[]string{"virtio_blk"}, &ModuleOptions{Release: "r", MaxModuleSize: 100}, "larger than 100 bytes"},
		"no release":       {[]string{"vfat"}, nil, "invalid kernel release"},
		"release with dir": {[]string{"vfat"}, &ModuleOptions{Release: "../x"}, "invalid kernel release"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			b := New(&Options{AllowNoInit: true})
			_, err := b.AddModules(context.Background(), moduleTree(t), c.names, c.opts)
			require.ErrorIs(t, err, ErrModule)
			require.ErrorContains(t, err, c.want)
			require.Zero(t, b.Len(), "nothing added on error")
		})
	}
	b := New(&Options{AllowNoInit: true})
	mods, err := b.AddModules(context.Background(), moduleTree(t), []string{"nosuch", "vfat"}, &ModuleOptions{Release: "r", SkipMissing: true})
	require.NoError(t, err)
	require.Len(t, mods, 4, "vfat, fat and its soft dependencies; nosuch skipped")
	_, err = b.AddModules(context.Background(), moduleTree(t), []string{"needs_missing"}, &ModuleOptions{Release: "r", SkipMissing: true})
	require.ErrorIs(t, err, ErrModule, "a missing dependency is still an error")
	_, err = New(nil).AddModules(canceled(), moduleTree(t), []string{"vfat"}, &ModuleOptions{Release: "r"})
	require.ErrorIs(t, err, context.Canceled)
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// TestAddModulesRealKernel resolves the hypervisor drivers against the
// test kernel's own module tree (an unpacked distribution package).
func TestAddModulesRealKernel(t *testing.T) {
	kernel := testutil.RequireFile(t, "test kernel (FOGKIT_TEST_KERNEL)", os.Getenv("FOGKIT_TEST_KERNEL"))
	release := strings.TrimPrefix(filepath.Base(kernel), "vmlinuz-")
	dir := filepath.Join(filepath.Dir(kernel), "..", "lib", "modules", release)
	if _, err := os.Stat(dir); err != nil {
		testutil.Missing(t, "module tree not found at "+dir)
		return
	}
	b := New(&Options{AllowNoInit: true})
	mods, err := b.AddModules(context.Background(), os.DirFS(dir), []string{"virtio_pci", "virtio_blk", "virtio_scsi", "virtio_net", "vfat", "nls_cp437", "nls_iso8859-1"}, &ModuleOptions{Release: release})
	require.NoError(t, err)
	pos := map[string]int{}
	for i, m := range mods {
		pos[m.Name] = i
	}
	for _, m := range mods {
		for _, d := range m.Depends {
			require.Contains(t, pos, d, "%s depends on %s", m.Name, d)
			require.Less(t, pos[d], pos[m.Name], "%s must load after %s", m.Name, d)
		}
	}
	for _, n := range []string{"virtio_blk", "virtio_ring", "fat", "vfat", "nls_iso8859_1"} {
		require.Contains(t, pos, n)
	}
	t.Logf("%d modules resolved for %s", len(mods), release)
}

func TestModuleName(t *testing.T) {
	for in, want := range map[string]string{
		"kernel/fs/nls/nls_iso8859-1.ko.xz": "nls_iso8859_1",
		"virtio-blk":                        "virtio_blk",
		"a.ko.zst":                          "a",
		"b.ko.gz":                           "b",
		"c.ko":                              "c",
	} {
		require.Equal(t, want, ModuleName(in))
	}
}

func FuzzModinfo(f *testing.F) {
	f.Add(fakeModule("depends=a,b", "alias=x"))
	f.Add([]byte("\x7fELF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		mi, err := modinfo(data)
		if err != nil {
			return
		}
		for _, d := range append(append(mi.deps, mi.pre...), mi.post...) {
			if d == "" || strings.Contains(d, ",") {
				t.Fatalf("bad dependency name %q", d)
			}
		}
	})
}

var _ fs.FS = fstest.MapFS{}
