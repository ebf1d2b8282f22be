package disk

import (
	"bytes"
	"debug/pe"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diskfs/go-diskfs/filesystem/fat32"
	"github.com/diskfs/go-diskfs/partition/gpt"
)

// tinyImage is a 3 MiB GPT disk with a 1 MiB FAT32 ESP holding a few
// files: a small seed for FuzzInspect (real ESPs are at least 33 MiB).
func tinyImage(f testing.TB) []byte {
	p := filepath.Join(f.TempDir(), "tiny.raw")
	fh, err := os.Create(p)
	if err != nil {
		f.Fatal(err)
	}
	defer fh.Close()
	const size = 3 << 20
	if err := fh.Truncate(size); err != nil {
		f.Fatal(err)
	}
	st := newFileStorage(fh)
	tbl := &gpt.Table{LogicalSectorSize: 512, PhysicalSectorSize: 512, ProtectiveMBR: true,
		GUID: "11111111-2222-4333-8444-555555555555",
		Partitions: []*gpt.Partition{{Index: 1, Start: 2048, Size: 1 << 20, Type: gpt.EFISystemPartition,
			Name: "ESP", GUID: "66666666-7777-4888-9999-AAAAAAAAAAAA"}}}
	if err := tbl.Write(st, size); err != nil {
		f.Fatal(err)
	}
	fsys, err := fat32.Create(st, 1<<20, 1<<20, 512, "TINY", true)
	if err != nil {
		f.Fatal(err)
	}
	for name, data := range map[string]string{"/EFI/BOOT/BOOTX64.EFI": "efi", "/loader/a-long-file-name.conf": strings.Repeat("x", 3000)} {
		_ = fsys.Mkdir(filepath.Dir(name))
		w, err := fsys.OpenFile(name, os.O_CREATE|os.O_RDWR)
		if err != nil {
			f.Fatal(err)
		}
		if _, err := w.Write([]byte(data)); err != nil {
			f.Fatal(err)
		}
	}
	if err := st.flush(); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

func FuzzInspect(f *testing.F) {
	img := tinyImage(f)
	f.Add(img)
	f.Add(img[:40<<10])
	f.Add([]byte{})
	bad := append([]byte(nil), img...)
	bad[1<<20+13] = 0 // sectors per cluster
	f.Add(bad)
	f.Fuzz(func(t *testing.T, b []byte) {
		im, err := Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if _, err := im.Files(); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("untyped error: %v", err)
		}
		if r, _, err := im.OpenFile("loader/a-long-file-name.conf"); err == nil {
			_, _ = io.Copy(io.Discard, r)
		}
	})
}

func FuzzParseStub(f *testing.F) {
	f.Add(minimalStub())
	if b, err := os.ReadFile(ukiStub); err == nil {
		f.Add(b)
	}
	f.Add([]byte("MZ"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxStubSize {
			return
		}
		s, err := parseStub(b)
		if err != nil {
			if !errors.Is(err, ErrBadStub) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		secs := []ukiSection{
			{name: ".osrel", size: 3, open: generated("", []byte("a=b")).open},
			{name: ".linux", size: 5, open: generated("", []byte("hello")).open},
		}
		p, err := s.plan(secs)
		if err != nil {
			if !errors.Is(err, ErrBadStub) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		var out bytes.Buffer
		patch := func(off int64, v []byte) error { copy(out.Bytes()[off:], v); return nil }
		if err := writeUKI(&out, p, secs, patch, nil); err != nil {
			t.Fatal(err)
		}
		if int64(out.Len()) != p.size {
			t.Fatalf("wrote %d bytes, planned %d", out.Len(), p.size)
		}
		pf, err := pe.NewFile(bytes.NewReader(out.Bytes()))
		if err != nil {
			return // the stub may carry oddities debug/pe dislikes
		}
		last := pf.Sections[len(pf.Sections)-1]
		if last.Name != ".linux" {
			t.Fatalf("last section %q", last.Name)
		}
		if d, _ := last.Data(); !bytes.HasPrefix(d, []byte("hello")) {
			t.Fatalf(".linux holds %q", d)
		}
	})
}

func FuzzSniffKernel(f *testing.F) {
	f.Add(fakeKernel(1024))
	f.Add([]byte("MZ"))
	f.Add(minimalStub())
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := sniffKernel(b); err != nil && !errors.Is(err, ErrBadKernel) {
			t.Fatalf("untyped error: %v", err)
		}
	})
}

func TestTinyImageSeed(t *testing.T) {
	b := tinyImage(t)
	res, err := Inspect(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range res.Files {
		names = append(names, f.Path)
	}
	if strings.Join(names, ",") != "EFI/BOOT/BOOTX64.EFI,loader/a-long-file-name.conf" {
		t.Fatalf("files %v", names)
	}
}
