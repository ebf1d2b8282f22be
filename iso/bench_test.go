package iso_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/iso"
)

// BenchmarkWrite writes a 64 MiB EFI image, a 4 KiB loader and 16 files
// of 4 MiB from memory to io.Discard: the cost of the writer itself
// (copying and SHA-256).
func BenchmarkWrite(b *testing.B) {
	efi := testutil.RandomBytes(1, 64<<20)
	file := testutil.RandomBytes(2, 4<<20)
	loader := testutil.RandomBytes(3, 4096)
	spec := func() *iso.Spec {
		s := &iso.Spec{EFI: &iso.File{R: bytes.NewReader(efi), Size: int64(len(efi))},
			BIOS: &iso.BIOS{Loader: iso.File{R: bytes.NewReader(loader), Size: int64(len(loader))}}}
		for i := range 16 {
			s.Files = append(s.Files, iso.File{Name: fmt.Sprintf("data/f%02d.bin", i), R: bytes.NewReader(file), Size: int64(len(file))})
		}
		return s
	}
	b.SetBytes(128 << 20)
	for b.Loop() {
		if _, err := iso.Write(b.Context(), io.Discard, spec(), nil); err != nil {
			b.Fatal(err)
		}
	}
}
