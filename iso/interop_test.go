package iso_test

import (
	"bytes"
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
	require.Equal(t, [][]string{{"1", "/ISOLINUX/ISOLINUX.BIN"}, {"2", "/BOOT/EFI.IMG"}}, paths)
	require.Contains(t, reportRows(rep, "El Torito img opts")[0], "boot-info-table")
	require.Contains(t, reportRows(rep, "El Torito img opts")[0], "isohybrid-suitable")
	require.Contains(t, rep, "System area summary: MBR isohybrid cyl-align-on GPT")
	require.Equal(t, [][]string{{strconv.FormatInt(res.Size/512, 10)}}, reportRows(rep, "ISO image size/512"))

	// N Status Type Start Blocks
	mbr := reportRows(rep, "MBR partition")
	require.Len(t, mbr, 2, rep)
	require.Equal(t, []string{"1", "0x80", "0x00", "0", strconv.FormatInt(res.Size/512, 10)}, mbr[0])
	require.Equal(t, []string{"2", "0x00", "0xef", strconv.FormatInt(int64(res.Boot[1].LBA)*4, 10), strconv.Itoa((1 << 20) / 512)}, mbr[1])
	require.Equal(t, [][]string{{"2", "/BOOT/EFI.IMG"}}, reportRows(rep, "MBR partition path"))

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
	require.Equal(t, [][]string{{"2", "/BOOT/EFI.IMG"}}, reportRows(rep, "GPT partition path"))
	require.Equal(t, [][]string{{"FOGKIT_INTEROP"}}, [][]string{{strings.Trim(reportRows(rep, "Volume id")[0][0], "'")}})
}

func TestBsdtarExtracts(t *testing.T) {
	bsdtar := testutil.RequireTool(t, "bsdtar")
	spec, files := hybridSpec(t)
	var buf bytes.Buffer
	_, err := iso.Write(t.Context(), &buf, spec, &iso.Options{ModTime: modTime})
	require.NoError(t, err)
	img := writeFile(t, "out.iso", buf.Bytes())
	dir := t.TempDir()
	t.Logf("interop: bsdtar -xf")
	out, err := exec.Command(bsdtar, "-xf", img, "-C", dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	for name, want := range files {
		m, err := iso.MapName(name)
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(dir, m))
		require.NoError(t, err, m)
		require.Equal(t, want, got, m)
	}
	ld, err := os.ReadFile(filepath.Join(dir, "ISOLINUX/LDLINUX.C32"))
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
// image and the isohybrid MBR and GPT.
func TestReadXorrisoImage(t *testing.T) {
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
	out, err := exec.Command(xorriso, "-as", "mkisofs", "-o", img, "-V", "XORRISO_VOL",
		"-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
		"-isohybrid-mbr", isohdpfxBin, "-eltorito-alt-boot", "-e", "boot/efi.img", "-no-emul-boot", "-isohybrid-gpt-basdat",
		root).CombinedOutput()
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
	require.Equal(t, "ISOLINUX/ISOLINUX.BIN", info.Boot[0].File)
	require.Equal(t, uint8(iso.PlatformEFI), info.Boot[1].Platform)
	require.Equal(t, uint16(len(efi)/512), info.Boot[1].Sectors)
	require.Equal(t, "BOOT/EFI.IMG", info.Boot[1].File)
	require.NotNil(t, info.MBR)
	require.True(t, info.MBR.BootCode)
	require.Equal(t, info.Boot[0].LBA*4, info.MBR.BootLBA)
	require.Equal(t, "0xef", info.MBR.Partitions[1].Type)
	require.Equal(t, int64(info.Boot[1].LBA)*4, info.MBR.Partitions[1].Start)
	require.NotNil(t, info.GPT)
	require.True(t, info.GPT.BackupOK)

	for n, want := range files {
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
