package appliance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/fogkit/fogkit/sign"
)

// Host places HostKernel and HostBIOS look in, in order (globs allowed).
var (
	HostKernelPlaces   = []string{"/boot/vmlinuz", "/vmlinuz", "/boot/vmlinuz-*"}
	HostSyslinuxPlaces = []string{"/usr/bin/syslinux"}
	HostGPTMBRPlaces   = []string{"/usr/lib/SYSLINUX/gptmbr.bin", "/usr/lib/syslinux/mbr/gptmbr.bin"}
)

// HostKernel returns the build host's kernel (the first regular file of
// HostKernelPlaces), or "" when it has none.
func HostKernel() string { return firstExisting(HostKernelPlaces) }

// HostBIOS returns the legacy BIOS boot parts for Spec.BIOS: syslinux and
// gptmbr as given, else the host's (Debian's syslinux and syslinux-common
// packages). It fails with a hint when either is missing.
func HostBIOS(syslinux, gptmbr string) (*disk.BIOS, error) {
	if syslinux == "" {
		syslinux = firstExisting(HostSyslinuxPlaces)
	}
	if gptmbr == "" {
		gptmbr = firstExisting(HostGPTMBRPlaces)
	}
	if syslinux == "" || gptmbr == "" {
		return nil, errors.New("appliance: a BIOS boot needs syslinux and gptmbr.bin (Debian: apt-get install syslinux syslinux-common)")
	}
	return &disk.BIOS{Syslinux: syslinux, GPTMBR: disk.File{Path: gptmbr}}, nil
}

// firstExisting returns the first path (globs allowed) that names a file.
func firstExisting(places []string) string {
	for _, p := range places {
		matches, _ := filepath.Glob(p)
		for _, m := range matches {
			if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() {
				return m
			}
		}
	}
	return ""
}

// OpenKeys loads the key directory dir, or creates a fresh key set there
// when it holds none yet (sign.CreateKeyDir refuses a directory holding
// other files); created says which. Keys are random: a reproducible build
// reuses its key directory.
func OpenKeys(dir, name string) (keys *sign.KeySet, created bool, err error) {
	if _, err := os.Stat(filepath.Join(dir, sign.LicenseKeyFile)); os.IsNotExist(err) {
		ks, err := sign.CreateKeyDir(dir, &sign.KeyDirOptions{Name: name})
		return ks, true, err
	}
	ks, err := sign.LoadKeyDir(dir)
	return ks, false, err
}

// TextProgress returns a Progress function that draws events on w: a
// line per stage, a one-line bar per output file (redrawn only when its
// whole percentage changes) and messages, notes marked NOTE.
func TextProgress(w io.Writer) func(Event) {
	file, last := "", -1
	end := func() {
		if last >= 0 {
			fmt.Fprintln(w)
		}
		file, last = "", -1
	}
	return func(e Event) {
		switch {
		case e.Total > 0:
			if e.File != file {
				end()
				file = e.File
			}
			pct := int(min(e.Done, e.Total) * 100 / e.Total)
			if pct == last {
				return
			}
			last = pct
			const width = 30
			fill := pct * width / 100
			fmt.Fprintf(w, "\r    %-24s [%s%s] %3d%%", e.File, strings.Repeat("#", fill), strings.Repeat(".", width-fill), pct)
			if e.Message != "" {
				end()
				fmt.Fprintf(w, "    %s\n", e.Message)
			}
		case e.Message != "":
			end()
			switch {
			case e.Stage == "note":
				fmt.Fprintf(w, "    NOTE: %s\n", e.Message)
			case e.File != "":
				fmt.Fprintf(w, "    %s: %s\n", e.File, e.Message)
			default:
				fmt.Fprintf(w, "    %s\n", e.Message)
			}
		default:
			end()
			fmt.Fprintf(w, "==> %s\n", e.Stage)
		}
	}
}

// WriteSummary writes a human summary of the build in dir to w: each
// output with its size and digest, the record and boot tree, fetched
// packages, the module count, the notes, and how to try it when bootable.
func (r *Record) WriteSummary(w io.Writer, dir string) error {
	var b strings.Builder
	for _, o := range r.Outputs {
		fmt.Fprintf(&b, "  %-28s %12d bytes  sha256 %s\n", o.Path, o.Size, o.SHA256)
	}
	fmt.Fprintf(&b, "  %-28s provenance: inputs, options and the outputs above\n", RecordFile)
	fmt.Fprintf(&b, "  %-28s the boot tree that update packages carry\n", BootTreeDir+"/")
	for _, p := range r.Assets {
		fmt.Fprintf(&b, "  fetched %s %s (sha256 %s)\n", p.Name, p.Version, p.SHA256)
	}
	if len(r.Modules) > 0 {
		fmt.Fprintf(&b, "  %d kernel modules in the initramfs\n", len(r.Modules))
	}
	for _, n := range r.Notes {
		fmt.Fprintln(&b, "NOTE:", n)
	}
	if r.Bootable && r.Spec != nil {
		n := func(suffix string) string { return filepath.Join(dir, r.Spec.Name+suffix) }
		formats := r.Spec.Formats
		if len(formats) == 0 {
			formats = []Format{FormatOVA}
		}
		for _, f := range formats {
			switch f {
			case FormatOVA:
				fmt.Fprintf(&b, "bootable: import %s in VMware or VirtualBox, or boot %s under qemu with OVMF\n", n(".ova"), n("-boot.vmdk"))
				for _, fl := range r.Spec.Flavours {
					if r.Spec.FlavourOVAs == nil || slices.Contains(r.Spec.FlavourOVAs, fl.Name) {
						fmt.Fprintf(&b, "bootable: %s is the %s flavour: %d CPUs, %d MiB memory, a %s data disk\n", n("-"+fl.Name+".ova"), fl.Name, fl.CPUs, fl.MemoryMiB, FormatSize(fl.DataSize))
					}
				}
				if r.Spec.CombinedOVA {
					fmt.Fprintf(&b, "bootable: %s offers every flavour as a deployment option (vSphere asks which at import)\n", n(CombinedOVASuffix))
				}
			case FormatQCOW2:
				fmt.Fprintf(&b, "bootable: %s and %s on KVM, Proxmox or OpenStack with UEFI firmware\n", n("-boot.qcow2"), n("-data.qcow2"))
			case FormatVHD:
				fmt.Fprintf(&b, "bootable: upload %s to Azure (Gen2) or attach it to a Hyper-V generation 2 VM\n", n("-boot.vhd"))
			case FormatVHDX:
				fmt.Fprintf(&b, "bootable: %s and %s in a Hyper-V generation 2 VM, Secure Boot off\n", n("-boot.vhdx"), n("-data.vhdx"))
			case FormatGCE:
				fmt.Fprintf(&b, "bootable: upload %s to Cloud Storage and create a UEFI image from it\n", n("-gce.tar.gz"))
			case FormatISO:
				fmt.Fprintf(&b, "bootable: boot %s as a CD-ROM or write it to a USB stick\n", n(".iso"))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// GoInit builds the Go package pkg (an import path or a directory, as `go
// build` takes it, resolved from the current directory's module) into a
// static linux/amd64 program for Spec.Init, with the Go toolchain on PATH:
// CGO off, trimmed paths and no VCS stamp, so the same sources give the
// same bytes.
func GoInit(ctx context.Context, pkg string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "fogkit-init-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "init")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("appliance: go build of %s: %v\n%s", pkg, err, b)
	}
	return os.ReadFile(bin)
}

// FormatSize writes a size in the largest binary unit that divides it
// ("20 GiB", "96 MiB"), else in bytes: the way ParseSize reads sizes
// back, spaced for people.
func FormatSize(n int64) string {
	for _, u := range []struct {
		shift int
		unit  string
	}{{40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d %s", n>>u.shift, u.unit)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// ParseSize reads a disk size for Spec.DataSize: "20G", "20GB", "20GiB",
// "512M", "64K", "1T" (all powers of 1024, as disk sizes are) or plain
// bytes, at most 1 PiB.
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	mult, unit := int64(1), strings.TrimSuffix(strings.TrimSuffix(s, "IB"), "B")
	for suffix, m := range map[string]int64{"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40} {
		if t, ok := strings.CutSuffix(unit, suffix); ok {
			s, mult = t, m
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 || v > (1<<50)/mult {
		return 0, fmt.Errorf("appliance: bad size %q", s)
	}
	return v * mult, nil
}

// ParseEpoch reads a build time for Spec.Epoch as a command line gives
// it: Unix seconds; when s is empty, SOURCE_DATE_EPOCH
// (rootfs.SourceDateEpoch); when that is unset too, today at 00:00 UTC, so
// two runs on the same day give the same bytes.
func ParseEpoch(s string) (time.Time, error) {
	if s == "" {
		t, ok, err := rootfs.SourceDateEpoch()
		if err != nil || ok {
			return t, err
		}
		return time.Now().UTC().Truncate(24 * time.Hour), nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return time.Time{}, fmt.Errorf("appliance: epoch: want Unix seconds, got %q", s)
	}
	return time.Unix(v, 0).UTC(), nil
}
