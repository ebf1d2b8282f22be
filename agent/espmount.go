package agent

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/fogkit/fogkit/esp"
)

// DefaultESPMountpoint is where MountESP mounts the ESP by default.
const DefaultESPMountpoint = "/boot/efi"

// The ESP's mount errors.
var (
	// ErrNoESP: no EFI system partition was found.
	ErrNoESP = errors.New("agent: no EFI system partition")
	// ErrESPAmbiguous: several ESPs and nothing saying which one booted.
	ErrESPAmbiguous = errors.New("agent: more than one EFI system partition")
)

// ESPMountOptions configure MountESP. Nil means defaults.
type ESPMountOptions struct {
	// Mountpoint is where the ESP goes; "" means DefaultESPMountpoint.
	Mountpoint string `json:"mountpoint,omitempty"`
	// SysRoot and DevRoot are where sysfs and device nodes are; "" means
	// /sys and /dev. Tests point them at fake trees.
	SysRoot string `json:"sysRoot,omitempty"`
	DevRoot string `json:"devRoot,omitempty"`
	// Mount is mount(2); nil means the system call. Tests pass a fake.
	Mount func(source, target, fstype string, flags uintptr, data string) error `json:"-"`
	// CheckFAT checks the chosen partition before it is mounted and
	// repairs what a power cut during an update's writes left (see
	// esp.RepairFAT), returning the repair report's lines, none when
	// the volume was clean. Nil means CheckESPDevice. Tests with fake
	// disks pass their own.
	CheckFAT func(device string) ([]string, error) `json:"-"`
}

// ESPMount is the mounted ESP. It is mounted read-only; SetWritable opens
// and closes the windows in which the updater writes it.
type ESPMount struct {
	Device     string `json:"device"`   // /dev/vda1
	PartUUID   string `json:"partUUID"` // the partition's unique GPT GUID, upper case
	Mountpoint string `json:"mountpoint"`
	// Booted is true when the loader said it started from this partition
	// (systemd-boot's LoaderDevicePartUUID EFI variable).
	Booted bool `json:"booted"`
	// Repaired lists what the check before the mount found and
	// repaired on the FAT (a dirty bit, a wrong free count, lost
	// clusters...), for the /init to print; empty when it was clean.
	Repaired []string `json:"repaired,omitempty"`

	mount func(source, target, fstype string, flags uintptr, data string) error
}

// loaderVendorGUID is the vendor GUID of systemd-boot's EFI variables.
const loaderVendorGUID = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"

// MountESP finds the EFI system partition the appliance booted from and
// mounts it read-only (vfat; nodev, nosuid, noexec). The partition is the
// one systemd-boot names in its LoaderDevicePartUUID EFI variable when
// efivarfs offers it (MountESP mounts efivarfs if it can), otherwise the
// only GPT partition of type EFI system on any disk; several without the
// variable are refused rather than guessed (ErrESPAmbiguous).
//
// The I/O character set is ISO 8859-1, whose module the build ships by
// default: kernels differ in their compiled-in default (Debian's "ascii"
// needs nls_ascii), and the ESP's names are ASCII anyway.
//
// Read-only is the resting state on purpose: Linux marks a FAT volume
// dirty for as long as it is mounted read-write, so a power cut at any
// other moment than an update's own ESP writes leaves the volume clean.
func MountESP(ctx context.Context, opts *ESPMountOptions) (*ESPMount, error) {
	o := ESPMountOptions{}
	if opts != nil {
		o = *opts
	}
	if o.Mountpoint == "" {
		o.Mountpoint = DefaultESPMountpoint
	}
	if o.SysRoot == "" {
		o.SysRoot = "/sys"
	}
	if o.DevRoot == "" {
		o.DevRoot = "/dev"
	}
	if o.Mount == nil {
		o.Mount = sysMount
	}
	if o.CheckFAT == nil {
		o.CheckFAT = CheckESPDevice
	}
	booted := loaderPartUUID(o.SysRoot, o.Mount)
	devs, err := scanBlock(o.SysRoot)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoESP, err)
	}
	type cand struct{ dev, guid string }
	var cands []cand
	espsOf := map[string]map[int]string{} // disk -> partition number -> GUID
	for _, d := range devs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !d.partition || d.parent == "" || ignoredBlock(d.parent) {
			continue
		}
		parts, ok := espsOf[d.parent]
		if !ok {
			parts = map[int]string{}
			if f, err := os.Open(filepath.Join(o.DevRoot, d.parent)); err == nil {
				parts, _ = gptESPs(f)
				f.Close()
			}
			espsOf[d.parent] = parts
		}
		n, err := strconv.Atoi(sysLine(filepath.Join(o.SysRoot, "class", "block", d.name), "partition"))
		if err != nil {
			continue
		}
		if guid, ok := parts[n]; ok {
			cands = append(cands, cand{d.name, guid})
		}
	}
	var pick *cand
	for i := range cands {
		if booted != "" && strings.EqualFold(cands[i].guid, booted) {
			pick = &cands[i]
		}
	}
	if pick == nil {
		switch len(cands) {
		case 0:
			return nil, ErrNoESP
		case 1:
			pick = &cands[0]
		default:
			names := make([]string, len(cands))
			for i, c := range cands {
				names[i] = c.dev
			}
			return nil, fmt.Errorf("%w: %s", ErrESPAmbiguous, strings.Join(names, ", "))
		}
	}
	m := &ESPMount{Device: filepath.Join(o.DevRoot, pick.dev), PartUUID: pick.guid, Mountpoint: o.Mountpoint,
		Booted: booted != "" && strings.EqualFold(pick.guid, booted), mount: o.Mount}
	if err := os.MkdirAll(o.Mountpoint, 0o755); err != nil {
		return nil, &MountError{Target: o.Mountpoint, Err: err}
	}
	// Linux never clears a dirty bit it found at mount time, and a cut
	// during an update's writes leaves one (and maybe lost clusters or a
	// wrong free count): fix the volume while nothing has it mounted.
	repaired, err := o.CheckFAT(m.Device)
	if err != nil {
		return nil, &MountError{Target: o.Mountpoint, FSType: "vfat", Err: err}
	}
	m.Repaired = repaired
	if err := o.Mount(m.Device, o.Mountpoint, "vfat", msRdonly|msNodev|msNosuid|msNoexec, "umask=0077,shortname=mixed,iocharset=iso8859-1,errors=remount-ro"); err != nil {
		return nil, &MountError{Target: o.Mountpoint, FSType: "vfat", Err: err}
	}
	return m, nil
}

// CheckESPDevice opens a FAT32 partition read-write, checks it with
// esp.CheckFAT and, when anything is wrong, repairs it with esp.RepairFAT
// and syncs it; it returns the report's lines. ESPMountOptions.CheckFAT
// defaults to it.
func CheckESPDevice(device string) ([]string, error) {
	f, err := os.OpenFile(device, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd) // Stat says 0 for a block device
	if err != nil {
		return nil, err
	}
	rep, err := esp.CheckFAT(f, size)
	if err != nil || rep.Clean() {
		return nil, err
	}
	if rep, err = esp.RepairFAT(f, size); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	return rep.Lines(), f.Close()
}

// SetWritable remounts the ESP read-write (true) or read-only (false).
// Going read-only makes Linux write out the volume and clear its dirty
// mark; ESPUpdaterOptions.ESPWritable takes this method.
func (m *ESPMount) SetWritable(writable bool) error {
	flags := uintptr(msRemount | msNodev | msNosuid | msNoexec)
	if !writable {
		flags |= msRdonly
	}
	if err := m.mount(m.Device, m.Mountpoint, "vfat", flags, "umask=0077,shortname=mixed,iocharset=iso8859-1,errors=remount-ro"); err != nil {
		return &MountError{Target: m.Mountpoint, Err: err}
	}
	return nil
}

// loaderPartUUID reads systemd-boot's LoaderDevicePartUUID, mounting
// efivarfs first when it is not; "" when there is none.
func loaderPartUUID(sysRoot string, mount func(source, target, fstype string, flags uintptr, data string) error) string {
	dir := filepath.Join(sysRoot, "firmware", "efi", "efivars")
	name := filepath.Join(dir, "LoaderDevicePartUUID-"+loaderVendorGUID)
	if _, err := os.Stat(name); err != nil {
		if _, err := os.Stat(dir); err != nil {
			return "" // not booted by UEFI
		}
		_ = mount("efivarfs", dir, "efivarfs", msNodev|msNosuid|msNoexec|msRdonly, "")
	}
	f, err := os.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 256))
	return parseLoaderPartUUID(b)
}

// parseLoaderPartUUID decodes the variable: 4 bytes of attributes, then
// the GUID as UTF-16LE text, NUL-terminated.
func parseLoaderPartUUID(b []byte) string {
	if len(b) < 4 || (len(b)-4)%2 != 0 {
		return ""
	}
	b = b[4:]
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	s := strings.ToUpper(string(utf16.Decode(u)))
	if len(s) != 36 || strings.Count(s, "-") != 4 {
		return ""
	}
	return s
}

// gptESPs maps the partition numbers (1-based) of a disk's GPT entries of
// type EFI system to their unique GUIDs.
func gptESPs(r io.ReaderAt) (map[int]string, error) {
	out := map[int]string{}
	for _, sector := range []int64{512, 4096} {
		var h [92]byte
		if _, err := r.ReadAt(h[:], sector); err != nil || string(h[:8]) != "EFI PART" {
			continue
		}
		lba := binary.LittleEndian.Uint64(h[72:])
		n := binary.LittleEndian.Uint32(h[80:])
		esz := binary.LittleEndian.Uint32(h[84:])
		if esz < 128 || esz > 512 || n > 1024 || lba > 1<<40 {
			continue
		}
		entries := make([]byte, int(n)*int(esz))
		if _, err := r.ReadAt(entries, int64(lba)*sector); err != nil && !errors.Is(err, io.EOF) {
			continue
		}
		for i := 0; i+int(esz) <= len(entries); i += int(esz) {
			if bytes.Equal(entries[i:i+16], espGUID) {
				out[i/int(esz)+1] = guidText(entries[i+16 : i+32])
			}
		}
		return out, nil
	}
	return out, nil
}

// guidText formats a GPT GUID (mixed-endian on disk) in upper case.
func guidText(b []byte) string {
	return fmt.Sprintf("%08X-%04X-%04X-%X-%X", binary.LittleEndian.Uint32(b[0:]), binary.LittleEndian.Uint16(b[4:]),
		binary.LittleEndian.Uint16(b[6:]), b[8:10], b[10:16])
}
