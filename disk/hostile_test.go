package disk

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/stretchr/testify/require"
)

// The hostile-image tests take a small disk made by Build, patch its FAT
// and directory entries in place, and read it back in a child process
// under an address-space, RSS and CPU ceiling (testutil.Bounded): a reader
// that hashes or scans without bound is killed by the CPU limit or caught
// by the RSS check, and the test fails.

// hostileBounds holds every hostile read to 20 s of CPU and 2 GiB of
// address space, far above what a bounded reader needs for these images.
// Bounded's resident-set check reads the child's rusage, which on Linux
// also counts the parent's resident set when it started the child (the
// address space exec replaced was shared with the parent), so after the
// heavier tests of this package it reads about 180 MiB whatever the child
// does. Its ceiling is therefore loose, and each body checks its own
// high-water mark with requireOwnPeakRSS.
var hostileBounds = testutil.Bounds{AddressSpace: 2 << 30, MaxRSS: 512 << 20, CPU: 20 * time.Second}

// requireOwnPeakRSS fails the (child) test when its own resident high-water
// mark, VmHWM, passed limit bytes. Linux only, as Bounded is.
func requireOwnPeakRSS(t *testing.T, limit int64) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			require.NoError(t, err)
			t.Logf("own peak RSS %d MiB (ceiling %d MiB)", kb>>10, limit>>20)
			require.LessOrEqual(t, kb<<10, limit, "peak resident set")
			return
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
}

// espPatcher edits the ESP of a built image file.
type espPatcher struct {
	t      *testing.T
	f      *os.File
	size   int64
	fs     *fatFS // geometry, and a FAT kept in step with the writes
	fatOff int64  // absolute offset of the first FAT
	fatLen int64  // bytes of one FAT copy
	nfats  int64
	next   uint32              // where alloc looks for a free cluster first
	ents   map[string]fatEntry // the pristine tree, by upper-case path
}

// newESP builds a systemd-boot disk (with extra files, and optionally a
// bigger disk) and opens its ESP for patching.
func newESP(t *testing.T, diskSize int64, extra ...File) *espPatcher {
	t.Helper()
	spec := smallSpec()
	spec.Extra = append(spec.Extra, extra...)
	p := filepath.Join(t.TempDir(), "hostile.raw")
	res, err := BuildFile(t.Context(), spec, p, &Options{Seed: "hostile", DiskSize: diskSize})
	require.NoError(t, err)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	part := res.Layout.Partitions[0]
	fs, err := openFAT(f, part.Offset, part.Size)
	require.NoError(t, err)
	bs := make([]byte, 512)
	_, err = f.ReadAt(bs, part.Offset)
	require.NoError(t, err)
	e := &espPatcher{t: t, f: f, size: res.Layout.Size, fs: fs,
		fatOff: part.Offset + int64(binary.LittleEndian.Uint16(bs[14:]))*fs.bps,
		fatLen: int64(binary.LittleEndian.Uint32(bs[36:])) * fs.bps,
		nfats:  int64(bs[16]), ents: map[string]fatEntry{}}
	require.NoError(t, fs.walk(func(p string, fe fatEntry) error {
		e.ents[strings.ToUpper(p)] = fe
		return nil
	}))
	return e
}

func (e *espPatcher) entry(p string) fatEntry {
	fe, ok := e.ents[strings.ToUpper(p)]
	require.True(e.t, ok, "no %s on the ESP", p)
	return fe
}

// dirCluster is the first cluster of directory p ("" is the root).
func (e *espPatcher) dirCluster(p string) uint32 {
	if p == "" {
		return e.fs.root
	}
	return e.entry(p).cluster
}

// setFAT sets FAT entry c to v in every FAT copy.
func (e *espPatcher) setFAT(c, v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	for i := int64(0); i < e.nfats; i++ {
		_, err := e.f.WriteAt(b[:], e.fatOff+i*e.fatLen+int64(c)*4)
		require.NoError(e.t, err)
	}
	e.fs.fat[c] = v
}

// alloc takes a free cluster, ends a chain with it and zeroes it.
func (e *espPatcher) alloc() uint32 {
	for c := max(e.next, 2); c < e.fs.nclusters+2; c++ {
		if e.fs.fat[c] == 0 {
			e.next = c + 1
			e.setFAT(c, 0x0fffffff)
			_, err := e.f.WriteAt(make([]byte, e.fs.clusterSize), e.fs.clusterOff(c))
			require.NoError(e.t, err)
			return c
		}
	}
	e.t.Fatal("ESP full")
	return 0
}

// lastCluster follows a chain to its end.
func (e *espPatcher) lastCluster(c uint32) uint32 {
	cl, err := e.fs.chain("", c, int64(e.fs.nclusters))
	require.NoError(e.t, err)
	return cl[len(cl)-1]
}

// addEntries appends raw 32-byte entries to the directory starting at
// cluster dir, after its last used entry, growing its chain as needed.
func (e *espPatcher) addEntries(dir uint32, ents [][]byte) {
	cl, err := e.fs.chain("", dir, int64(e.fs.nclusters))
	require.NoError(e.t, err)
	buf := make([]byte, e.fs.clusterSize)
	c, off := cl[len(cl)-1], e.fs.clusterSize
	for _, x := range cl {
		_, err := e.f.ReadAt(buf, e.fs.clusterOff(x))
		require.NoError(e.t, err)
		for i := int64(0); i < e.fs.clusterSize; i += 32 {
			if buf[i] == 0 {
				c, off = x, i
				break
			}
		}
		if off < e.fs.clusterSize {
			break
		}
	}
	if off < e.fs.clusterSize {
		_, err := e.f.ReadAt(buf, e.fs.clusterOff(c))
		require.NoError(e.t, err)
	}
	for len(ents) > 0 {
		if off == e.fs.clusterSize {
			n := e.alloc()
			e.setFAT(c, n)
			c, off = n, 0
			clear(buf)
		}
		for ; off < e.fs.clusterSize && len(ents) > 0; off += 32 {
			copy(buf[off:], ents[0])
			ents = ents[1:]
		}
		_, err := e.f.WriteAt(buf, e.fs.clusterOff(c))
		require.NoError(e.t, err)
	}
}

// mkdir makes an empty directory cluster (no dot entries: the reader
// does not need them) and returns it.
func (e *espPatcher) mkdir() uint32 { return e.alloc() }

// patch rewrites the 32-byte entry of p.
func (e *espPatcher) patch(p string, fn func(ent []byte)) {
	fe := e.entry(p)
	ent := make([]byte, 32)
	_, err := e.f.ReadAt(ent, fe.off)
	require.NoError(e.t, err)
	fn(ent)
	_, err = e.f.WriteAt(ent, fe.off)
	require.NoError(e.t, err)
}

func (e *espPatcher) open() *Image {
	im, err := Open(e.f, e.size)
	require.NoError(e.t, err)
	return im
}

// dirent is a short directory entry.
func dirent(name string, attr byte, cluster, size uint32) []byte {
	b := make([]byte, 32)
	base, ext, _ := strings.Cut(name, ".")
	if name == "." || name == ".." {
		base, ext = name, ""
	}
	copy(b[0:8], fmt.Sprintf("%-8s", base))
	copy(b[8:11], fmt.Sprintf("%-3s", ext))
	b[11] = attr
	setCluster(b, cluster)
	binary.LittleEndian.PutUint32(b[28:], size)
	return b
}

func setCluster(ent []byte, c uint32) {
	binary.LittleEndian.PutUint16(ent[20:], uint16(c>>16))
	binary.LittleEndian.PutUint16(ent[26:], uint16(c))
}

// requireFATError checks err is a *FATError matching target that names
// path.
func requireFATError(t *testing.T, err error, target error, path string) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, target)
	var fe *FATError
	require.ErrorAs(t, err, &fe, "%v", err)
	require.Equal(t, path, fe.Path, "%v", err)
	t.Log(err)
}

// TestHostileSharedFile: thousands of directory entries share one 8 MiB
// file's clusters, which made Inspect hash hundreds of GB. The second
// claim on the clusters is refused.
func TestHostileSharedFile(t *testing.T) {
	testutil.Bounded(t, hostileBounds, func(t *testing.T) {
		big := testutil.RandomBytes(11, 8<<20)
		e := newESP(t, 0, File{Name: "data/big.bin", R: bytes.NewReader(big), Size: int64(len(big))})
		b := e.entry("data/big.bin")
		var ents [][]byte
		for i := range 20000 {
			ents = append(ents, dirent(fmt.Sprintf("F%05d.BIN", i), 0x20, b.cluster, b.size))
		}
		e.addEntries(e.fs.root, ents)
		_, err := Inspect(e.f, e.size)
		requireFATError(t, err, ErrCrossLinked, "F00000.BIN")
		_, err = e.open().ReadFile("F00001.BIN")
		requireFATError(t, err, ErrCrossLinked, "F00000.BIN")
		require.ErrorIs(t, err, ErrMalformed)
		requireOwnPeakRSS(t, 160<<20)
	})
}

// TestHostileSelfSimilarDirs: 60000 entries of one directory all point at
// one 2 MiB directory of deleted entries, which made every lookup scan 2
// MiB per entry (120 GB). Each directory cluster is read once; the second
// claim is refused.
func TestHostileSelfSimilarDirs(t *testing.T) {
	testutil.Bounded(t, hostileBounds, func(t *testing.T) {
		e := newESP(t, 0)
		y := e.mkdir()
		deleted := dirent("GONE", 0x20, 0, 0)
		deleted[0] = 0xe5
		var ents [][]byte
		for range maxDirEntries {
			ents = append(ents, deleted)
		}
		e.addEntries(y, ents)
		x := e.mkdir()
		ents = ents[:0]
		for i := range 60000 {
			ents = append(ents, dirent(fmt.Sprintf("D%05d", i), 0x10, y, 0))
		}
		e.addEntries(x, ents)
		e.addEntries(e.fs.root, [][]byte{dirent("X", 0x10, x, 0)})
		_, err := e.open().ReadFile("missing.txt")
		requireFATError(t, err, ErrCrossLinked, "X/D00001")
		_, err = Inspect(e.f, e.size)
		requireFATError(t, err, ErrCrossLinked, "X/D00001")
		requireOwnPeakRSS(t, 160<<20)
	})
}

// TestHostileDirLoop: subdirectory entries that point back at the root or
// an ancestor are refused as loops; "." and ".." entries are never
// followed, wherever they point.
func TestHostileDirLoop(t *testing.T) {
	testutil.Bounded(t, hostileBounds, func(t *testing.T) {
		e := newESP(t, 0)
		root, efi := e.fs.root, e.dirCluster("EFI")
		e.addEntries(e.dirCluster("EFI/BOOT"), [][]byte{dirent("UP", 0x10, root, 0), dirent("BACK", 0x10, efi, 0)})
		_, err := Inspect(e.f, e.size)
		requireFATError(t, err, ErrCrossLinked, "EFI/BOOT/UP")

		e = newESP(t, 0)
		e.addEntries(e.dirCluster("loader/entries"), [][]byte{dirent("BACK", 0x10, e.dirCluster("loader"), 0)})
		_, err = e.open().ReadFile("vmlinuz")
		requireFATError(t, err, ErrCrossLinked, "loader/entries/BACK")

		// ".." pointing at its own directory or a child is not followed.
		e = newESP(t, 0)
		boot := e.dirCluster("EFI/BOOT")
		e.patch("EFI/BOOT/..", func(ent []byte) { setCluster(ent, boot) })
		e.patch("EFI/..", func(ent []byte) { setCluster(ent, boot) })
		e.patch("EFI/BOOT/.", func(ent []byte) { setCluster(ent, root) })
		_, err = Inspect(e.f, e.size)
		require.NoError(t, err)
		requireOwnPeakRSS(t, 160<<20)
	})
}

// TestHostileFATLoop: a FAT chain that loops (so it is longer than the
// partition) is refused as a loop, naming the file or directory.
func TestHostileFATLoop(t *testing.T) {
	testutil.Bounded(t, hostileBounds, func(t *testing.T) {
		e := newESP(t, 0)
		k := e.entry("vmlinuz")
		e.setFAT(e.lastCluster(k.cluster), k.cluster)
		e.patch("vmlinuz", func(ent []byte) { binary.LittleEndian.PutUint32(ent[28:], 0xffffffff) })
		_, err := Inspect(e.f, e.size)
		requireFATError(t, err, ErrCrossLinked, "vmlinuz")

		// A directory chain looping onto itself, every cluster full.
		e = newESP(t, 0)
		d := e.mkdir()
		var ents [][]byte
		for i := range 3 * int(e.fs.clusterSize/32) {
			ents = append(ents, dirent(fmt.Sprintf("E%05d", i), 0x20, 0, 0))
		}
		e.addEntries(d, ents)
		e.setFAT(e.lastCluster(d), d)
		e.addEntries(e.dirCluster("EFI"), [][]byte{dirent("LOOP", 0x10, d, 0)})
		_, err = e.open().ReadFile("nope")
		requireFATError(t, err, ErrCrossLinked, "EFI/LOOP")

		// The root directory's chain looping.
		e = newESP(t, 0)
		e.setFAT(e.lastCluster(e.fs.root), e.fs.root)
		_, err = Inspect(e.f, e.size)
		requireFATError(t, err, ErrCrossLinked, "")
		requireOwnPeakRSS(t, 160<<20)
	})
}

// TestHostileCrossLinks: a cluster claimed by two files, two directories,
// or a file and a directory is refused, naming the second claimant.
func TestHostileCrossLinks(t *testing.T) {
	testutil.Bounded(t, hostileBounds, func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			patch func(e *espPatcher)
			path  string
		}{
			{"two files", func(e *espPatcher) {
				k := e.entry("vmlinuz")
				e.patch("initrd.img", func(ent []byte) {
					setCluster(ent, k.cluster)
					binary.LittleEndian.PutUint32(ent[28:], k.size)
				})
			}, "initrd.img"},
			{"file into a directory", func(e *espPatcher) {
				efi := e.dirCluster("EFI")
				e.patch("vmlinuz", func(ent []byte) {
					setCluster(ent, efi)
					binary.LittleEndian.PutUint32(ent[28:], 100)
				})
			}, "vmlinuz"},
			{"two directories", func(e *espPatcher) {
				efi := e.dirCluster("EFI")
				e.patch("loader", func(ent []byte) { setCluster(ent, efi) })
			}, "loader"},
			{"directory into a file", func(e *espPatcher) {
				e.addEntries(e.fs.root, [][]byte{dirent("ZZ", 0x10, e.entry("vmlinuz").cluster, 0)})
			}, "ZZ"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := newESP(t, 0)
				tc.patch(e)
				_, err := Inspect(e.f, e.size)
				requireFATError(t, err, ErrCrossLinked, tc.path)
			})
		}
		requireOwnPeakRSS(t, 160<<20)
	})
}

// TestHostileFileSize: a file whose size needs more clusters than its
// chain holds is refused, naming the file, before anything is allocated
// for it.
func TestHostileFileSize(t *testing.T) {
	testutil.Bounded(t, hostileBounds, func(t *testing.T) {
		e := newESP(t, 0)
		e.patch("EFI/acme/readme.txt", func(ent []byte) { binary.LittleEndian.PutUint32(ent[28:], 0xffffffff) })
		im := e.open()
		_, err := im.ReadFile("EFI/acme/readme.txt")
		requireFATError(t, err, ErrMalformed, "EFI/acme/readme.txt")
		_, err = Inspect(e.f, e.size)
		requireFATError(t, err, ErrMalformed, "EFI/acme/readme.txt")
		requireOwnPeakRSS(t, 160<<20)
	})
}

// TestHostileManyEntries: directories of 65536 entries nested 32 deep (64
// MiB of directory clusters, 2 million entries) were each listed in full
// while their parents' lists were held (145 MiB resident or more, against
// 50-70 MiB with the cap, building the image included). Entries
// read over the whole tree are capped at maxTreeFiles, so memory stays
// small and the error names the directory.
func TestHostileManyEntries(t *testing.T) {
	testutil.Bounded(t, testutil.Bounds{AddressSpace: 2 << 30, MaxRSS: 512 << 20, CPU: 30 * time.Second}, func(t *testing.T) {
		// Building the image makes garbage; on a loaded machine a starved
		// collector lets it pile up. The soft limit keeps the resident set
		// near the live heap, which is what the ceiling is about.
		debug.SetMemoryLimit(64 << 20)
		e := newESP(t, 100*mib)
		// Each level's first entry is the next level, so a depth-first
		// walk holds every level's list at once.
		parent, first := e.fs.root, "L00"
		var dirs []uint32
		for level := range maxTreeDepth {
			d := e.mkdir()
			e.addEntries(parent, [][]byte{dirent(fmt.Sprintf("L%02d", level), 0x10, d, 0)})
			dirs, parent = append(dirs, d), d
		}
		ents := make([][]byte, 0, maxDirEntries-1)
		for i := range maxDirEntries - 1 {
			ents = append(ents, dirent(fmt.Sprintf("%08X", i), 0x20, 0, 0))
		}
		for _, d := range dirs {
			e.addEntries(d, ents)
		}
		_, err := e.open().ReadFile("nope")
		require.ErrorIs(t, err, ErrTooLarge)
		var fe *FATError
		require.ErrorAs(t, err, &fe)
		require.True(t, strings.HasPrefix(fe.Path, first), "%v", err)
		t.Log(err)
		requireOwnPeakRSS(t, 100<<20)
	})
}

// TestHostileHugeDirectory: one directory of more than 65536 entries is
// refused (ErrTooLarge), naming it.
func TestHostileHugeDirectory(t *testing.T) {
	testutil.Bounded(t, hostileBounds, func(t *testing.T) {
		e := newESP(t, 0)
		ents := make([][]byte, 0, maxDirEntries+10)
		for i := range maxDirEntries + 10 {
			ents = append(ents, dirent(fmt.Sprintf("%08X", i), 0x20, 0, 0))
		}
		d := e.mkdir()
		e.addEntries(d, ents)
		e.addEntries(e.dirCluster("EFI"), [][]byte{dirent("HUGE", 0x10, d, 0)})
		_, err := Inspect(e.f, e.size)
		requireFATError(t, err, ErrTooLarge, "EFI/HUGE")
		requireOwnPeakRSS(t, 160<<20)
	})
}

// TestInspectMkfsFat: an ESP that mkfs.fat formatted and mtools filled
// (the other tools' FAT32, with a volume label, long names, nested
// directories, an empty file and multi-cluster files) inspects cleanly
// under the cluster-claiming walk.
func TestInspectMkfsFat(t *testing.T) {
	sfdisk := testutil.RequireTool(t, "sfdisk")
	mkfs := testutil.RequireTool(t, "mkfs.fat")
	mmd := testutil.RequireTool(t, "mmd")
	mcopy := testutil.RequireTool(t, "mcopy")
	const size = 40 * mib
	img := filepath.Join(t.TempDir(), "foreign.raw")
	f, err := os.Create(img)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(size))
	require.NoError(t, f.Close())
	testutil.MustRun(t, "", []byte("label: gpt\nstart=2048, size=77824, type="+ESPType+", name=ESP\n"), sfdisk, "-q", img)
	testutil.MustRun(t, "", nil, mkfs, "-F", "32", "-n", "FOREIGN", "--offset", "2048", img, "38912")
	at := img + "@@" + itoa(mib)
	testutil.MustRun(t, "", nil, mmd, "-i", at, "::/EFI", "::/EFI/BOOT", "::/loader", "::/loader/entries", "::/deep", "::/deep/a", "::/deep/a/b")
	want := map[string]string{}
	src := t.TempDir()
	for i, name := range []string{"EFI/BOOT/BOOTX64.EFI", "loader/entries/a rather long entry name.conf", "vmlinuz", "deep/a/b/empty", "deep/a/b/Mixed Case.txt"} {
		var data []byte
		switch i {
		case 2:
			data = testutil.RandomBytes(21, 3<<20)
		case 3:
		default:
			data = testutil.RandomBytes(uint64(i), 5000+i)
		}
		host := filepath.Join(src, fmt.Sprint(i))
		require.NoError(t, os.WriteFile(host, data, 0o644))
		testutil.MustRun(t, "", nil, mcopy, "-i", at, host, "::/"+name)
		want[name] = sha(data)
	}
	res, err := InspectFile(img)
	require.NoError(t, err)
	got := map[string]string{}
	for _, fi := range res.Files {
		got[fi.Path] = fi.SHA256
	}
	require.Equal(t, want, got)
	require.Len(t, res.Layout.Partitions, 1)
}

// TestInspectRefusesBadNames: a long name holding "/" or "\" would pose
// as a file in another directory ("EFI/BOOT/BOOTX64.EFI" in the root), a
// short name holding NUL or "/" or one of only spaces (an empty name) as
// something else; all are refused.
func TestInspectRefusesBadNames(t *testing.T) {
	for _, tc := range []struct{ name, alias, path string }{
		{"EFI/BOOT/BOOTX64.EFI", "SHADOW.EFI", "EFI/BOOT/BOOTX64.EFI"},
		{`EFI\BOOT`, "SHADOW", `EFI\BOOT`},
		{"", "A\x00B.TXT", "A\x00B.TXT"},
		{"", "A/B", "A/B"},
		{"", "", ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			f := newTinyFAT()
			root := f.alloc(1)
			d := f.dir(root)
			if tc.name != "" {
				d.add(tc.name, tc.alias, 0x20, f.file("abc"), 3)
			} else {
				d.raw(dirent(tc.alias, 0x20, f.file("abc"), 3))
			}
			img := fuzzESPImage(compactChunks(f.bytes()))
			_, err := Inspect(bytes.NewReader(img), int64(len(img)))
			requireFATError(t, err, ErrMalformed, tc.path)
		})
	}
}

// TestWalkBudgets: the directory bytes scanned and the file bytes hashed
// are each held to the partition size. Claiming every cluster once already
// keeps a real file system inside both; the budgets are checked here on a
// file system whose recorded partition size is shrunk below its content.
func TestWalkBudgets(t *testing.T) {
	f := newTinyFAT()
	root := f.alloc(1)
	f.dir(root).add("BIG.BIN", "", 0x20, f.file(strings.Repeat("z", 3000)), 3000)
	img := fuzzESPImage(compactChunks(f.bytes()))

	im, err := Open(bytes.NewReader(img), int64(len(img)))
	require.NoError(t, err)
	im.fat.size = 1024 // room for the root directory, not for BIG.BIN
	_, err = im.Files()
	requireFATError(t, err, ErrMalformed, "BIG.BIN")

	im, err = Open(bytes.NewReader(img), int64(len(img)))
	require.NoError(t, err)
	im.fat.size = 256 // not even for the root directory
	_, err = im.ReadFile("BIG.BIN")
	requireFATError(t, err, ErrMalformed, "")
}
