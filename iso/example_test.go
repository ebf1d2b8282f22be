package iso_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/fogkit/fogkit/iso"
)

// Write a hybrid image with an EFI boot image and a BIOS loader, then read
// it back.
func Example() {
	esp := bytes.Repeat([]byte{0}, 64<<10)  // an ESP image (FAT) in real use
	loader := bytes.Repeat([]byte{0}, 4096) // isolinux.bin in real use
	cfg := "DEFAULT linux\nLABEL linux\n  KERNEL /boot/vmlinuz\n"
	spec := &iso.Spec{
		VolumeID: "APPLIANCE_1_0",
		EFI:      &iso.File{R: bytes.NewReader(esp), Size: int64(len(esp))},
		BIOS:     &iso.BIOS{Loader: iso.File{R: bytes.NewReader(loader), Size: int64(len(loader))}},
		Files: []iso.File{
			{Name: "isolinux/isolinux.cfg", R: strings.NewReader(cfg), Size: int64(len(cfg))},
			{Name: "boot/vmlinuz", R: strings.NewReader("kernel"), Size: 6},
		},
	}
	var out bytes.Buffer
	res, err := iso.Write(context.Background(), &out, spec, &iso.Options{Seed: "example"})
	if err != nil {
		panic(err)
	}
	fmt.Println("size:", res.Size)
	for _, b := range res.Boot {
		fmt.Printf("boot: platform 0x%02x, %d sectors at block %d, %s\n", b.Platform, b.Sectors, b.LBA, b.File)
	}
	for _, p := range res.MBR {
		fmt.Printf("MBR partition %d: type %s, sectors %d+%d\n", p.Index, p.Type, p.Start, p.Sectors)
	}
	for _, p := range res.GPT {
		fmt.Printf("GPT partition %d: %s, sectors %d+%d\n", p.Index, p.Name, p.Start, p.Sectors)
	}

	im, err := iso.Open(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		panic(err)
	}
	k, err := im.ReadFile("boot/vmlinuz")
	if err != nil {
		panic(err)
	}
	fmt.Println(im.Info().VolumeID, string(k))
	// Output:
	// size: 1048576
	// boot: platform 0x00, 4 sectors at block 25, isolinux/isolinux.bin
	// boot: platform 0xef, 128 sectors at block 27, boot/efi.img
	// MBR partition 1: type 0x00, sectors 0+2048
	// MBR partition 2: type 0xef, sectors 108+128
	// GPT partition 1: ISO9660, sectors 0+244
	// GPT partition 2: EFI, sectors 108+128
	// APPLIANCE_1_0 kernel
}

// MapName shows where a file lands in the ISO 9660 name space.
func ExampleMapName() {
	// The last '.' of a file name starts its extension; other characters
	// than letters, digits and '_' become '_'.
	for _, n := range []string{"boot/vmlinuz-6.1.0-amd64", "EFI/BOOT/BOOTX64.EFI", "isolinux/ldlinux.c32"} {
		m, err := iso.MapName(n)
		fmt.Println(m, err)
	}
	// Output:
	// BOOT/VMLINUZ_6_1.0_AMD64 <nil>
	// EFI/BOOT/BOOTX64.EFI <nil>
	// ISOLINUX/LDLINUX.C32 <nil>
}

// Inspect reports the layout of an image and what is wrong with it.
func ExampleInspect() {
	var out bytes.Buffer
	efi := &iso.File{R: bytes.NewReader(make([]byte, 8192)), Size: 8192}
	if _, err := iso.Write(context.Background(), &out, &iso.Spec{EFI: efi}, nil); err != nil {
		panic(err)
	}
	img := out.Bytes()
	rep, err := iso.Inspect(context.Background(), bytes.NewReader(img), int64(len(img)))
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.OK(), len(rep.Info.Boot), rep.Info.GPT.BackupOK)

	img[len(img)-512] = 0 // break the backup GPT header
	rep, _ = iso.Inspect(context.Background(), bytes.NewReader(img), int64(len(img)))
	fmt.Println(rep.OK(), rep.Findings[0].Rule)
	// Output:
	// true 1 true
	// false GPT
}
