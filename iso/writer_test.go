package iso_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/iso"
)

func TestBuildTwice(t *testing.T) {
	o := &iso.Options{ModTime: modTime, Seed: "s1"}
	a, ra := write(t, smallSpec(), o)
	b, rb := write(t, smallSpec(), o)
	require.Equal(t, a, b, "same inputs, same bytes")
	require.Equal(t, ra, rb)
	c, rc := write(t, smallSpec(), &iso.Options{ModTime: modTime, Seed: "s2"})
	require.NotEqual(t, a, c)
	require.NotEqual(t, ra.DiskGUID, rc.DiskGUID)
	require.NotEqual(t, ra.DiskSignature, rc.DiskSignature)
	require.Equal(t, len(a), len(c))
}

// onlyWriter hides every method but Write (no Seek, no WriteAt, no
// ReadFrom), as a pipe or a network stream would.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

func TestStreaming(t *testing.T) {
	pr, pw := io.Pipe()
	var got bytes.Buffer
	done := make(chan error, 1)
	go func() { _, err := io.Copy(&got, pr); done <- err }()
	var events []iso.Event
	res, err := iso.Write(t.Context(), onlyWriter{pw}, smallSpec(), &iso.Options{ModTime: modTime,
		Progress: func(e iso.Event) { events = append(events, e) }})
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	require.NoError(t, <-done)
	want, _ := write(t, smallSpec(), &iso.Options{ModTime: modTime})
	require.Equal(t, want, got.Bytes())
	require.Equal(t, int64(got.Len()), res.Size)
	require.Zero(t, res.Size%(1<<20), "whole MiB")

	require.NotEmpty(t, events)
	last := events[len(events)-1]
	require.Equal(t, iso.Event{Stage: "done", Done: res.Size, Total: res.Size}, last)
	var files []string
	for i, e := range events {
		if i > 0 {
			require.GreaterOrEqual(t, e.Done, events[i-1].Done)
		}
		if e.Stage == "write" {
			files = append(files, e.File)
		}
	}
	require.Equal(t, []string{"isolinux/isolinux.bin", "boot/efi.img", "empty", "a/b/c/deep.txt",
		"boot/initrd.img", "boot/vmlinuz", "isolinux/isolinux.cfg"}, files)
}

func TestRoundTrip(t *testing.T) {
	img, res := write(t, smallSpec(), &iso.Options{ModTime: modTime, Seed: "rt"})
	im := openBytes(t, img)
	info := im.Info()
	require.Equal(t, "FOGKIT_TEST", info.VolumeID)
	require.Equal(t, uint32(res.Size/2048), info.Blocks)
	require.Equal(t, res.Boot, info.Boot)
	require.Len(t, info.Boot, 2)
	assert.Equal(t, uint8(iso.PlatformBIOS), info.Boot[0].Platform)
	assert.Equal(t, uint16(4), info.Boot[0].Sectors)
	assert.Equal(t, "isolinux/isolinux.bin", info.Boot[0].File)
	assert.Equal(t, uint8(iso.PlatformEFI), info.Boot[1].Platform)
	assert.Equal(t, uint16((70000+511)/512), info.Boot[1].Sectors)
	assert.Equal(t, "boot/efi.img", info.Boot[1].File)

	require.NotNil(t, info.MBR)
	require.Equal(t, res.MBR, info.MBR.Partitions)
	require.True(t, info.MBR.BootCode)
	require.Equal(t, res.Boot[0].LBA*4, info.MBR.BootLBA)
	require.Equal(t, res.DiskSignature, info.MBR.Signature)
	require.NotNil(t, info.GPT)
	require.Equal(t, res.GPT, info.GPT.Partitions)
	require.Equal(t, res.DiskGUID, info.GPT.DiskGUID)
	require.True(t, info.GPT.BackupOK)
	require.Equal(t, res.Size/512-1, info.GPT.BackupLBA)
	require.Equal(t, int64(res.Boot[1].LBA)*4, res.GPT[1].Start)
	require.Equal(t, iso.GUIDEFISystem, res.GPT[1].Type)

	for name, want := range smallFiles() {
		got, err := im.ReadFile(name)
		require.NoError(t, err, name)
		require.Equal(t, want, got, name)
	}
	// The names given to Write work as well.
	got, err := im.ReadFile("boot/vmlinuz")
	require.NoError(t, err)
	require.Len(t, got, 100000)
	_, err = im.Open("boot/nothere")
	require.ErrorIs(t, err, iso.ErrNotFound)
	_, err = im.Open("a/b")
	require.ErrorIs(t, err, iso.ErrInvalid)

	// The loader: its boot info table patched, the rest as given.
	ld, err := im.ReadFile("isolinux/isolinux.bin")
	require.NoError(t, err)
	orig := fakeLoader()
	require.Equal(t, orig[:8], ld[:8])
	require.Equal(t, orig[64:], ld[64:])
	le := binary.LittleEndian
	require.Equal(t, uint32(16), le.Uint32(ld[8:]))
	require.Equal(t, res.Boot[0].LBA, le.Uint32(ld[12:]))
	require.Equal(t, uint32(len(orig)), le.Uint32(ld[16:]))
	var sum uint32
	for i := 64; i < len(orig); i += 4 {
		sum += le.Uint32(orig[i:])
	}
	require.Equal(t, sum, le.Uint32(ld[20:]))
	require.Equal(t, make([]byte, 40), ld[24:64])

	rep, err := iso.Inspect(t.Context(), bytes.NewReader(img), int64(len(img)))
	require.NoError(t, err)
	require.True(t, rep.OK(), "%+v", rep.Findings)

	// Result.Files lists what Info lists, with the given names.
	byName := map[string]iso.FileInfo{}
	for _, f := range info.Files {
		byName[f.Name] = f
	}
	for _, f := range res.Files {
		g := byName[f.Name]
		require.Equal(t, f.LBA, g.LBA, f.Name)
		require.Equal(t, f.Size, g.Size, f.Name)
	}
}

func TestBootVariants(t *testing.T) {
	efi := func() *iso.File {
		return &iso.File{R: bytes.NewReader(make([]byte, 4096)), Size: 4096, Name: "EFI/ESP.IMG"}
	}
	t.Run("EFI only", func(t *testing.T) {
		img, res := write(t, &iso.Spec{EFI: efi()}, nil)
		require.Equal(t, []iso.BootEntry{{Platform: iso.PlatformEFI, Bootable: true, Sectors: 8, LBA: res.Boot[0].LBA, File: "EFI/ESP.IMG"}}, res.Boot)
		info := openBytes(t, img).Info()
		require.Equal(t, "FOGKIT", info.VolumeID)
		require.Equal(t, res.Boot, info.Boot)
		require.False(t, info.MBR.BootCode)
		require.Len(t, info.MBR.Partitions, 2)
		require.NotNil(t, info.GPT)
	})
	t.Run("BIOS only", func(t *testing.T) {
		img, res := write(t, &iso.Spec{BIOS: &iso.BIOS{Loader: iso.File{R: bytes.NewReader(fakeLoader()), Size: 6000}, LoadSectors: 8}}, nil)
		require.Len(t, res.Boot, 1)
		require.Equal(t, uint16(8), res.Boot[0].Sectors)
		require.Nil(t, res.GPT)
		info := openBytes(t, img).Info()
		require.Nil(t, info.GPT)
		require.Equal(t, res.MBR, info.MBR.Partitions)
		require.False(t, info.MBR.Partitions[0].Bootable, "no boot code, not active")
	})
	t.Run("no boot", func(t *testing.T) {
		img, res := write(t, &iso.Spec{Files: []iso.File{{Name: "x", R: strings.NewReader("x"), Size: 1}}}, nil)
		require.Empty(t, res.Boot)
		info := openBytes(t, img).Info()
		require.Empty(t, info.Boot)
		require.Zero(t, info.CatalogLBA)
		b, err := openBytes(t, img).ReadFile("X")
		require.NoError(t, err)
		require.Equal(t, "x", string(b))
	})
	t.Run("EFI of 40 MiB", func(t *testing.T) {
		// More than 65535 sectors: the count is 0, as xorriso writes it.
		const n = 40 << 20
		res, err := iso.Write(t.Context(), io.Discard, &iso.Spec{EFI: &iso.File{R: io.LimitReader(zeros{}, n), Size: n}}, nil)
		require.NoError(t, err)
		require.Zero(t, res.Boot[0].Sectors)
		require.Equal(t, int64(n/512), res.MBR[1].Sectors)
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestMapName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"boot/vmlinuz", "BOOT/VMLINUZ"},
		{"/boot/vmlinuz-6.1.0", "BOOT/VMLINUZ_6_1.0"},
		{"isolinux/isolinux.cfg", "ISOLINUX/ISOLINUX.CFG"},
		{"EFI/BOOT/BOOTX64.EFI", "EFI/BOOT/BOOTX64.EFI"},
		{"my.dir/ünï code.txt", "MY_DIR/_N__CODE.TXT"},
		{".hidden", ".HIDDEN"},
		{strings.Repeat("a", 26) + ".bin", strings.Repeat("A", 26) + ".BIN"},
	} {
		got, err := iso.MapName(c.in)
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, c.in)
	}
	for _, bad := range []string{"", "a//b", "a/../b", "./a", strings.Repeat("a", 28) + ".bin", strings.Repeat("d", 32) + "/f"} {
		_, err := iso.MapName(bad)
		require.ErrorIs(t, err, iso.ErrName, bad)
		var ne *iso.NameError
		require.ErrorAs(t, err, &ne)
	}
}

func TestSpecErrors(t *testing.T) {
	f := func(name, s string) iso.File {
		return iso.File{Name: name, R: strings.NewReader(s), Size: int64(len(s))}
	}
	for _, c := range []struct {
		name string
		spec *iso.Spec
		want error
	}{
		{"nil", nil, iso.ErrInvalid},
		{"duplicate after mapping", &iso.Spec{Files: []iso.File{f("boot/a-b", "1"), f("BOOT/A_B", "2")}}, iso.ErrName},
		{"file and directory", &iso.Spec{Files: []iso.File{f("boot", "1"), f("boot/x", "2")}}, iso.ErrName},
		{"directory and file", &iso.Spec{Files: []iso.File{f("boot/x", "1"), f("boot", "2")}}, iso.ErrName},
		{"EFI collides", &iso.Spec{EFI: &iso.File{R: strings.NewReader("e"), Size: 1}, Files: []iso.File{f("boot/efi.img", "1")}}, iso.ErrName},
		{"too long", &iso.Spec{Files: []iso.File{f(strings.Repeat("x", 31), "1")}}, iso.ErrName},
		{"no name", &iso.Spec{Files: []iso.File{f("", "1")}}, iso.ErrInvalid},
		{"path and reader", &iso.Spec{Files: []iso.File{{Name: "a", Path: "/etc/hostname", R: strings.NewReader("")}}}, iso.ErrInvalid},
		{"negative size", &iso.Spec{Files: []iso.File{{Name: "a", R: strings.NewReader(""), Size: -1}}}, iso.ErrInvalid},
		{"4 GiB", &iso.Spec{Files: []iso.File{{Name: "a", R: strings.NewReader(""), Size: 1 << 32}}}, iso.ErrTooLarge},
		{"volume id", &iso.Spec{VolumeID: strings.Repeat("V", 33)}, iso.ErrInvalid},
		{"empty EFI", &iso.Spec{EFI: &iso.File{R: strings.NewReader(""), Size: 0}}, iso.ErrInvalid},
		{"load sectors", &iso.Spec{BIOS: &iso.BIOS{Loader: iso.File{R: bytes.NewReader(fakeLoader()), Size: 6000}, LoadSectors: 70000}}, iso.ErrInvalid},
		{"short hybrid MBR", &iso.Spec{BIOS: &iso.BIOS{Loader: iso.File{R: bytes.NewReader(fakeLoader()), Size: 6000}, HybridMBR: []byte{1}}}, iso.ErrInvalid},
		{"tiny loader", &iso.Spec{BIOS: &iso.BIOS{Loader: f("", "abc")}}, iso.ErrInvalid},
		{"short loader", &iso.Spec{BIOS: &iso.BIOS{Loader: iso.File{R: bytes.NewReader(fakeLoader()), Size: 7000}}}, iso.ErrShortInput},
		{"short file", &iso.Spec{Files: []iso.File{{Name: "a", R: strings.NewReader("abc"), Size: 4}}}, iso.ErrShortInput},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := iso.Write(t.Context(), io.Discard, c.spec, nil)
			require.ErrorIs(t, err, c.want)
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := iso.Write(ctx, io.Discard, smallSpec(), nil)
		require.True(t, errors.Is(err, context.Canceled))
	})
}

func TestHostFiles(t *testing.T) {
	data := bytes.Repeat([]byte("host file "), 1000)
	p := writeFile(t, "data.bin", data)
	img, _ := write(t, &iso.Spec{Files: []iso.File{{Name: "data/host.bin", Path: p}}}, nil)
	got, err := openBytes(t, img).ReadFile("data/host.bin")
	require.NoError(t, err)
	require.Equal(t, data, got)
}
