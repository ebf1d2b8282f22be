package esp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/internal/testutil"
)

// fatFiles are the files fatImage puts on a volume: short names in the
// root (the damage helpers find them there), a subdirectory with a long
// name, and sizes of zero, part of a cluster and several clusters.
var fatFiles = map[string]int{
	"/A.BIN":                        5000,
	"/B.BIN":                        3 * 4096,
	"/C.BIN":                        9000,
	"/D.BIN":                        7000,
	"/E.BIN":                        0,
	"/EFI/BOOT/BOOTX64.EFI":         20000,
	"/EFI/Linux/a-long-name.conf":   300,
	"/loader/entries/fogkit-1.conf": 120,
}

func mtools(t *testing.T, tool string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(testutil.RequireTool(t, tool), args...)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %v: %s", tool, args, out)
	return out
}

// fatImage makes a FAT32 image of kib KiB with spc sectors per cluster
// and fatFiles on it; it returns the path and the files' contents.
func fatImage(t *testing.T, kib, spc int) (string, map[string][]byte) {
	t.Helper()
	mkfs := testutil.RequireTool(t, "mkfs.fat")
	testutil.RequireTool(t, "mcopy")
	img := filepath.Join(t.TempDir(), "esp.img")
	out, err := exec.Command(mkfs, "-F", "32", "-s", fmt.Sprint(spc), "-C", img, fmt.Sprint(kib)).CombinedOutput()
	require.NoError(t, err, "%s", out)
	src := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(kib), uint64(spc)))
	data := map[string][]byte{}
	for _, d := range []string{"/EFI", "/EFI/BOOT", "/EFI/Linux", "/loader", "/loader/entries"} {
		mtools(t, "mmd", "-i", img, "::"+d)
	}
	// In name order: the directory order decides which of two
	// cross-linked files keeps the shared clusters.
	for _, name := range slices.Sorted(maps.Keys(fatFiles)) {
		n := fatFiles[name]
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		data[name] = b
		p := filepath.Join(src, strings.ReplaceAll(name, "/", "_"))
		require.NoError(t, os.WriteFile(p, b, 0o644))
		mtools(t, "mcopy", "-i", img, p, "::"+name)
	}
	require.Equal(t, 0, fsckFAT(t, img), "fresh image")
	return img, data
}

// fsckFAT runs fsck.fat -n and returns its exit status.
func fsckFAT(t *testing.T, img string) int {
	t.Helper()
	out, err := exec.Command(testutil.RequireTool(t, "fsck.fat"), "-n", img).CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Logf("fsck.fat -n: %s", out)
		return ee.ExitCode()
	}
	require.NoError(t, err)
	return 0
}

// fimg is an image opened for damage, with its geometry.
type fimg struct {
	t *testing.T
	f *os.File
	v *fatVol
}

func openImg(t *testing.T, img string) *fimg {
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	require.NoError(t, err)
	v := &fatVol{r: f, size: st.Size()}
	require.NoError(t, v.geometry())
	return &fimg{t, f, v}
}

func (m *fimg) fatEntry(k int, c uint32) uint32 {
	var b [4]byte
	_, err := m.f.ReadAt(b[:], m.v.fatOff+int64(k)*m.v.fatBytes0()+4*int64(c))
	require.NoError(m.t, err)
	return binary.LittleEndian.Uint32(b[:]) & fatMask
}

// setFAT writes an entry in the given copies (nil: all).
func (m *fimg) setFAT(c, val uint32, copies ...int) {
	if copies == nil {
		for k := 0; k < int(m.v.nfats); k++ {
			copies = append(copies, k)
		}
	}
	for _, k := range copies {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], val)
		_, err := m.f.WriteAt(b[:], m.v.fatOff+int64(k)*m.v.fatBytes0()+4*int64(c))
		require.NoError(m.t, err)
	}
}

// rootEntry finds a short name in the root directory's first cluster and
// returns the entry's offset, start cluster and size.
func (m *fimg) rootEntry(short string) (int64, uint32, uint32) {
	base := m.v.dataOff + int64(m.v.rootClus-2)*m.v.cs
	b := make([]byte, m.v.cs)
	_, err := m.f.ReadAt(b, base)
	require.NoError(m.t, err)
	base8, ext, _ := strings.Cut(short, ".")
	want := fmt.Sprintf("%-8s%-3s", strings.ToUpper(base8), ext)
	for i := 0; i+32 <= len(b); i += 32 {
		if string(b[i:i+11]) == want {
			e := b[i:]
			return base + int64(i), uint32(binary.LittleEndian.Uint16(e[20:]))<<16 | uint32(binary.LittleEndian.Uint16(e[26:])), binary.LittleEndian.Uint32(e[28:])
		}
	}
	m.t.Fatalf("%s not in the root directory", short)
	return 0, 0, 0
}

func (m *fimg) chain(start uint32) []uint32 {
	var out []uint32
	for c := start; c >= 2 && c < fatEOC && len(out) < 1000; c = m.fatEntry(0, c) {
		out = append(out, c)
	}
	return out
}

// freeCluster is a free cluster near the end of the volume, skip from it.
func (m *fimg) freeCluster(skip uint32) uint32 {
	for c := m.v.count + 1 - skip; c >= 2; c-- {
		if m.fatEntry(0, c) == 0 {
			return c
		}
	}
	m.t.Fatal("no free cluster")
	return 0
}

func (m *fimg) put(off int64, b []byte) {
	_, err := m.f.WriteAt(b, off)
	require.NoError(m.t, err)
}

func (m *fimg) putStart(short string, c uint32) {
	off, _, _ := m.rootEntry(short)
	var b [2]byte
	binary.LittleEndian.PutUint16(b[:], uint16(c>>16))
	m.put(off+20, b[:])
	binary.LittleEndian.PutUint16(b[:], uint16(c))
	m.put(off+26, b[:])
}

func (m *fimg) fsinfo(at int, val uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], val)
	m.put(m.v.fsinfoOff+int64(at), b[:])
}

func (m *fimg) u32(off int64) uint32 {
	var b [4]byte
	_, err := m.f.ReadAt(b[:], off)
	require.NoError(m.t, err)
	return binary.LittleEndian.Uint32(b[:])
}

// The damages a power cut between ordered writes leaves, each with the
// files it may change (the others must read back the same).
var fatDamages = []struct {
	name    string
	touched []string
	damage  func(m *fimg)
}{
	{"dirty bit", nil, func(m *fimg) {
		m.put(0x41, []byte{1})
	}},
	{"dirty bit and wrong free count (a cut while mounted read-write)", nil, func(m *fimg) {
		m.put(0x41, []byte{1})
		m.fsinfo(488, m.u32(m.v.fsinfoOff+488)+2)
	}},
	{"lost chain", nil, func(m *fimg) {
		a, b := m.freeCluster(0), m.freeCluster(1)
		m.setFAT(b, a)
		m.setFAT(a, fatEOF)
	}},
	{"chain longer than the size", []string{"/A.BIN"}, func(m *fimg) {
		_, s, _ := m.rootEntry("A.BIN")
		ch := m.chain(s)
		x := m.freeCluster(0)
		m.setFAT(ch[len(ch)-1], x)
		m.setFAT(x, fatEOF)
	}},
	{"chain shorter than the size", []string{"/B.BIN"}, func(m *fimg) {
		_, s, _ := m.rootEntry("B.BIN")
		ch := m.chain(s)
		m.setFAT(ch[0], fatEOF)
	}},
	{"FAT 2 differs", nil, func(m *fimg) {
		m.setFAT(m.freeCluster(3), fatEOF, 1)
	}},
	{"cross-linked files", []string{"/D.BIN"}, func(m *fimg) {
		_, c, _ := m.rootEntry("C.BIN")
		_, d, _ := m.rootEntry("D.BIN")
		m.setFAT(m.chain(d)[0], m.chain(c)[1])
	}},
	{"start cluster beyond the volume", []string{"/C.BIN"}, func(m *fimg) {
		m.putStart("C.BIN", m.v.count+100)
	}},
	{"chain loops", []string{"/B.BIN"}, func(m *fimg) {
		_, s, _ := m.rootEntry("B.BIN")
		ch := m.chain(s)
		m.setFAT(ch[len(ch)-1], ch[0])
	}},
	{"chain points outside the volume", []string{"/B.BIN"}, func(m *fimg) {
		_, s, _ := m.rootEntry("B.BIN")
		m.setFAT(m.chain(s)[1], m.v.count+7)
	}},
	{"chain runs into a free cluster", []string{"/A.BIN"}, func(m *fimg) {
		_, s, _ := m.rootEntry("A.BIN")
		m.setFAT(m.chain(s)[0], m.freeCluster(5))
	}},
	{"subdirectory start cluster beyond the volume", []string{"/loader/entries/fogkit-1.conf"}, func(m *fimg) {
		m.putStart("LOADER.", m.v.count+100)
	}},
	{"zero-length file with a cluster", []string{"/E.BIN"}, func(m *fimg) {
		x := m.freeCluster(0)
		m.setFAT(x, fatEOF)
		m.putStart("E.BIN", x)
	}},
}

// A next-free hint beyond the volume is harmless to fsck.fat but wrong;
// an unknown free count (0xFFFFFFFF) is legal and left alone.
func TestRepairFATHint(t *testing.T) {
	pristine, _ := fatImage(t, 34000, 1)
	img := copyFile(t, pristine)
	m := openImg(t, img)
	m.fsinfo(488, 0xFFFFFFFF)
	require.True(t, checkFile(t, img).Clean(), "unknown free count")
	m.fsinfo(492, m.v.count+50)
	rep := checkFile(t, img)
	require.Len(t, rep.Problems, 1)
	require.Contains(t, rep.Problems[0], "next free cluster hint")
	rep, _ = repairFile(t, img)
	require.True(t, rep.Repaired)
	require.True(t, m.v.valid(m.u32(m.v.fsinfoOff+492)))
	require.True(t, checkFile(t, img).Clean())
	require.Equal(t, 0, fsckFAT(t, img))
}

func readBack(t *testing.T, img, name string) []byte {
	return mtools(t, "mtype", "-i", img, "::"+name)
}

// countingWriter is an image file that counts the writes made to it.
type countingWriter struct {
	*os.File
	writes int
}

func (w *countingWriter) WriteAt(p []byte, off int64) (int, error) {
	w.writes++
	return w.File.WriteAt(p, off)
}

func repairFile(t *testing.T, img string) (*FATReport, int) {
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	w := &countingWriter{File: f}
	rep, err := RepairFAT(w, st.Size())
	require.NoError(t, err)
	return rep, w.writes
}

func checkFile(t *testing.T, img string) *FATReport {
	f, err := os.Open(img)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	rep, err := CheckFAT(f, st.Size())
	require.NoError(t, err)
	return rep
}

func copyFile(t *testing.T, src string) string {
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	dst := filepath.Join(t.TempDir(), "copy.img")
	require.NoError(t, os.WriteFile(dst, b, 0o644))
	return dst
}

func TestRepairFATAgainstFsck(t *testing.T) {
	for _, geo := range []struct{ kib, spc int }{{34000, 1}, {300000, 8}} {
		t.Run(fmt.Sprintf("%dKiB-spc%d", geo.kib, geo.spc), func(t *testing.T) {
			pristine, data := fatImage(t, geo.kib, geo.spc)

			t.Run("clean", func(t *testing.T) {
				img := copyFile(t, pristine)
				before, err := os.ReadFile(img)
				require.NoError(t, err)
				require.True(t, checkFile(t, img).Clean())
				rep, writes := repairFile(t, img)
				require.True(t, rep.Clean())
				require.False(t, rep.Repaired)
				require.Zero(t, writes)
				after, err := os.ReadFile(img)
				require.NoError(t, err)
				require.True(t, bytes.Equal(before, after), "a clean volume is left byte-identical")
			})

			for _, d := range fatDamages {
				t.Run(d.name, func(t *testing.T) {
					img := copyFile(t, pristine)
					d.damage(openImg(t, img))
					require.Equal(t, 1, fsckFAT(t, img), "fsck.fat sees the damage")
					found := checkFile(t, img)
					require.False(t, found.Clean(), "CheckFAT sees the damage")

					rep, writes := repairFile(t, img)
					t.Logf("report: %q", rep.Lines())
					require.Equal(t, found.Problems, rep.Problems)
					require.True(t, rep.Repaired)
					require.NotZero(t, writes)
					require.Equal(t, 0, fsckFAT(t, img), "fsck.fat is clean after RepairFAT")
					require.True(t, checkFile(t, img).Clean(), "nothing left to fix")
					for name, want := range data {
						if !contains(d.touched, name) {
							require.Equal(t, want, readBack(t, img, name), "%s intact", name)
						}
					}
				})
			}
		})
	}
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// failingWriter fails every write after the first n.
type failingWriter struct {
	*os.File
	n int
}

var errCut = errors.New("power cut")

func (w *failingWriter) WriteAt(p []byte, off int64) (int, error) {
	if w.n == 0 {
		return 0, errCut
	}
	w.n--
	return w.File.WriteAt(p, off)
}

// A cut after any number of RepairFAT's writes leaves the dirty bit set
// (so the next boot checks again) and a volume the next RepairFAT
// repairs to one fsck.fat finds clean, with the intact files intact.
func TestRepairFATCutAnywhere(t *testing.T) {
	pristine, data := fatImage(t, 34000, 1)
	damage := func(img string) {
		m := openImg(t, img)
		for _, d := range fatDamages {
			switch d.name {
			case "dirty bit", "lost chain", "chain longer than the size", "FAT 2 differs", "cross-linked files":
				d.damage(m)
			}
		}
	}
	probe := copyFile(t, pristine)
	damage(probe)
	_, total := repairFile(t, probe)
	require.Greater(t, total, 4)
	for n := 0; n < total; n++ {
		img := copyFile(t, pristine)
		damage(img)
		f, err := os.OpenFile(img, os.O_RDWR, 0)
		require.NoError(t, err)
		st, err := f.Stat()
		require.NoError(t, err)
		_, err = RepairFAT(&failingWriter{f, n}, st.Size())
		require.ErrorIs(t, err, errCut)
		require.ErrorIs(t, err, ErrFAT)
		require.NoError(t, f.Close())
		m := openImg(t, img)
		require.NotZero(t, m.u32(0x40)&0x100, "cut after %d writes: still dirty", n)

		rep, _ := repairFile(t, img)
		require.True(t, rep.Repaired)
		require.Equal(t, 0, fsckFAT(t, img), "cut after %d writes", n)
		require.True(t, checkFile(t, img).Clean())
		for name, want := range data {
			if name != "/A.BIN" && name != "/D.BIN" {
				require.Equal(t, want, readBack(t, img, name), "%s intact", name)
			}
		}
	}
}

// The ESP package disk builds is clean to CheckFAT and fsck.fat, and a
// power cut's damage on it is repaired with the files kept.
func TestRepairFATOnABuiltESP(t *testing.T) {
	kernel := bytes.Repeat([]byte("kernel "), 40000)
	copy(kernel, "MZ") // enough of a PE header for package disk
	binary.LittleEndian.PutUint32(kernel[0x3c:], 0x80)
	copy(kernel[0x80:], "PE\x00\x00")
	copy(kernel[0x202:], "HdrS")
	initrd := bytes.Repeat([]byte("initrd!"), 20000)
	spec := &disk.Spec{
		Loader:  disk.SystemdBoot,
		EFI:     disk.File{R: strings.NewReader("not really systemd-boot"), Size: 23},
		Kernel:  disk.File{R: bytes.NewReader(kernel), Size: int64(len(kernel))},
		Initrds: []disk.File{{R: bytes.NewReader(initrd), Size: int64(len(initrd))}},
		Cmdline: "console=ttyS0",
	}
	raw := filepath.Join(t.TempDir(), "disk.raw")
	res, err := disk.BuildFile(t.Context(), spec, raw, nil)
	require.NoError(t, err)
	p := res.Layout.Partitions[0]
	b, err := os.ReadFile(raw)
	require.NoError(t, err)
	img := filepath.Join(t.TempDir(), "esp.img")
	require.NoError(t, os.WriteFile(img, b[p.Offset:p.Offset+p.Size], 0o644))

	require.True(t, checkFile(t, img).Clean())
	require.Equal(t, 0, fsckFAT(t, img))

	m := openImg(t, img)
	m.put(0x41, []byte{1})
	a, c := m.freeCluster(0), m.freeCluster(1)
	m.setFAT(c, a)
	m.setFAT(a, fatEOF)
	require.Equal(t, 1, fsckFAT(t, img))
	rep, _ := repairFile(t, img)
	require.Len(t, rep.Problems, 2, "%q", rep.Problems) // FSInfo says "unknown" on these
	require.Equal(t, 0, fsckFAT(t, img))
	require.Equal(t, kernel, readBack(t, img, "/vmlinuz"))
	require.Equal(t, initrd, readBack(t, img, "/initrd.img"))
}
