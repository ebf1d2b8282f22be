package disk

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
)

// BenchmarkBuild writes a systemd-boot disk with an 8 MiB kernel and a
// 64 MiB initrd (incompressible), the size of a typical appliance boot disk.
func BenchmarkBuild(b *testing.B) {
	k := fakeKernel(8 << 20)
	initrd := testutil.RandomBytes(5, 64<<20)
	out := filepath.Join(b.TempDir(), "d.raw")
	b.SetBytes(int64(len(k) + len(initrd)))
	b.ReportAllocs()
	for b.Loop() {
		spec := &Spec{Loader: SystemdBoot, EFI: File{R: bytes.NewReader([]byte("efi")), Size: 3},
			Kernel:  File{R: bytes.NewReader(k), Size: int64(len(k))},
			Initrds: []File{{R: bytes.NewReader(initrd), Size: int64(len(initrd))}}, Cmdline: "x"}
		if _, err := BuildFile(b.Context(), spec, out, nil); err != nil {
			b.Fatal(err)
		}
	}
	os.Remove(out)
}

// BenchmarkBuildUKI is BenchmarkBuild with the UKI loader (needs the stub).
func BenchmarkBuildUKI(b *testing.B) {
	stub := testutil.RequireFile(b, "UKI stub", ukiStub)
	k := fakeKernel(8 << 20)
	initrd := testutil.RandomBytes(5, 64<<20)
	out := filepath.Join(b.TempDir(), "d.raw")
	b.SetBytes(int64(len(k) + len(initrd)))
	b.ReportAllocs()
	for b.Loop() {
		spec := &Spec{Loader: UKI, EFI: File{Path: stub},
			Kernel:  File{R: bytes.NewReader(k), Size: int64(len(k))},
			Initrds: []File{{R: bytes.NewReader(initrd), Size: int64(len(initrd))}}, Cmdline: "x"}
		if _, err := BuildFile(b.Context(), spec, out, nil); err != nil {
			b.Fatal(err)
		}
	}
}
