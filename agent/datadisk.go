package agent

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fogkit/fogkit/ext4"
)

// DefaultDataLabel is the file system label of the data disk: the build
// formats the data disk with it, and MountData looks for it.
const DefaultDataLabel = "fogkit-data"

// Sentinel errors of the data disk step.
var (
	// ErrNoDataDisk: no disk carries the label and none is blank.
	ErrNoDataDisk = errors.New("agent: no data disk")
	// ErrDataAmbiguous: more than one disk carries the label (or, with
	// none labelled, more than one is blank), so which one holds the
	// customer's data cannot be told without guessing.
	ErrDataAmbiguous = errors.New("agent: more than one candidate data disk")
	// ErrDataDisk: the data disk was found but could not be formatted
	// or mounted.
	ErrDataDisk = errors.New("agent: data disk failed")
)

// AmbiguousDataError names the disks that ErrDataAmbiguous is about.
type AmbiguousDataError struct {
	Label   string
	Devices []string
	Blank   bool // the devices are blank disks, none labelled
}

func (e *AmbiguousDataError) Error() string {
	what := "carry the label " + strconv.Quote(e.Label)
	if e.Blank {
		what = "are blank and none carries the label " + strconv.Quote(e.Label)
	}
	return fmt.Sprintf("agent: %s %s: refusing to choose", strings.Join(e.Devices, ", "), what)
}
func (e *AmbiguousDataError) Is(target error) bool { return target == ErrDataAmbiguous }

// DataOptions tune MountData. Nil means defaults.
type DataOptions struct {
	// Label is the file system label to look for; "" means
	// DefaultDataLabel.
	Label string `json:"label,omitempty"`
	// Mountpoint is where the data disk goes; "" means /data.
	Mountpoint string `json:"mountpoint,omitempty"`
	// SysRoot and DevRoot are where sysfs and device nodes are; "" means
	// /sys and /dev. Tests point them at fake trees.
	SysRoot string `json:"sysRoot,omitempty"`
	DevRoot string `json:"devRoot,omitempty"`
	// ProcRoot is where procfs is ("" means /proc): its mount table says
	// whether the data disk is already mounted.
	ProcRoot string `json:"procRoot,omitempty"`
	// Exec allows executing files from the data disk (mounted noexec
	// otherwise).
	Exec bool `json:"exec,omitempty"`
	// NoFormat leaves a blank disk alone: without a labelled disk,
	// MountData then fails with ErrNoDataDisk.
	NoFormat bool `json:"noFormat,omitempty"`
	// Seed derives a blank disk's file system UUID and hash seed; ""
	// means random, so every appliance's new data disk gets its own UUID.
	Seed string `json:"seed,omitempty"`
	// ModTime stamps a newly formatted file system; zero means now.
	ModTime time.Time `json:"modTime,omitzero"`
	// Wait is how long to keep scanning while no disk qualifies (drivers
	// bind asynchronously); 0 means look once.
	Wait time.Duration `json:"wait,omitempty"`
	// Probe reads a file system's label, UUID and size; nil means
	// ext4.Probe. An error means "not an ext2/3/4 file system".
	Probe func(io.ReaderAt) (*ext4.Info, error) `json:"-"`
	// Format formats a blank disk; nil means ext4.Format.
	Format func(ctx context.Context, w io.WriterAt, size int64, o *ext4.Options) (*ext4.Info, error) `json:"-"`
	// Mount mounts the file system; nil means mount(2). Tests pass a fake.
	Mount func(source, target, fstype string, flags uintptr, data string) error `json:"-"`
}

// DataDisk is the mounted data disk.
type DataDisk struct {
	Device     string `json:"device"` // /dev/sdb or /dev/sdb1
	Label      string `json:"label"`
	UUID       string `json:"uuid"`
	Size       int64  `json:"size"` // of the block device, bytes
	Mountpoint string `json:"mountpoint"`
	// Formatted is true when MountData formatted a blank disk now (the
	// first boot of an appliance shipped without a pre-formatted one).
	Formatted bool `json:"formatted"`
	// AlreadyMounted is true when it was mounted there before the call.
	AlreadyMounted bool `json:"alreadyMounted,omitempty"`
}

// blankSpan is how much of each end of a disk must be zero for it to
// count as blank: the first MiB holds every partition table and file
// system signature we know of (MBR, GPT, ext*, XFS, btrfs, LVM, ISO 9660,
// FAT), the last MiB the backup GPT, MD 0.9/1.0 and ZFS's end labels.
const blankSpan = 1 << 20

// MountData finds the data disk by its file system label, never by device
// order, and mounts it (ext4, noatime,nodev,nosuid,noexec,
// errors=remount-ro). It scans every whole disk and partition in sysfs,
// skipping read-only and removable media and the boot disk (any disk with
// an EFI system partition: the boot disk never holds customer data).
// Two labelled disks are refused (*AmbiguousDataError). With none
// labelled, a single blank disk (its first and last MiB all zeros, no
// partitions) is formatted with the label and used; a disk holding
// anything else is never formatted.
func MountData(ctx context.Context, opts *DataOptions) (*DataDisk, error) {
	o := dataDefaults(opts)
	deadline := time.Now().Add(o.Wait)
	for {
		d, err := mountData(ctx, o)
		if !errors.Is(err, ErrNoDataDisk) || !time.Now().Before(deadline) {
			return d, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func dataDefaults(opts *DataOptions) DataOptions {
	var o DataOptions
	if opts != nil {
		o = *opts
	}
	if o.Label == "" {
		o.Label = DefaultDataLabel
	}
	if o.Mountpoint == "" {
		o.Mountpoint = "/data"
	}
	if o.SysRoot == "" {
		o.SysRoot = "/sys"
	}
	if o.DevRoot == "" {
		o.DevRoot = "/dev"
	}
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	if o.Probe == nil {
		o.Probe = ext4.Probe
	}
	if o.Format == nil {
		o.Format = ext4.Format
	}
	if o.Mount == nil {
		o.Mount = sysMount
	}
	return o
}

// dataCandidate is a block device that may hold the data.
type dataCandidate struct {
	dev  blockDev
	path string
	info *ext4.Info // nil: no ext file system
}

// findData scans the block devices: the labelled ones, and the blank
// ones.
func findData(ctx context.Context, o DataOptions) (labelled []dataCandidate, blank []dataCandidate, err error) {
	devs, err := scanBlock(o.SysRoot)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrNoDataDisk, err)
	}
	skip := map[string]bool{}
	for _, d := range devs {
		if d.partition {
			continue
		}
		if d.ro || d.removable || d.size == 0 || ignoredBlock(d.name) {
			skip[d.name] = true
			continue
		}
		if isBoot, err := holdsESP(filepath.Join(o.DevRoot, d.name)); err == nil && isBoot {
			skip[d.name] = true
		}
	}
	hasParts := map[string]bool{}
	for _, d := range devs {
		if d.partition {
			hasParts[d.parent] = true
		}
	}
	for _, d := range devs {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if skip[d.name] || (d.partition && (skip[d.parent] || d.ro)) || d.size == 0 {
			continue
		}
		p := filepath.Join(o.DevRoot, d.name)
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		c := dataCandidate{dev: d, path: p}
		if info, err := o.Probe(f); err == nil && info != nil {
			c.info = info
			if info.Label == o.Label {
				labelled = append(labelled, c)
			}
		} else if !d.partition && !hasParts[d.name] {
			if ok, _ := isBlank(f, d.size); ok {
				blank = append(blank, c)
			}
		}
		f.Close()
	}
	return labelled, blank, nil
}

func mountData(ctx context.Context, o DataOptions) (*DataDisk, error) {
	labelled, blank, err := findData(ctx, o)
	if err != nil {
		return nil, err
	}
	var c dataCandidate
	formatted := false
	switch {
	case len(labelled) > 1:
		e := &AmbiguousDataError{Label: o.Label}
		for _, l := range labelled {
			e.Devices = append(e.Devices, l.path)
		}
		return nil, e
	case len(labelled) == 1:
		c = labelled[0]
	case len(blank) == 0 || o.NoFormat:
		return nil, fmt.Errorf("%w: no disk carries the label %q and none is blank", ErrNoDataDisk, o.Label)
	case len(blank) > 1:
		e := &AmbiguousDataError{Label: o.Label, Blank: true}
		for _, b := range blank {
			e.Devices = append(e.Devices, b.path)
		}
		return nil, e
	default:
		c = blank[0]
		info, err := formatBlank(ctx, o, c)
		if err != nil {
			return nil, err
		}
		c.info, formatted = info, true
	}
	d := &DataDisk{Device: c.path, Label: c.info.Label, UUID: c.info.UUID, Size: c.dev.size, Mountpoint: o.Mountpoint, Formatted: formatted}
	if m, _ := readMountInfo(filepath.Join(o.ProcRoot, "self", "mountinfo")); m != nil {
		for _, e := range m {
			if e.target == o.Mountpoint {
				if e.devno != c.dev.devno {
					return nil, fmt.Errorf("%w: %s already has %s mounted", ErrDataDisk, o.Mountpoint, e.source)
				}
				d.AlreadyMounted = true
				return d, nil
			}
		}
	}
	if err := os.MkdirAll(o.Mountpoint, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDataDisk, err)
	}
	flags := uintptr(msNoatime | msNodev | msNosuid)
	if !o.Exec {
		flags |= msNoexec
	}
	if err := o.Mount(c.path, o.Mountpoint, "ext4", flags, "errors=remount-ro"); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDataDisk, &MountError{Target: o.Mountpoint, FSType: "ext4", Err: err})
	}
	return d, nil
}

// formatBlank formats the one blank disk, re-checking that it is blank
// through the handle it writes with.
func formatBlank(ctx context.Context, o DataOptions, c dataCandidate) (*ext4.Info, error) {
	f, err := os.OpenFile(c.path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDataDisk, err)
	}
	defer f.Close()
	if ok, err := isBlank(f, c.dev.size); !ok || err != nil {
		return nil, fmt.Errorf("%w: %s is no longer blank (%v)", ErrDataDisk, c.path, err)
	}
	seed := o.Seed
	if seed == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDataDisk, err)
		}
		seed = hex.EncodeToString(b[:])
	}
	mt := o.ModTime
	if mt.IsZero() {
		mt = time.Now()
	}
	// The disk is only known to be zero at its ends: Format must write
	// every metadata block it relies on, not assume zeroed space.
	info, err := o.Format(ctx, f, c.dev.size, &ext4.Options{Label: o.Label, Seed: seed, ModTime: mt, NotZeroed: true})
	if err != nil {
		return nil, fmt.Errorf("%w: format %s: %w", ErrDataDisk, c.path, err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDataDisk, err)
	}
	if info == nil {
		info = &ext4.Info{Label: o.Label, Size: c.dev.size}
	}
	return info, nil
}

// isBlank reports whether the first and last blankSpan bytes are zero.
func isBlank(r io.ReaderAt, size int64) (bool, error) {
	if size < 2*blankSpan {
		return false, nil
	}
	buf := make([]byte, 64<<10)
	for _, start := range []int64{0, size - blankSpan} {
		for off := start; off < start+blankSpan; off += int64(len(buf)) {
			if _, err := r.ReadAt(buf, off); err != nil {
				return false, err
			}
			if !allZero(buf) {
				return false, nil
			}
		}
	}
	return true, nil
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// espGUID is the EFI system partition's type GUID,
// C12A7328-F81F-11D2-BA4B-00A0C93EC93B, in its on-disk (mixed-endian)
// byte order.
var espGUID = []byte{0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b}

// holdsESP reports whether the disk at path has an EFI system partition
// in its GPT (512- or 4096-byte sectors) or its MBR (type 0xEF): such a
// disk is the boot disk.
func holdsESP(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	return hasESP(f)
}

func hasESP(r io.ReaderAt) (bool, error) {
	var mbr [512]byte
	if _, err := r.ReadAt(mbr[:], 0); err != nil {
		return false, err
	}
	if mbr[510] == 0x55 && mbr[511] == 0xaa {
		for i := 0; i < 4; i++ {
			if mbr[446+16*i+4] == 0xef {
				return true, nil
			}
		}
	}
	esps, err := gptESPs(r)
	return len(esps) > 0, err
}

// blockDev is what sysfs says about one block device.
type blockDev struct {
	name      string // sda, sda1, vdb, sr0
	parent    string // the whole disk of a partition
	devno     string // major:minor
	partition bool
	ro        bool
	removable bool
	size      int64 // bytes
}

// ignoredBlock: virtual devices that never hold the data disk.
func ignoredBlock(name string) bool {
	for _, p := range []string{"loop", "ram", "zram", "nbd", "dm-", "md", "sr"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// scanBlock lists sysRoot/class/block: every whole disk and partition.
func scanBlock(sysRoot string) ([]blockDev, error) {
	dir := filepath.Join(sysRoot, "class", "block")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []blockDev
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		d := blockDev{name: e.Name(), devno: sysLine(p, "dev")}
		if _, err := os.Stat(filepath.Join(p, "partition")); err == nil {
			d.partition = true
			if real, err := filepath.EvalSymlinks(p); err == nil {
				d.parent = filepath.Base(filepath.Dir(real))
			}
		}
		d.ro = sysLine(p, "ro") == "1"
		d.removable = sysLine(p, "removable") == "1"
		if n, err := strconv.ParseInt(sysLine(p, "size"), 10, 64); err == nil && n > 0 && n < 1<<54 {
			d.size = n * 512 // sysfs counts 512-byte sectors whatever the device's
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b blockDev) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// sysLine reads a small sysfs attribute.
func sysLine(dir, name string) string {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 256))
	return strings.TrimSpace(string(b))
}
