package testutil

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Firmware selects how qemu starts the guest.
type Firmware int

const (
	// DirectKernel boots BootOptions.Kernel and Initrd with -kernel/-initrd.
	DirectKernel Firmware = iota
	// BIOS boots BootOptions.Disk under SeaBIOS (qemu's default firmware).
	BIOS
	// UEFI boots BootOptions.Disk under OVMF (pflash code + a copy of VARS).
	UEFI
)

// OVMF image locations on Debian (package ovmf).
const (
	OVMFCode = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	OVMFVars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
)

// BootOptions describes one qemu boot.
type BootOptions struct {
	Firmware   Firmware
	Kernel     string // DirectKernel only
	Initrd     string // DirectKernel only
	Append     string // DirectKernel only; console=ttyS0 is added
	Disk       string // BIOS and UEFI
	DiskFormat string // qemu's format name (default: from the file extension)
	// DiskBus is how Disk is attached: "virtio" (default) or "usb" (a USB
	// mass-storage device on an xHCI controller, as a stick is).
	DiskBus string
	// CDROM, with BIOS or UEFI, is an ISO image attached as an IDE CD-ROM;
	// Disk may then be empty.
	CDROM    string
	MemoryMB int // default 256
	// Devices are extra qemu arguments, such as a disk controller and a
	// NIC model ("-device", "pvscsi,id=c0", ...).
	Devices []string
	// Marker is the line fragment that proves the boot reached /init,
	// normally "FOGKIT-BOOT-OK <nonce>". Required.
	Marker  string
	Timeout time.Duration // default 120 s
}

// BootResult is the console transcript of a boot.
type BootResult struct {
	Console  string
	Duration time.Duration
}

// ErrBootFailed is returned (wrapped) when the console shows a known failure
// pattern, the guest stops without the marker, or the timeout passes.
var ErrBootFailed = errors.New("testutil: boot failed")

// failPatterns end a boot early: waiting for the timeout would only hide them.
var failPatterns = []string{"Kernel panic", "Shell>", "No bootable device", "Boot failed",
	"Attempted to kill init", "BdsDxe: failed to start"}

// maxPattern bounds how far back a chunk's search reaches, so a marker
// split across two reads is still found.
const maxPattern = 256

// NewNonce returns a fresh random marker so a stale transcript can never
// pass for this run's boot.
func NewNonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// TestKernel returns the kernel that boot tests use (FOGKIT_TEST_KERNEL, set
// by .ci/run to Debian's cloud kernel), skipping or failing when absent.
func TestKernel(t testing.TB) string {
	t.Helper()
	return RequireFile(t, "test kernel (FOGKIT_TEST_KERNEL)", os.Getenv("FOGKIT_TEST_KERNEL"))
}

// DriverKernel returns a kernel with the full driver set and its module
// tree (FOGKIT_TEST_KERNEL_GENERIC, set by .ci/run to Debian's generic
// kernel unpacked with its lib/modules; the cloud kernel lacks the
// VMware and VirtualBox storage and network drivers), skipping or failing
// when absent.
func DriverKernel(t testing.TB) (kernel, modules, release string) {
	t.Helper()
	kernel = RequireFile(t, "driver test kernel (FOGKIT_TEST_KERNEL_GENERIC)", os.Getenv("FOGKIT_TEST_KERNEL_GENERIC"))
	if kernel == "" {
		return "", "", ""
	}
	release = strings.TrimPrefix(filepath.Base(kernel), "vmlinuz-")
	modules = RequireFile(t, "its module tree", filepath.Join(filepath.Dir(kernel), "..", "lib", "modules", release))
	return kernel, modules, release
}

// Boot runs qemu and fails the test unless the marker appears.
func Boot(t testing.TB, o BootOptions) BootResult {
	t.Helper()
	qemu := RequireTool(t, "qemu-system-x86_64")
	if o.Firmware == UEFI {
		RequireFile(t, "OVMF firmware", OVMFCode)
		RequireFile(t, "OVMF variables", OVMFVars)
	}
	ctx := t.Context()
	res, err := BootE(ctx, qemu, t.TempDir(), o)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Logf("booted in %s", res.Duration.Round(time.Millisecond))
	return res
}

// BootE is Boot without the testing.TB: it returns ErrBootFailed (wrapped,
// with the last 40 console lines) instead of failing a test.
func BootE(ctx context.Context, qemu, scratch string, o BootOptions) (BootResult, error) {
	if o.Marker == "" {
		return BootResult{}, fmt.Errorf("%w: no marker given", ErrBootFailed)
	}
	if o.Timeout == 0 {
		o.Timeout = 120 * time.Second
	}
	if o.MemoryMB == 0 {
		o.MemoryMB = 256
	}
	args := []string{"-accel", "tcg", "-m", fmt.Sprint(o.MemoryMB), "-nodefaults", "-display", "none",
		"-serial", "stdio", "-no-reboot", "-monitor", "none"}
	switch o.Firmware {
	case DirectKernel:
		args = append(args, "-kernel", o.Kernel, "-initrd", o.Initrd,
			"-append", strings.TrimSpace("console=ttyS0 panic=-1 no_timer_check "+o.Append))
	case BIOS, UEFI:
		format := o.DiskFormat
		if format == "" {
			format = formatOf(o.Disk)
		}
		if o.Firmware == UEFI {
			vars := filepath.Join(scratch, "OVMF_VARS.fd")
			if err := copyFile(OVMFVars, vars); err != nil {
				return BootResult{}, err
			}
			args = append(args,
				"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+OVMFCode,
				"-drive", "if=pflash,format=raw,unit=1,file="+vars)
		}
		if o.CDROM != "" {
			args = append(args, "-drive", "file="+o.CDROM+",format=raw,if=ide,media=cdrom,readonly=on")
		}
		switch {
		case o.Disk == "":
		case o.DiskBus == "usb":
			args = append(args, "-device", "qemu-xhci,id=xhci",
				"-drive", "if=none,id=usbdisk,file="+o.Disk+",format="+format+",readonly=on",
				// SeaBIOS tries only the first hard disk: the stick must
				// come before any disk in Devices.
				"-device", "usb-storage,bus=xhci.0,drive=usbdisk,bootindex=0")
		default:
			args = append(args, "-drive", "file="+o.Disk+",format="+format+",if=virtio,readonly=on")
		}
	}
	args = append(args, o.Devices...)
	// One guest at a time across every test process: TCG guests are CPU
	// bound, and several at once on a 2-core CI machine make each of them
	// slow enough to time out. The timeout starts once the lock is held.
	unlock, err := lockBoots(ctx)
	if err != nil {
		return BootResult{}, fmt.Errorf("%w: waiting for the boot lock: %v", ErrBootFailed, err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, args...)
	cmd.Stdin = nil
	// A child that outlives qemu (or a wrapper script's) may hold the
	// console pipe open; bound how long Wait waits for it after the kill.
	cmd.WaitDelay = 2 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return BootResult{}, fmt.Errorf("%w: start qemu: %v", ErrBootFailed, err)
	}
	var (
		mu      sync.Mutex
		console bytes.Buffer
		verdict = make(chan error, 1)
	)
	go func() {
		// Read chunks, not lines: firmware prompts such as OVMF's "Shell>"
		// end without a newline and would otherwise never be seen.
		buf := make([]byte, 4096)
		for {
			n, rerr := pr.Read(buf)
			if n > 0 {
				mu.Lock()
				from := max(0, console.Len()-maxPattern)
				console.Write(buf[:n])
				window := console.String()[from:]
				mu.Unlock()
				if strings.Contains(window, o.Marker) {
					verdict <- nil
					return
				}
				for _, p := range failPatterns {
					if strings.Contains(window, p) {
						verdict <- fmt.Errorf("console shows %q", p)
						return
					}
				}
			}
			if rerr != nil {
				break
			}
		}
		verdict <- errors.New("qemu exited without the marker")
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); pw.Close() }()

	select {
	case err = <-verdict:
	case <-ctx.Done():
		err = fmt.Errorf("no marker within %s", o.Timeout)
	}
	// Stop reading first: exec's copy goroutine may be blocked writing to
	// the pipe, and cmd.Wait would wait for it forever.
	_ = pr.Close()
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
	<-done
	mu.Lock()
	text := console.String()
	mu.Unlock()
	res := BootResult{Console: text, Duration: time.Since(start)}
	if err != nil {
		return res, fmt.Errorf("%w: %v; last console lines:\n%s", ErrBootFailed, err, lastLines(text, 40))
	}
	return res, nil
}

// formatOf names qemu's format for a disk file by its extension: a VHD
// is "vpc", anything unknown "raw" (an .iso or .img is).
func formatOf(name string) string {
	switch filepath.Ext(name) {
	case ".vmdk":
		return "vmdk"
	case ".qcow2":
		return "qcow2"
	case ".vhd":
		return "vpc"
	case ".vhdx":
		return "vhdx"
	}
	return "raw"
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// BuildStaticInit compiles the Go package at pkg (an import path inside this
// module, e.g. "./internal/testutil/testinit") into a static linux/amd64
// binary and returns its bytes.
func BuildStaticInit(t testing.TB, pkg string) []byte {
	t.Helper()
	gobin := RequireGo(t)
	out := filepath.Join(t.TempDir(), "init")
	cmd := exec.Command(gobin, "build", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
	cmd.Dir = RepoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RequireGo returns the go command that runs these tests.
func RequireGo(t testing.TB) string {
	t.Helper()
	if p := filepath.Join(os.Getenv("GOROOT"), "bin", "go"); os.Getenv("GOROOT") != "" && isExec(p) {
		return p
	}
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go command not found: %v", err)
	}
	return p
}

// TestInitPackage is the import path of the generic test /init: it prints
// what the kernel command line asks for and then the boot marker.
const TestInitPackage = "./internal/testutil/testinit"

// BootMarker is the marker the test /init prints for nonce.
func BootMarker(nonce string) string { return "FOGKIT-BOOT-OK " + nonce }
