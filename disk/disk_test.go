package disk

import (
	"bytes"
	"context"
	"debug/pe"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/diskfs/go-diskfs/filesystem/fat32"
	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The ESP sizes (MiB) go-diskfs v1.9.4 formats wrongly, from FORMATS.md.
var badESPMiB = []int64{64, 129, 194, 259, 505, 506, 507, 762, 763, 1018, 1019, 1020, 4096}

func TestGoodESPSize(t *testing.T) {
	for _, m := range badESPMiB {
		assert.False(t, GoodESPSize(m*mib), "%d MiB", m)
		assert.Greater(t, goodESPSizeAtLeast(m*mib), m*mib)
	}
	for _, m := range []int64{33, 34, 63, 65, 100, 128, 130, 260, 261, 504, 508, 1021, 2000} {
		assert.True(t, GoodESPSize(m*mib), "%d MiB", m)
		assert.Equal(t, m*mib, goodESPSizeAtLeast(m*mib))
	}
	assert.False(t, GoodESPSize(32*mib))
	assert.Equal(t, 65*mib, goodESPSizeAtLeast(64*mib))
	assert.Equal(t, 508*mib, goodESPSizeAtLeast(505*mib))
}

// smallSpec is a systemd-boot disk with stand-in loader and kernel bytes
// (enough for layout tests; the boot tests use the real ones).
func smallSpec() *Spec {
	k := fakeKernel(300 << 10)
	i1 := testutil.RandomBytes(2, 100<<10)
	i2 := testutil.TextBytes(3, 5000)
	return &Spec{
		Loader:  SystemdBoot,
		EFI:     File{R: bytes.NewReader([]byte("not really systemd-boot")), Size: 23},
		Kernel:  File{R: bytes.NewReader(k), Size: int64(len(k))},
		Initrds: []File{{R: bytes.NewReader(i1), Size: int64(len(i1))}, {Name: "boot/extra.cpio", R: bytes.NewReader(i2), Size: int64(len(i2))}},
		Cmdline: "console=ttyS0 quiet",
		Title:   "Acme Appliance",
		Extra:   []File{{Name: "EFI/acme/readme.txt", R: strings.NewReader("hello\n"), Size: 6}},
	}
}

func buildTemp(t *testing.T, spec *Spec, opts *Options) (string, *Result) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "disk.raw")
	res, err := BuildFile(t.Context(), spec, p, opts)
	require.NoError(t, err)
	return p, res
}

func TestBuildLayoutAndFiles(t *testing.T) {
	var events []Event
	path, res := buildTemp(t, smallSpec(), &Options{Seed: "s1", Progress: func(e Event) { events = append(events, e) }})

	l := res.Layout
	assert.Equal(t, int64(35*mib), l.Size) // 33 MiB ESP + 1 MiB each side
	require.Len(t, l.Partitions, 1)
	p := l.Partitions[0]
	assert.Equal(t, 1, p.Index)
	assert.Equal(t, ESPType, p.Type)
	assert.Equal(t, "EFI System Partition", p.Name)
	assert.Equal(t, int64(mib), p.Offset)
	assert.Equal(t, int64(33*mib), p.Size)
	assert.Equal(t, uint64(2048), p.FirstLBA)
	assert.Equal(t, uint64(0), p.Attributes)
	assert.False(t, l.BIOSBoot)
	assert.Regexp(t, `^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`, l.DiskGUID)
	assert.NotEqual(t, l.DiskGUID, p.GUID)
	assert.Regexp(t, `^[0-9A-F]{4}-[0-9A-F]{4}$`, l.VolumeID)

	spec := smallSpec() // same content again, for the digests
	want := map[string]string{
		"EFI/BOOT/BOOTX64.EFI":               "",
		"loader/loader.conf":                 sha([]byte("timeout 0\ndefault acme-appliance.conf\neditor no\n")),
		"loader/entries/acme-appliance.conf": sha([]byte("title Acme Appliance\nlinux /vmlinuz\ninitrd /initrd.img\ninitrd /boot/extra.cpio\noptions console=ttyS0 quiet\n")),
		"vmlinuz":                            "",
		"initrd.img":                         "",
		"boot/extra.cpio":                    "",
		"EFI/acme/readme.txt":                sha([]byte("hello\n")),
	}
	for name, f := range map[string]File{"EFI/BOOT/BOOTX64.EFI": spec.EFI, "vmlinuz": spec.Kernel, "initrd.img": spec.Initrds[0], "boot/extra.cpio": spec.Initrds[1]} {
		b, _ := io.ReadAll(f.R)
		want[name] = sha(b)
	}
	got := map[string]string{}
	for _, f := range res.Files {
		got[f.Path] = f.SHA256
	}
	assert.Equal(t, want, got)

	// The inspector reads the same back from the file.
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	im, err := Open(f, l.Size)
	require.NoError(t, err)
	assert.Equal(t, l, im.Layout)
	conf, err := im.ReadFile(`\LOADER\LOADER.CONF`)
	require.NoError(t, err)
	assert.Equal(t, "timeout 0\ndefault acme-appliance.conf\neditor no\n", string(conf))
	_, err = im.ReadFile("nope")
	assert.ErrorIs(t, err, ErrNotFound)

	// The image is sparse on disk.
	st, err := f.Stat()
	require.NoError(t, err)
	assert.Less(t, diskUsage(st), l.Size/4)

	require.NotEmpty(t, events)
	assert.Equal(t, "layout", events[0].Stage)
	assert.Equal(t, "verify", events[len(events)-1].Stage)
}

func TestInitrdPadding(t *testing.T) {
	k := fakeKernel(4096)
	spec := &Spec{Loader: SystemdBoot, EFI: File{R: strings.NewReader("efi"), Size: 3},
		Kernel:  File{R: bytes.NewReader(k), Size: int64(len(k))},
		Initrds: []File{{R: strings.NewReader("abcde"), Size: 5}, {R: strings.NewReader("xyz"), Size: 3}}}
	path, res := buildTemp(t, spec, nil)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	im, err := Open(f, res.Layout.Size)
	require.NoError(t, err)
	b, err := im.ReadFile("initrd.img")
	require.NoError(t, err)
	assert.Equal(t, []byte("abcde\x00\x00\x00"), b, "padded to 4 bytes")
	b, err = im.ReadFile("initrd-2.img")
	require.NoError(t, err)
	assert.Equal(t, []byte("xyz"), b, "the last initrd stays as it is")
}

type memWriterAt struct{ b []byte }

func (m *memWriterAt) WriteAt(p []byte, off int64) (int, error) {
	if n := off + int64(len(p)); n > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, n-int64(len(m.b)))...)
	}
	copy(m.b[off:], p)
	return len(p), nil
}

func TestReproducible(t *testing.T) {
	opts := &Options{Seed: "same", ModTime: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)}
	p1, r1 := buildTemp(t, smallSpec(), opts)
	time.Sleep(2100 * time.Millisecond) // FAT times have 2 s resolution: the wall clock must not leak
	p2, r2 := buildTemp(t, smallSpec(), opts)
	assert.Equal(t, fileSHA(t, p1), fileSHA(t, p2))
	assert.Equal(t, r1, r2)

	// Build to a plain io.WriterAt gives the same bytes.
	var m memWriterAt
	r3, err := Build(t.Context(), smallSpec(), &m, opts)
	require.NoError(t, err)
	assert.Equal(t, r1, r3)
	assert.Equal(t, fileSHA(t, p1), sha(m.b))

	// A destination that held other bytes gets exactly the image too: the
	// copy writes the image's zero blocks instead of skipping them.
	dirty := memWriterAt{b: bytes.Repeat([]byte{0xA5}, len(m.b))}
	_, err = Build(t.Context(), smallSpec(), &dirty, opts)
	require.NoError(t, err)
	assert.Equal(t, fileSHA(t, p1), sha(dirty.b))

	// Another seed: other GUIDs and volume ID, same files.
	_, r4 := buildTemp(t, smallSpec(), &Options{Seed: "other"})
	assert.NotEqual(t, r1.Layout.DiskGUID, r4.Layout.DiskGUID)
	assert.NotEqual(t, r1.Layout.Partitions[0].GUID, r4.Layout.Partitions[0].GUID)
	assert.NotEqual(t, r1.Layout.VolumeID, r4.Layout.VolumeID)
	assert.Equal(t, r1.Files, r4.Files)

	// No seed: derived from the spec, still stable.
	_, r5 := buildTemp(t, smallSpec(), nil)
	_, r6 := buildTemp(t, smallSpec(), nil)
	assert.Equal(t, r5, r6)
}

func TestReproducibleBIOS(t *testing.T) {
	syslinux := testutil.RequireTool(t, "syslinux")
	mbr := testutil.RequireFile(t, "gptmbr.bin", gptmbrBin)
	spec := func() *Spec {
		s := smallSpec()
		s.BIOS = &BIOS{Syslinux: syslinux, GPTMBR: File{Path: mbr}}
		return s
	}
	p1, r1 := buildTemp(t, spec(), nil)
	time.Sleep(2100 * time.Millisecond)
	p2, r2 := buildTemp(t, spec(), nil)
	assert.Equal(t, fileSHA(t, p1), fileSHA(t, p2))
	assert.Equal(t, r1, r2)
	assert.True(t, r1.Layout.BIOSBoot)
	assert.Equal(t, uint64(LegacyBIOSBootable), r1.Layout.Partitions[0].Attributes)
	b, err := os.ReadFile(p1)
	require.NoError(t, err)
	m, err := os.ReadFile(mbr)
	require.NoError(t, err)
	assert.Equal(t, m, b[:len(m)])
	names := map[string]bool{}
	for _, f := range r1.Files {
		names[f.Path] = true
	}
	assert.True(t, names["ldlinux.sys"] && names["ldlinux.c32"] && names["syslinux.cfg"], "%v", names)
	fsckESP(t, p1, r1)
}

// espFile copies the ESP out of a (sparse) image, data regions only.
func espFile(t *testing.T, img string, p Partition) string {
	t.Helper()
	in, err := os.Open(img)
	require.NoError(t, err)
	defer in.Close()
	out := filepath.Join(t.TempDir(), "esp.img")
	o, err := os.Create(out)
	require.NoError(t, err)
	defer o.Close()
	require.NoError(t, o.Truncate(p.Size))
	require.NoError(t, copyData(in, o, p.Offset, p.Size))
	return out
}

// copyData copies [off, off+n) of in to out at 0, skipping holes with
// SEEK_DATA/SEEK_HOLE.
func copyData(in, out *os.File, off, n int64) error {
	const seekData, seekHole = 3, 4
	end := off + n
	pos := off
	for pos < end {
		d, err := in.Seek(pos, seekData)
		if err != nil || d >= end {
			return nil // ENXIO: no more data
		}
		h, err := in.Seek(d, seekHole)
		if err != nil {
			return err
		}
		h = min(h, end)
		if _, err := io.Copy(io.NewOffsetWriter(out, d-off), io.NewSectionReader(in, d, h-d)); err != nil {
			return err
		}
		pos = h
	}
	return nil
}

func fsckESP(t *testing.T, img string, res *Result) {
	t.Helper()
	fsck := testutil.RequireTool(t, "fsck.fat")
	esp := espFile(t, img, res.Layout.Partitions[0])
	r := testutil.Run(t, "", nil, fsck, "-n", esp)
	require.Equal(t, 0, r.ExitCode, "fsck.fat -n (ESP %d MiB):\n%s%s", res.Layout.Partitions[0].Size/mib, r.Stdout, r.Stderr)
}

// TestESPSizeSweep formats ESPs from 33 MiB to 1 GiB, every size go-diskfs
// gets wrong and its neighbours included, and has fsck.fat judge each.
func TestESPSizeSweep(t *testing.T) {
	testutil.RequireTool(t, "fsck.fat")
	sizes := map[int64]bool{33: true, 34: true, 1024: true}
	for m := int64(40); m <= 1024; m += 97 {
		sizes[m] = true
	}
	for _, m := range badESPMiB {
		if m <= 1024 {
			sizes[m-1], sizes[m], sizes[m+1] = true, true, true
		}
	}
	for _, m := range slices.Sorted(maps.Keys(sizes)) {
		t.Run(fmt.Sprintf("%dMiB", m), func(t *testing.T) {
			k := fakeKernel(64 << 10)
			spec := &Spec{Loader: SystemdBoot, EFI: File{R: strings.NewReader("efi"), Size: 3},
				Kernel: File{R: bytes.NewReader(k), Size: int64(len(k))}, Cmdline: "x"}
			img, res := buildTemp(t, spec, &Options{DiskSize: (m + 2) * mib})
			esp := res.Layout.Partitions[0].Size
			assert.True(t, GoodESPSize(esp))
			assert.GreaterOrEqual(t, esp, m*mib, "never smaller than asked")
			if GoodESPSize(m * mib) {
				assert.Equal(t, m*mib, esp)
			} else {
				assert.Equal(t, goodESPSizeAtLeast(m*mib), esp, "rounded up to the next good size")
			}
			fsckESP(t, img, res)
		})
	}
}

// TestGoDiskfsBadSizeControl shows the sweep can fail: go-diskfs itself,
// asked for a 64 MiB FAT32, writes one fsck.fat rejects.
func TestGoDiskfsBadSizeControl(t *testing.T) {
	fsck := testutil.RequireTool(t, "fsck.fat")
	p := filepath.Join(t.TempDir(), "bad.img")
	f, err := os.Create(p)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.Truncate(64*mib))
	st := newFileStorage(f)
	_, err = fat32.Create(st, 64*mib, 0, 512, "BAD", true)
	require.NoError(t, err)
	require.NoError(t, st.flush())
	r := testutil.Run(t, "", nil, fsck, "-n", p)
	assert.NotEqual(t, 0, r.ExitCode, "fsck.fat accepted go-diskfs's 64 MiB FAT32:\n%s", r.Stdout)
}

func TestInteropTools(t *testing.T) {
	mcopy := testutil.RequireTool(t, "mcopy")
	mdir := testutil.RequireTool(t, "mdir")
	sfdisk := testutil.RequireTool(t, "sfdisk")
	stub := testutil.RequireFile(t, "UKI stub", ukiStub)
	for _, loader := range []Loader{SystemdBoot, UKI} {
		t.Run(string(loader), func(t *testing.T) {
			spec := smallSpec()
			spec.Loader = loader
			if loader == UKI {
				spec.EFI = File{Path: stub}
			}
			img, res := buildTemp(t, spec, &Options{Seed: "interop", ESPName: "boot"})
			fsckESP(t, img, res)
			p := res.Layout.Partitions[0]
			at := img + "@@" + itoa(p.Offset)

			out := testutil.MustRun(t, "", nil, mdir, "-i", at, "-/", "::/")
			assert.Contains(t, string(out), "BOOTX64")
			dir := t.TempDir()
			for _, f := range res.Files {
				dst := filepath.Join(dir, strings.ReplaceAll(f.Path, "/", "_"))
				testutil.MustRun(t, "", nil, mcopy, "-n", "-i", at, "::/"+f.Path, dst)
				assert.Equal(t, f.SHA256, fileSHA(t, dst), f.Path)
			}

			var js struct {
				PartitionTable struct {
					Label      string `json:"label"`
					ID         string `json:"id"`
					Unit       string `json:"unit"`
					Partitions []struct {
						Start int64  `json:"start"`
						Size  int64  `json:"size"`
						Type  string `json:"type"`
						UUID  string `json:"uuid"`
						Name  string `json:"name"`
						Attrs string `json:"attrs"`
					} `json:"partitions"`
				} `json:"partitiontable"`
			}
			require.NoError(t, json.Unmarshal(testutil.MustRun(t, "", nil, sfdisk, "--json", img), &js))
			pt := js.PartitionTable
			assert.Equal(t, "gpt", pt.Label)
			assert.Equal(t, res.Layout.DiskGUID, strings.ToUpper(pt.ID))
			require.Len(t, pt.Partitions, 1)
			assert.Equal(t, int64(2048), pt.Partitions[0].Start)
			assert.Equal(t, p.Size/512, pt.Partitions[0].Size)
			assert.Equal(t, ESPType, strings.ToUpper(pt.Partitions[0].Type))
			assert.Equal(t, p.GUID, strings.ToUpper(pt.Partitions[0].UUID))
			assert.Equal(t, "boot", pt.Partitions[0].Name)
			v := testutil.Run(t, "", nil, sfdisk, "--verify", img)
			assert.Equal(t, 0, v.ExitCode, "%s%s", v.Stdout, v.Stderr)
		})
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// TestUKI checks the PE the UKI loader writes with Go's debug/pe: the four
// sections with their exact content, addresses after the stub's sections
// and aligned, SizeOfImage, SizeOfHeaders and the checksum.
func TestUKI(t *testing.T) {
	stubPath := testutil.RequireFile(t, "UKI stub", ukiStub)
	stubBytes, err := os.ReadFile(stubPath)
	require.NoError(t, err)

	// Our checksum routine reproduces the stub's own checksum.
	zeroed := append([]byte(nil), stubBytes...)
	sp, err := parseStub(stubBytes)
	require.NoError(t, err)
	recorded := binary.LittleEndian.Uint32(zeroed[sp.optOff+64:])
	copy(zeroed[sp.optOff+64:sp.optOff+68], make([]byte, 4))
	if recorded != 0 {
		var ck peChecksum
		ck.Write(zeroed)
		assert.Equal(t, recorded, ck.Sum())
	}

	spec := smallSpec()
	spec.Loader = UKI
	spec.EFI = File{Path: stubPath}
	spec.OSRelease = "ID=acme\n"
	kernel := fakeKernel(300 << 10)
	init1 := testutil.RandomBytes(2, 100<<10)
	init2 := testutil.TextBytes(3, 5000)
	_, res := buildTemp(t, spec, nil)
	for _, f := range res.Files {
		assert.NotContains(t, []string{"vmlinuz", "initrd.img", "loader/loader.conf"}, f.Path, "UEFI-only UKI disks carry no loose kernel")
	}
	spec = smallSpec()
	spec.Loader = UKI
	spec.EFI = File{Path: stubPath}
	spec.OSRelease = "ID=acme\n"
	path, _ := buildTemp(t, spec, nil)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	im, err := Open(f, res.Layout.Size)
	require.NoError(t, err)
	uki, err := im.ReadFile("EFI/BOOT/BOOTX64.EFI")
	require.NoError(t, err)

	pf, err := pe.NewFile(bytes.NewReader(uki))
	require.NoError(t, err)
	oh := pf.OptionalHeader.(*pe.OptionalHeader64)
	stubPE, err := pe.NewFile(bytes.NewReader(stubBytes))
	require.NoError(t, err)
	stubOH := stubPE.OptionalHeader.(*pe.OptionalHeader64)
	var stubEnd uint32
	for _, s := range stubPE.Sections {
		stubEnd = max(stubEnd, s.VirtualAddress+s.VirtualSize)
	}
	require.Len(t, pf.Sections, len(stubPE.Sections)+4)
	want := map[string][]byte{
		".osrel":   []byte("ID=acme\n"),
		".cmdline": []byte("console=ttyS0 quiet"),
		".initrd":  append(append(append([]byte(nil), init1...), init2...), make([]byte, alignUp(int64(len(init2)), 4)-int64(len(init2)))...),
		".linux":   kernel,
	}
	prevEnd := stubEnd
	for i, s := range pf.Sections[len(stubPE.Sections):] {
		assert.Equal(t, []string{".osrel", ".cmdline", ".initrd", ".linux"}[i], s.Name)
		assert.GreaterOrEqual(t, s.VirtualAddress, prevEnd, s.Name)
		assert.Zero(t, s.VirtualAddress%oh.SectionAlignment, s.Name)
		assert.Zero(t, s.VirtualAddress%4096, s.Name)
		assert.Zero(t, s.Offset%oh.FileAlignment, s.Name)
		assert.Zero(t, s.Size%oh.FileAlignment, s.Name)
		assert.Equal(t, uint32(len(want[s.Name])), s.VirtualSize, s.Name)
		b, err := s.Data()
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want[s.Name], b[:s.VirtualSize]), s.Name)
		prevEnd = s.VirtualAddress + s.VirtualSize
	}
	last := pf.Sections[len(pf.Sections)-1]
	assert.Equal(t, alignUp(int64(last.VirtualAddress+last.VirtualSize), int64(oh.SectionAlignment)), int64(oh.SizeOfImage))
	assert.Equal(t, int64(last.Offset+last.Size), int64(len(uki)))
	assert.Equal(t, stubOH.SectionAlignment, oh.SectionAlignment)
	assert.Equal(t, stubOH.FileAlignment, oh.FileAlignment)
	assert.Equal(t, stubOH.AddressOfEntryPoint, oh.AddressOfEntryPoint)
	assert.GreaterOrEqual(t, oh.SizeOfHeaders, uint32(0x40)) // and headers fit:
	assert.LessOrEqual(t, int64(pf.Sections[0].Offset), int64(len(uki)))
	assert.Equal(t, peChecksumOf(uki, int(sp.optOff+64)), oh.CheckSum)
	// The stub's own sections are byte-identical.
	for i, s := range stubPE.Sections {
		a, _ := s.Data()
		b, _ := pf.Sections[i].Data()
		assert.Equal(t, sha(a), sha(b), s.Name)
	}
}

// peChecksumOf is an independent, plain implementation of the PE checksum.
func peChecksumOf(b []byte, field int) uint32 {
	var sum uint64
	for i := 0; i < len(b); i += 2 {
		if i >= field && i < field+4 {
			continue
		}
		w := uint64(b[i])
		if i+1 < len(b) {
			w |= uint64(b[i+1]) << 8
		}
		sum += w
		sum = (sum & 0xffff) + (sum >> 16)
	}
	sum = (sum & 0xffff) + (sum >> 16)
	return uint32(sum) + uint32(len(b))
}

func TestBadInput(t *testing.T) {
	big := testutil.RandomBytes(9, 40<<20)
	k := fakeKernel(4096)
	kf := func() File { return File{R: bytes.NewReader(k), Size: int64(len(k))} }
	efi := func() File { return File{R: strings.NewReader("efi"), Size: 3} }
	stubPath := ukiStub
	for _, tc := range []struct {
		name   string
		spec   *Spec
		opts   *Options
		target error
		as     any
	}{
		{"ESP too small for its files", &Spec{Loader: SystemdBoot, EFI: efi(), Kernel: kf(),
			Extra: []File{{Name: "big.bin", R: bytes.NewReader(big), Size: int64(len(big))}}},
			&Options{DiskSize: 36 * mib}, ErrESPTooSmall, new(*SizeError)},
		{"disk too small for FAT32", &Spec{Loader: SystemdBoot, EFI: efi(), Kernel: kf()},
			&Options{DiskSize: 20 * mib}, ErrESPTooSmall, new(*SizeError)},
		{"missing loader", &Spec{Loader: SystemdBoot, EFI: File{Path: "/nonexistent/systemd-bootx64.efi"}, Kernel: kf()},
			nil, ErrMissingAsset, new(*AssetError)},
		{"no loader at all", &Spec{Loader: SystemdBoot, Kernel: kf()}, nil, ErrMissingAsset, new(*AssetError)},
		{"missing initrd", &Spec{Loader: SystemdBoot, EFI: efi(), Kernel: kf(), Initrds: []File{{Path: "/nonexistent/initrd"}}},
			nil, ErrMissingAsset, new(*AssetError)},
		{"kernel not PE or bzImage (UKI)", &Spec{Loader: UKI, EFI: File{Path: stubPath},
			Kernel: File{R: strings.NewReader(strings.Repeat("x", 4096)), Size: 4096}}, nil, ErrBadKernel, new(*FormatError)},
		{"kernel not PE or bzImage (systemd-boot)", &Spec{Loader: SystemdBoot, EFI: efi(),
			Kernel: File{R: strings.NewReader("tiny"), Size: 4}}, nil, ErrBadKernel, new(*FormatError)},
		{"stub not a PE", &Spec{Loader: UKI, EFI: efi(), Kernel: kf()}, nil, ErrBadStub, new(*FormatError)},
		{"short reader", &Spec{Loader: SystemdBoot, EFI: File{R: strings.NewReader("efi"), Size: 10}, Kernel: kf()},
			nil, ErrShortInput, new(*AssetError)},
		{"unknown loader", &Spec{Loader: "grub", EFI: efi(), Kernel: kf()}, nil, ErrInvalidSpec, nil},
		{"path escapes", &Spec{Loader: SystemdBoot, EFI: efi(), Kernel: kf(), Extra: []File{{Name: "../x", R: strings.NewReader(""), Size: 0}}},
			nil, ErrInvalidSpec, nil},
		{"duplicate path", &Spec{Loader: SystemdBoot, EFI: efi(), Kernel: kf(), Extra: []File{{Name: "VMLINUZ", R: strings.NewReader(""), Size: 0}}},
			nil, ErrInvalidSpec, nil},
		{"BIOS without syslinux", &Spec{Loader: SystemdBoot, EFI: efi(), Kernel: kf(), BIOS: &BIOS{GPTMBR: File{R: strings.NewReader("m"), Size: 1}}},
			nil, ErrSyslinux, new(*ToolError)},
		{"BIOS with a missing syslinux", &Spec{Loader: SystemdBoot, EFI: efi(), Kernel: kf(),
			BIOS: &BIOS{Syslinux: "/nonexistent/syslinux", GPTMBR: File{R: strings.NewReader("m"), Size: 1}}},
			nil, ErrSyslinux, new(*ToolError)},
		{"gptmbr too big", &Spec{Loader: SystemdBoot, EFI: efi(), Kernel: kf(),
			BIOS: &BIOS{Syslinux: "syslinux", GPTMBR: File{R: bytes.NewReader(make([]byte, 512)), Size: 512}}},
			nil, ErrInvalidSpec, new(*FormatError)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.spec.Loader == UKI && tc.spec.EFI.Path == stubPath {
				testutil.RequireFile(t, "UKI stub", stubPath)
			}
			out := filepath.Join(t.TempDir(), "d.raw")
			_, err := BuildFile(t.Context(), tc.spec, out, tc.opts)
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.target)
			if tc.as != nil {
				assert.ErrorAs(t, err, tc.as)
			}
			_, statErr := os.Stat(out)
			assert.True(t, errors.Is(statErr, os.ErrNotExist), "no half-built image is left behind")
		})
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := BuildFile(ctx, smallSpec(), filepath.Join(t.TempDir(), "d.raw"), nil)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestStubHeaderSpace(t *testing.T) {
	stubPath := testutil.RequireFile(t, "UKI stub", ukiStub)
	b, err := os.ReadFile(stubPath)
	require.NoError(t, err)
	s, err := parseStub(b)
	require.NoError(t, err)
	// Pretend the first section starts right after the section table.
	c := append([]byte(nil), b...)
	s2, err := parseStub(c)
	require.NoError(t, err)
	s2.firstRaw = uint32(s.secOff + s.nsec*peSectionHeaderSize)
	_, err = s2.plan(make([]ukiSection, 4))
	assert.ErrorIs(t, err, ErrBadStub)
	// A stub that already is a UKI is refused.
	copy(c[s.secOff:s.secOff+8], ".linux\x00\x00")
	_, err = parseStub(c)
	assert.ErrorIs(t, err, ErrBadStub)
}

func TestFATTime(t *testing.T) {
	d, tm, tenths := fatTime(time.Time{})
	assert.Equal(t, uint16(0<<9|1<<5|1), d)
	assert.Equal(t, uint16(0), tm)
	assert.Equal(t, byte(0), tenths)
	d, tm, tenths = fatTime(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC))
	assert.Equal(t, uint16(44<<9|5<<5|6), d)
	assert.Equal(t, uint16(7<<11|8<<5|4), tm)
	assert.Equal(t, byte(100), tenths)
}

// TestUKIWithBIOS: the kernel and initrds come from readers (consumed once)
// and must land both as loose files (for syslinux) and inside the UKI.
func TestUKIWithBIOS(t *testing.T) {
	stub := testutil.RequireFile(t, "UKI stub", ukiStub)
	syslinux := testutil.RequireTool(t, "syslinux")
	mbr := testutil.RequireFile(t, "gptmbr.bin", gptmbrBin)
	spec := smallSpec()
	spec.Loader = UKI
	spec.EFI = File{Path: stub}
	spec.BIOS = &BIOS{Syslinux: syslinux, GPTMBR: File{Path: mbr}}
	kernel := fakeKernel(300 << 10)
	path, res := buildTemp(t, spec, nil)
	fsckESP(t, path, res)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	im, err := Open(f, res.Layout.Size)
	require.NoError(t, err)
	loose, err := im.ReadFile("vmlinuz")
	require.NoError(t, err)
	assert.Equal(t, sha(kernel), sha(loose))
	cfg, err := im.ReadFile("syslinux.cfg")
	require.NoError(t, err)
	assert.Contains(t, string(cfg), "INITRD /initrd.img,/boot/extra.cpio\n")
	assert.Contains(t, string(cfg), "APPEND console=ttyS0 quiet\n")
	uki, err := im.ReadFile("EFI/BOOT/BOOTX64.EFI")
	require.NoError(t, err)
	pf, err := pe.NewFile(bytes.NewReader(uki))
	require.NoError(t, err)
	lx := pf.Section(".linux")
	require.NotNil(t, lx)
	d, err := lx.Data()
	require.NoError(t, err)
	assert.Equal(t, sha(kernel), sha(d[:lx.VirtualSize]))
	rd := pf.Section(".initrd")
	require.NotNil(t, rd)
	assert.Equal(t, uint32(100<<10+5000), rd.VirtualSize)
}

// TestEntryAndLoaderConf: a given entry and loader.conf replace the
// generated ones, and the kernel and initrd go where their Name says.
func TestEntryAndLoaderConf(t *testing.T) {
	spec := smallSpec()
	spec.Kernel.Name, spec.Initrds = "fogkit/7/vmlinuz", spec.Initrds[:1]
	spec.Initrds[0].Name = "fogkit/7/initrd.img"
	spec.Entry = &Entry{ID: "fogkit-7", Text: "title x\nlinux /fogkit/7/vmlinuz\ninitrd /fogkit/7/initrd.img\noptions fogkit.slot=7\n"}
	spec.LoaderConf = "timeout 0\ndefault fogkit-*\n"
	_, res := buildTemp(t, spec, &Options{Seed: "s1"})
	got := map[string]string{}
	for _, f := range res.Files {
		got[f.Path] = f.SHA256
	}
	assert.Equal(t, sha([]byte(spec.Entry.Text)), got["loader/entries/fogkit-7.conf"])
	assert.Equal(t, sha([]byte(spec.LoaderConf)), got["loader/loader.conf"])
	assert.Contains(t, got, "fogkit/7/vmlinuz")
	assert.Contains(t, got, "fogkit/7/initrd.img")
	assert.NotContains(t, got, "loader/entries/acme-appliance.conf")

	bad := smallSpec()
	bad.Entry = &Entry{ID: "Fogkit+3", Text: "x"}
	_, err := BuildFile(t.Context(), bad, filepath.Join(t.TempDir(), "d.raw"), nil)
	assert.ErrorIs(t, err, ErrInvalidSpec)
}
