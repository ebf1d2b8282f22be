package disk_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fogkit/fogkit/disk"
)

// Build a systemd-boot disk and list what went on it. Real callers pass
// the host's systemd-bootx64.efi and kernel by path
// (disk.File{Path: "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"}); the
// stand-in bytes here keep the example self-contained.
func Example() {
	kernel := make([]byte, 4096)
	copy(kernel[0x202:], "HdrS") // an x86 bzImage header
	initrd := []byte("070701...a cpio archive from the rootfs package")
	loader := []byte("systemd-bootx64.efi stand-in")

	dir, _ := os.MkdirTemp("", "disk-example")
	defer os.RemoveAll(dir)
	res, err := disk.BuildFile(context.Background(), &disk.Spec{
		Loader:  disk.SystemdBoot,
		EFI:     disk.File{R: bytes.NewReader(loader), Size: int64(len(loader))},
		Kernel:  disk.File{R: bytes.NewReader(kernel), Size: int64(len(kernel))},
		Initrds: []disk.File{{R: bytes.NewReader(initrd), Size: int64(len(initrd))}},
		Cmdline: "console=ttyS0 quiet",
		Title:   "Acme",
	}, filepath.Join(dir, "boot.raw"), &disk.Options{
		Seed:    "acme-1.0",
		ModTime: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	l := res.Layout
	fmt.Printf("disk %d MiB, GUID %s\n", l.Size>>20, l.DiskGUID)
	for _, p := range l.Partitions {
		fmt.Printf("part %d %q at %d MiB, %d MiB, GUID %s\n", p.Index, p.Name, p.Offset>>20, p.Size>>20, p.GUID)
	}
	for _, f := range res.Files {
		fmt.Printf("%-32s %5d %s…\n", f.Path, f.Size, f.SHA256[:12])
	}
	// Output:
	// disk 35 MiB, GUID 352ED405-F9BB-43DE-9DA2-8F2A780AA9D0
	// part 1 "EFI System Partition" at 1 MiB, 33 MiB, GUID C2D77ABA-7A1F-4073-9054-586C9B34411E
	// EFI/BOOT/BOOTX64.EFI                28 6bc628d0879c…
	// initrd.img                          47 3771511bc8bd…
	// loader/entries/acme.conf            73 6939082d8ebf…
	// loader/loader.conf                  38 36176f8725b7…
	// vmlinuz                           4096 c21e4aab8b30…
}

// Read a file back from a built image.
func ExampleOpen() {
	kernel := make([]byte, 4096)
	copy(kernel[0x202:], "HdrS")
	dir, _ := os.MkdirTemp("", "disk-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "boot.raw")
	_, err := disk.BuildFile(context.Background(), &disk.Spec{
		Loader:  disk.SystemdBoot,
		EFI:     disk.File{R: strings.NewReader("efi"), Size: 3},
		Kernel:  disk.File{R: bytes.NewReader(kernel), Size: int64(len(kernel))},
		Cmdline: "console=ttyS0",
	}, path, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	f, _ := os.Open(path)
	defer f.Close()
	st, _ := f.Stat()
	im, err := disk.Open(f, st.Size())
	if err != nil {
		fmt.Println(err)
		return
	}
	entry, _ := im.ReadFile("loader/entries/fogkit.conf")
	fmt.Print(string(entry))
	// Output:
	// title fogkit
	// linux /vmlinuz
	// options console=ttyS0
}

// Sizes go-diskfs v1.9.4 would format wrongly are never used.
func ExampleGoodESPSize() {
	for _, mib := range []int64{63, 64, 65} {
		fmt.Println(mib, disk.GoodESPSize(mib<<20))
	}
	// Output:
	// 63 true
	// 64 false
	// 65 true
}
