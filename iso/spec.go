package iso

import (
	"encoding/hex"
	"io"
	"time"
)

// File is one file in the ISO (the same shape as disk.File).
type File struct {
	// Name is the slash path in the ISO, e.g. "boot/vmlinuz"; directories
	// are implied. It is stored in its ISO 9660 form (see MapName).
	Name string `json:"name,omitempty"`
	// Path is the host file to read; it is streamed, never loaded whole.
	Path string `json:"path,omitempty"`
	// Size is the size of R, which is read exactly once.
	Size int64     `json:"size,omitempty"`
	R    io.Reader `json:"-"`
}

// Spec says what goes into the image.
type Spec struct {
	// VolumeID is the volume label: mapped to d-characters like names (upper
	// case, others '_'), at most 32; "" means "FOGKIT".
	VolumeID string `json:"volumeID"`
	Files    []File `json:"files"`
	// EFI is a FAT image (an ESP): the El Torito EFI (platform 0xEF)
	// no-emulation entry, the hybrid MBR partition of type 0xEF and the GPT
	// EFI System partition point at it. It is also a file of the ISO, under
	// its Name or DefaultEFIName. nil: no EFI boot.
	EFI *File `json:"efi,omitempty"`
	// BIOS is the isolinux boot (El Torito default entry); nil: no BIOS boot.
	BIOS *BIOS `json:"bios,omitempty"`
}

// Default names in the ISO of the boot images when their File has none.
const (
	DefaultEFIName    = "boot/efi.img"
	DefaultLoaderName = "isolinux/isolinux.bin"
	DefaultVolumeID   = "FOGKIT"
)

// BIOS is the El Torito BIOS boot with isolinux and, with HybridMBR, the
// isohybrid boot from a USB disk.
type BIOS struct {
	// Loader is isolinux.bin (Name default DefaultLoaderName); its boot
	// info table (bytes 8..63) is patched. It is read into memory (at most
	// 1 MiB).
	Loader File `json:"loader"`
	// LoadSectors is the number of 512-byte sectors the BIOS loads; 0 means 4.
	LoadSectors int `json:"loadSectors"`
	// HybridMBR is isohdpfx.bin (its first 432 bytes are used): with it
	// the image also boots from a USB disk under BIOS. nil/empty: no BIOS
	// USB boot (the MBR still holds the partition entries).
	HybridMBR []byte `json:"-"`
}

// Options configure Write. A nil *Options means the defaults; Write never
// modifies it.
type Options struct {
	// ModTime is every timestamp in the image; zero means Unix 0.
	ModTime time.Time `json:"modTime"`
	// Seed derives the MBR disk signature and the GPT GUIDs.
	Seed string `json:"seed,omitempty"`
	// NoRockRidge leaves out the Rock Ridge names, modes and times: readers
	// then see only the ISO 9660 names (upper case, mapped).
	NoRockRidge bool `json:"noRockRidge,omitempty"`
	// Progress, if set, is called on the caller's goroutine before each
	// file's data (stage "write", File its name) and at the end (stage
	// "done").
	Progress func(Event) `json:"-"`
}

// Event reports the progress of Write.
type Event struct {
	Stage string `json:"stage"`          // "write" or "done"
	File  string `json:"file,omitempty"` // the file about to be written
	Done  int64  `json:"done"`           // image bytes written so far
	Total int64  `json:"total"`          // image size
}

// Digest is a SHA-256 digest; it reads and writes as lower-case hex in JSON
// and prints as hex with %s.
type Digest []byte

func (d Digest) String() string { return hex.EncodeToString(d) }

// MarshalText writes the digest as lower-case hex.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a hex digest.
func (d *Digest) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Platform IDs of El Torito.
const (
	PlatformBIOS = 0x00
	PlatformEFI  = 0xEF
)

// BootEntry is one El Torito boot image.
type BootEntry struct {
	Platform    uint8  `json:"platform"`    // PlatformBIOS, PlatformEFI, ...
	Bootable    bool   `json:"bootable"`    // indicator 0x88
	Emulation   uint8  `json:"emulation"`   // 0 no emulation, 1-3 floppies, 4 hard disk
	LoadSegment uint16 `json:"loadSegment"` // 0 means 0x07C0
	Sectors     uint16 `json:"sectors"`     // 512-byte sectors as stored (0: see doc)
	LBA         uint32 `json:"lba"`         // 2048-byte block of the image
	File        string `json:"file,omitempty"`
}

// Partition is an MBR or GPT partition of the hybrid image, in 512-byte
// sectors.
type Partition struct {
	Index    int    `json:"index"`          // 1-based entry number
	Type     string `json:"type"`           // MBR: "0xef"; GPT: type GUID
	Bootable bool   `json:"bootable"`       // MBR status 0x80
	Start    int64  `json:"start"`          // first sector
	Sectors  int64  `json:"sectors"`        // length in sectors
	Name     string `json:"name,omitempty"` // GPT name
	GUID     string `json:"guid,omitempty"` // GPT partition GUID
}

// GPT type GUIDs this package writes.
const (
	GUIDBasicData = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
	GUIDEFISystem = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
)

// Result describes a written image.
type Result struct {
	Size   int64  `json:"size"`   // bytes written, a multiple of 1 MiB
	SHA256 Digest `json:"sha256"` // SHA-256 of those bytes
	// Boot is the El Torito catalog's entries, in catalog order.
	Boot []BootEntry `json:"boot"`
	// MBR and GPT are the hybrid partition tables (GPT only with EFI).
	MBR           []Partition `json:"mbr"`
	GPT           []Partition `json:"gpt,omitempty"`
	DiskSignature uint32      `json:"diskSignature"`
	DiskGUID      string      `json:"diskGUID,omitempty"`
	// Files maps each input name to its ISO 9660 path (as Image.Info lists it).
	Files []FileInfo `json:"files"`
}

// FileInfo is one file of an image.
type FileInfo struct {
	Name string `json:"name"`           // path: Rock Ridge names, else ISO 9660 ones
	ISO  string `json:"iso,omitempty"`  // ISO 9660 path (";1" and a trailing "." removed) when not Name
	From string `json:"from,omitempty"` // the name given to Write
	LBA  uint32 `json:"lba"`            // first 2048-byte block
	Size int64  `json:"size"`           // bytes
	Dir  bool   `json:"dir,omitempty"`  // a directory (Info lists them too)
}
