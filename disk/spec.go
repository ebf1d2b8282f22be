package disk

import (
	"io"
	"time"
)

// Loader selects how UEFI firmware reaches the kernel.
type Loader string

const (
	// SystemdBoot installs the caller's systemd-bootx64.efi as
	// \EFI\BOOT\BOOTX64.EFI with loader/loader.conf (timeout 0) and one entry
	// that names the kernel, the initrds and the command line.
	SystemdBoot Loader = "systemd-boot"
	// UKI builds one unified kernel image from the caller's
	// linuxx64.efi.stub with .osrel, .cmdline, .linux and .initrd sections
	// and installs it as \EFI\BOOT\BOOTX64.EFI. The command line cannot be
	// edited at boot.
	UKI Loader = "uki"
)

// File is one input: a host file (Path) or a reader of exactly Size bytes.
// When both are set, the reader wins. Name is the path on the ESP where the
// file goes ("/" separated, relative to the root); kernel and initrds get a
// default name when it is empty.
type File struct {
	Name string    `json:"name,omitempty"`
	Path string    `json:"path,omitempty"`
	Size int64     `json:"size,omitempty"`
	R    io.Reader `json:"-"`
}

// Spec is what goes on the boot disk.
type Spec struct {
	Loader Loader `json:"loader"`
	// EFI is systemd-bootx64.efi (SystemdBoot) or linuxx64.efi.stub (UKI).
	EFI     File   `json:"efi"`
	Kernel  File   `json:"kernel"`  // default name "vmlinuz"
	Initrds []File `json:"initrds"` // default names "initrd.img", "initrd-2.img", …
	Cmdline string `json:"cmdline"`
	// Title names the systemd-boot entry and the syslinux label; default
	// "fogkit".
	Title string `json:"title,omitempty"`
	// OSRelease is the UKI's .osrel section (os-release(5) text); default a
	// minimal one naming Title.
	OSRelease string `json:"osRelease,omitempty"`
	// BIOS makes the disk boot under legacy BIOS too (hybrid); nil means
	// UEFI only.
	BIOS *BIOS `json:"bios,omitempty"`
	// Extra files copied to the ESP at their Name.
	Extra []File `json:"extra,omitempty"`
	// Entry, when set, replaces the generated systemd-boot loader entry
	// (SystemdBoot only): ID names the file, loader/entries/<ID>.conf,
	// and Text is written as it is (package esp makes the appliance's).
	Entry *Entry `json:"entry,omitempty"`
	// LoaderConf, when non-empty, replaces the generated
	// loader/loader.conf ("timeout 0", the entry as default, "editor no").
	LoaderConf string `json:"loaderConf,omitempty"`
}

// Entry is a systemd-boot loader entry given whole.
type Entry struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// BIOS configures the legacy-BIOS half of a hybrid disk: gptmbr.bin goes
// into the first 440 bytes, the ESP gets the legacy-BIOS-bootable attribute
// and a syslinux.cfg, and the Syslinux program installs its boot sector and
// ldlinux.sys with "--install --offset <ESP offset> --directory /" on the
// image file. That program is the only external one this package runs.
type BIOS struct {
	Syslinux string `json:"syslinux"` // path of the syslinux program (mtools flavour)
	GPTMBR   File   `json:"gptmbr"`   // gptmbr.bin, at most 440 bytes
	// Modules are extra files for the ESP root, e.g. COM32 modules a custom
	// config needs; the default config needs none (syslinux installs
	// ldlinux.c32 itself).
	Modules []File `json:"modules,omitempty"`
	// Config replaces the generated syslinux.cfg when non-empty.
	Config string `json:"config,omitempty"`
}

// Options tune the build. A nil *Options means the defaults.
type Options struct {
	// DiskSize is the whole disk in bytes, rounded up to 1 MiB. Zero sizes
	// the ESP to its content (at least 33 MiB). The ESP fills the disk
	// between 1 MiB and the last 1 MiB; when that would be an ESP size
	// go-diskfs formats wrongly, the disk grows by whole MiBs until it is not.
	DiskSize int64 `json:"diskSize,omitempty"`
	// ESPName is the GPT partition name; default "EFI System Partition".
	ESPName string `json:"espName,omitempty"`
	// VolumeLabel is the FAT volume label; default "FOGKIT".
	VolumeLabel string `json:"volumeLabel,omitempty"`
	// Seed derives the disk GUID, the partition GUID and the FAT volume ID.
	// Empty means a seed derived from the Spec (names, sizes, command line).
	Seed string `json:"seed,omitempty"`
	// ModTime stamps every FAT directory entry; zero means 1980-01-01, the
	// FAT epoch (FAT cannot store earlier times).
	ModTime time.Time `json:"modTime,omitempty"`
	// Progress, if set, is called synchronously as the build advances.
	Progress func(Event) `json:"-"`
}

// Event reports progress.
type Event struct {
	Stage string `json:"stage"` // "layout", "write", "syslinux", "verify"
	File  string `json:"file,omitempty"`
	Done  int64  `json:"done"`  // bytes of the current stage
	Total int64  `json:"total"` // bytes expected in the current stage
}

// Partition describes one GPT partition.
type Partition struct {
	Index      int    `json:"index"`
	Name       string `json:"name"`
	Type       string `json:"type"` // type GUID, upper case
	GUID       string `json:"guid"` // unique partition GUID, upper case
	FirstLBA   uint64 `json:"firstLBA"`
	LastLBA    uint64 `json:"lastLBA"`
	Offset     int64  `json:"offset"` // bytes from the start of the disk
	Size       int64  `json:"size"`   // bytes
	Attributes uint64 `json:"attributes"`
}

// LegacyBIOSBootable is the GPT attribute bit (2) that gptmbr.bin looks for.
const LegacyBIOSBootable = 1 << 2

// Layout is the partition table of a disk.
type Layout struct {
	Size       int64       `json:"size"`     // bytes
	DiskGUID   string      `json:"diskGUID"` // upper case
	Partitions []Partition `json:"partitions"`
	// VolumeID is the ESP's FAT volume serial number, as "XXXX-XXXX".
	VolumeID string `json:"volumeID,omitempty"`
	// BIOSBoot reports gptmbr-style boot code in the MBR and the ESP flagged
	// legacy-BIOS-bootable.
	BIOSBoot bool `json:"biosBoot"`
}

// FileInfo is one file on the ESP.
type FileInfo struct {
	Path   string `json:"path"` // "/" separated, no leading slash
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // lowercase hex
}

// Result is what Build made.
type Result struct {
	Layout Layout     `json:"layout"`
	Files  []FileInfo `json:"files"` // every file on the ESP, sorted by path
}
