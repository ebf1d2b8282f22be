package iso_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/iso"
)

// hybridSpec is an image with the real isolinux.bin, ldlinux.c32 and
// isohdpfx.bin, a stand-in EFI image and a few files.
func hybridSpec(t *testing.T) (*iso.Spec, map[string][]byte) {
	t.Helper()
	loader := testutil.RequireFile(t, "isolinux.bin", isolinuxBin)
	mbrPath := testutil.RequireFile(t, "isohdpfx.bin", isohdpfxBin)
	ldlinux := testutil.RequireFile(t, "ldlinux.c32", ldlinuxC32)
	if loader == "" || mbrPath == "" || ldlinux == "" {
		t.SkipNow()
	}
	mbr, err := os.ReadFile(mbrPath)
	require.NoError(t, err)
	files := map[string][]byte{
		"boot/vmlinuz":          testutil.RandomBytes(11, 300000),
		"boot/initrd.img":       testutil.RandomBytes(12, 123457),
		"isolinux/isolinux.cfg": []byte("default linux\n"),
		"docs/readme.txt":       []byte("hello\n"),
	}
	spec := &iso.Spec{VolumeID: "FOGKIT_INTEROP", EFI: &iso.File{Path: writeFile(t, "efi.img", testutil.RandomBytes(13, 1<<20))},
		BIOS: &iso.BIOS{Loader: iso.File{Path: loader}, HybridMBR: mbr}}
	spec.Files = append(spec.Files, iso.File{Name: "isolinux/ldlinux.c32", Path: ldlinux})
	for n, b := range files {
		spec.Files = append(spec.Files, iso.File{Name: n, Path: writeFile(t, filepath.Base(n), b)})
	}
	return spec, files
}

func xorrisoReport(t *testing.T, xorriso, img string) string {
	t.Helper()
	out, err := exec.Command(xorriso, "-indev", img, "-report_el_torito", "plain", "-report_system_area", "plain").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return string(out)
}

// reportRows returns the fields after "prefix :" of every matching line.
func reportRows(report, prefix string) [][]string {
	var rows [][]string
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `\s*:\s*(.*)$`)
	for _, l := range strings.Split(report, "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			rows = append(rows, strings.Fields(m[1]))
		}
	}
	return rows
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 0, 64)
	require.NoError(t, err, s)
	return n
}

func TestXorrisoReports(t *testing.T) {
	xorriso := testutil.RequireTool(t, "xorriso")
	spec, _ := hybridSpec(t)
	var buf bytes.Buffer
	res, err := iso.Write(t.Context(), &buf, spec, &iso.Options{ModTime: modTime, Seed: "xorriso"})
	require.NoError(t, err)
	img := writeFile(t, "out.iso", buf.Bytes())
	t.Logf("interop: xorriso -report_el_torito -report_system_area")
	rep := xorrisoReport(t, xorriso, img)

	boot := reportRows(rep, "El Torito boot img")
	require.Len(t, boot, 2, rep)
	// N Pltf B Emul Ld_seg Hdpt Ldsiz LBA
	require.Equal(t, []string{"1", "BIOS", "y", "none", "0x0000", "0x00", "4", strconv.Itoa(int(res.Boot[0].LBA))}, boot[0])
	require.Equal(t, []string{"2", "UEFI", "y", "none", "0x0000", "0x00", strconv.Itoa((1 << 20) / 512), strconv.Itoa(int(res.Boot[1].LBA))}, boot[1])
	paths := reportRows(rep, "El Torito img path")
	require.Equal(t, [][]string{{"1", "/isolinux/isolinux.bin"}, {"2", "/boot/efi.img"}}, paths, "Rock Ridge names")
	require.Contains(t, reportRows(rep, "El Torito img opts")[0], "boot-info-table")
	require.Contains(t, reportRows(rep, "El Torito img opts")[0], "isohybrid-suitable")
	require.Contains(t, rep, "System area summary: MBR isohybrid cyl-align-on GPT")
	require.Equal(t, [][]string{{strconv.FormatInt(res.Size/512, 10)}}, reportRows(rep, "ISO image size/512"))

	// N Status Type Start Blocks
	mbr := reportRows(rep, "MBR partition")
	require.Len(t, mbr, 2, rep)
	require.Equal(t, []string{"1", "0x80", "0x00", "0", strconv.FormatInt(res.Size/512, 10)}, mbr[0])
	require.Equal(t, []string{"2", "0x00", "0xef", strconv.FormatInt(int64(res.Boot[1].LBA)*4, 10), strconv.Itoa((1 << 20) / 512)}, mbr[1])
	require.Equal(t, [][]string{{"2", "/boot/efi.img"}}, reportRows(rep, "MBR partition path"))

	gptRange := reportRows(rep, "GPT lba range")
	require.Equal(t, [][]string{{"64", strconv.FormatInt(res.Size/512-34, 10), strconv.FormatInt(res.Size/512-1, 10)}}, gptRange)
	se := reportRows(rep, "GPT start and size")
	require.Len(t, se, 2, rep)
	for i, p := range res.GPT {
		require.Equal(t, []string{strconv.Itoa(p.Index), strconv.FormatInt(p.Start, 10), strconv.FormatInt(p.Sectors, 10)}, se[i])
	}
	types := reportRows(rep, "GPT type GUID")
	require.Equal(t, "a2a0d0ebe5b9334487c068b6b72699c7", types[0][1], "basic data")
	require.Equal(t, "28732ac11ff8d211ba4b00a0c93ec93b", types[1][1], "EFI System")
	require.Equal(t, [][]string{{"2", "/boot/efi.img"}}, reportRows(rep, "GPT partition path"))
	require.Equal(t, [][]string{{"FOGKIT_INTEROP"}}, [][]string{{strings.Trim(reportRows(rep, "Volume id")[0][0], "'")}})
}

func TestBsdtarExtracts(t *testing.T) {
	for _, noRR := range []bool{false, true} {
		t.Run(fmt.Sprint("NoRockRidge=", noRR), func(t *testing.T) { bsdtarExtracts(t, noRR) })
	}
}

func bsdtarExtracts(t *testing.T, noRR bool) {
	bsdtar := testutil.RequireTool(t, "bsdtar")
	spec, files := hybridSpec(t)
	var buf bytes.Buffer
	_, err := iso.Write(t.Context(), &buf, spec, &iso.Options{ModTime: modTime, NoRockRidge: noRR})
	require.NoError(t, err)
	img := writeFile(t, "out.iso", buf.Bytes())
	dir := t.TempDir()
	t.Logf("interop: bsdtar -xf")
	out, err := exec.Command(bsdtar, "-xf", img, "-C", dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	// With Rock Ridge the names are as given, without it as MapName says.
	onDisk := func(name string) string {
		if !noRR {
			return name
		}
		m, err := iso.MapName(name)
		require.NoError(t, err)
		return m
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, onDisk(name)))
		require.NoError(t, err, name)
		require.Equal(t, want, got, name)
	}
	if !noRR {
		st, err := os.Stat(filepath.Join(dir, "boot/vmlinuz"))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o644), st.Mode().Perm(), "Rock Ridge mode")
		require.True(t, st.ModTime().Equal(modTime), "Rock Ridge time %s", st.ModTime())
	}
	ld, err := os.ReadFile(filepath.Join(dir, onDisk("isolinux/ldlinux.c32")))
	require.NoError(t, err)
	orig, err := os.ReadFile(ldlinuxC32)
	require.NoError(t, err)
	require.Equal(t, orig, ld)
	// Our reader agrees byte for byte.
	im := openBytes(t, buf.Bytes())
	for name, want := range files {
		got, err := im.ReadFile(name)
		require.NoError(t, err, name)
		require.Equal(t, want, got, name)
	}
}

// TestReadXorrisoImage reads an image xorriso made with isolinux, an EFI
// image and the isohybrid MBR and GPT, with and without Rock Ridge.
func TestReadXorrisoImage(t *testing.T) {
	for _, rr := range []bool{false, true} {
		t.Run(fmt.Sprint("RockRidge=", rr), func(t *testing.T) { readXorrisoImage(t, rr) })
	}
}

func readXorrisoImage(t *testing.T, rr bool) {
	xorriso := testutil.RequireTool(t, "xorriso")
	_, files := hybridSpec(t)
	root := t.TempDir()
	put := func(name string, b []byte) {
		p := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, b, 0o644))
	}
	for n, b := range files {
		put(n, b)
	}
	ld, err := os.ReadFile(isolinuxBin)
	require.NoError(t, err)
	put("isolinux/isolinux.bin", ld)
	efi := testutil.RandomBytes(14, 2<<20)
	put("boot/efi.img", efi)
	img := filepath.Join(t.TempDir(), "x.iso")
	t.Logf("interop: xorriso -as mkisofs")
	args := []string{"-as", "mkisofs", "-o", img, "-V", "XORRISO_VOL"}
	if !rr {
		args = append(args, "--norock") // xorriso writes Rock Ridge by default
	}
	out, err := exec.Command(xorriso, append(args,
		"-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
		"-isohybrid-mbr", isohdpfxBin, "-eltorito-alt-boot", "-e", "boot/efi.img", "-no-emul-boot", "-isohybrid-gpt-basdat",
		root)...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	f, err := os.Open(img)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	im, err := iso.Open(f, st.Size())
	require.NoError(t, err)
	info := im.Info()
	require.Equal(t, "XORRISO_VOL", info.VolumeID)
	require.Len(t, info.Boot, 2)
	require.Equal(t, uint8(iso.PlatformBIOS), info.Boot[0].Platform)
	require.Equal(t, uint16(4), info.Boot[0].Sectors)
	name := func(s string) string {
		if rr {
			return s
		}
		return strings.ToUpper(s)
	}
	require.Equal(t, name("isolinux/isolinux.bin"), info.Boot[0].File)
	require.Equal(t, uint8(iso.PlatformEFI), info.Boot[1].Platform)
	require.Equal(t, uint16(len(efi)/512), info.Boot[1].Sectors)
	require.Equal(t, name("boot/efi.img"), info.Boot[1].File)
	require.NotNil(t, info.MBR)
	require.True(t, info.MBR.BootCode)
	require.Equal(t, info.Boot[0].LBA*4, info.MBR.BootLBA)
	require.Equal(t, "0xef", info.MBR.Partitions[1].Type)
	require.Equal(t, int64(info.Boot[1].LBA)*4, info.MBR.Partitions[1].Start)
	require.NotNil(t, info.GPT)
	require.True(t, info.GPT.BackupOK)

	listed := map[string]bool{}
	for _, f := range info.Files {
		listed[f.Name] = true
	}
	for n, want := range files {
		require.True(t, listed[name(n)], n)
		got, err := im.ReadFile(n)
		require.NoError(t, err, n)
		require.Equal(t, want, got, n)
	}
	got, err := im.ReadFile("boot/efi.img")
	require.NoError(t, err)
	require.Equal(t, efi, got)
	rep, err := iso.Inspect(t.Context(), f, st.Size())
	require.NoError(t, err)
	require.True(t, rep.OK(), "%+v", rep.Findings)
}
