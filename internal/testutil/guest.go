package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// GuestOptions describe a long-lived guest: one that reboots in place,
// writes to its disks and is driven over forwarded ports, as an appliance
// in a lifecycle test is.
type GuestOptions struct {
	// Disks are raw or VMDK images attached writable, in order, as virtio
	// disks (the first is the boot disk). The caller owns them: pass
	// copies.
	Disks []string
	// Forward lists guest TCP ports made reachable on 127.0.0.1 (only) of
	// the host; Guest.Port maps each to its host port.
	Forward []int
	// ForwardTo lists guest address:port pairs made reachable the same
	// way, for a guest that moves to another address (a static one set
	// on its console); Guest.PortTo maps each to its host port.
	ForwardTo []netip.AddrPort
	MemoryMB  int // default 512
	// Devices are extra qemu arguments.
	Devices []string
}

// Guest is a running qemu under OVMF with user networking. Its console is
// kept whole; Wait* methods search it from a mark, so a line printed
// before an action is never mistaken for its result. The guest holds the
// machine-wide boot lock for its whole life.
type Guest struct {
	t      testing.TB
	cmd    *exec.Cmd
	ports  map[int]int
	portTo map[netip.AddrPort]int
	stdin  io.WriteCloser
	unlock func()
	done   chan struct{}

	mu      sync.Mutex
	console bytes.Buffer
	changed chan struct{} // closed and replaced on each console write
	exitErr error
	exited  bool
}

// StartGuest boots a guest and stops it when the test ends.
func StartGuest(t testing.TB, o GuestOptions) *Guest {
	t.Helper()
	qemu := RequireTool(t, "qemu-system-x86_64")
	RequireFile(t, "OVMF firmware", OVMFCode)
	RequireFile(t, "OVMF variables", OVMFVars)
	g, err := startGuest(t, qemu, t.TempDir(), o)
	if err != nil {
		t.Fatalf("start guest: %v", err)
	}
	t.Cleanup(func() { g.Kill() })
	return g
}

func startGuest(t testing.TB, qemu, scratch string, o GuestOptions) (*Guest, error) {
	if o.MemoryMB == 0 {
		o.MemoryMB = 512
	}
	unlock, err := lockBoots(t.Context())
	if err != nil {
		return nil, err
	}
	g := &Guest{t: t, ports: map[int]int{}, portTo: map[netip.AddrPort]int{}, unlock: unlock, done: make(chan struct{}), changed: make(chan struct{})}
	fail := func(err error) (*Guest, error) { unlock(); return nil, err }
	vars := filepath.Join(scratch, "OVMF_VARS.fd")
	if err := copyFile(OVMFVars, vars); err != nil {
		return fail(err)
	}
	netdev := "user,id=n0,restrict=off"
	for _, p := range o.Forward {
		hp, err := freePort()
		if err != nil {
			return fail(err)
		}
		g.ports[p] = hp
		netdev += fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-:%d", hp, p)
	}
	for _, ap := range o.ForwardTo {
		hp, err := freePort()
		if err != nil {
			return fail(err)
		}
		g.portTo[ap] = hp
		netdev += fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-%s:%d", hp, ap.Addr(), ap.Port())
	}
	args := []string{"-accel", "tcg", "-m", fmt.Sprint(o.MemoryMB), "-nodefaults", "-display", "none",
		"-serial", "stdio", "-monitor", "none",
		"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + OVMFCode,
		"-drive", "if=pflash,format=raw,unit=1,file=" + vars,
		"-netdev", netdev, "-device", "virtio-net-pci,netdev=n0",
		// TCG's default CPU has no RDRAND: without a random source the
		// guest waits long for the entropy its DHCP client needs.
		"-device", "virtio-rng-pci"}
	for _, d := range o.Disks {
		format := "raw"
		if strings.HasSuffix(d, ".vmdk") {
			format = "vmdk"
		}
		args = append(args, "-drive", "file="+d+",format="+format+",if=virtio")
	}
	args = append(args, o.Devices...)
	g.cmd = exec.Command(qemu, args...)
	pr, pw := io.Pipe()
	g.cmd.Stdout, g.cmd.Stderr = pw, pw
	if g.stdin, err = g.cmd.StdinPipe(); err != nil {
		return fail(err)
	}
	g.cmd.WaitDelay = 2 * time.Second
	if err := g.cmd.Start(); err != nil {
		return fail(err)
	}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := pr.Read(buf)
			if n > 0 {
				g.mu.Lock()
				g.console.Write(buf[:n])
				close(g.changed)
				g.changed = make(chan struct{})
				g.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		err := g.cmd.Wait()
		pw.Close()
		g.mu.Lock()
		g.exited, g.exitErr = true, err
		close(g.changed)
		g.changed = make(chan struct{})
		g.mu.Unlock()
		close(g.done)
	}()
	return g, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Port is the host port on 127.0.0.1 that reaches the guest's port.
func (g *Guest) Port(guest int) int { return g.ports[guest] }

// PortTo is the host port on 127.0.0.1 that reaches a ForwardTo pair.
func (g *Guest) PortTo(ap netip.AddrPort) int { return g.portTo[ap] }

// Type sends text to the guest's serial console, as keys typed there
// (a newline is Enter).
func (g *Guest) Type(text string) {
	g.t.Helper()
	if _, err := io.WriteString(g.stdin, text); err != nil {
		g.t.Fatalf("typing on the serial console: %v", err)
	}
}

// Mark is the console's current length: Wait* calls from it see only
// what the guest prints afterwards.
func (g *Guest) Mark() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.console.Len()
}

// Console is the whole console transcript so far.
func (g *Guest) Console() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.console.String()
}

// ErrGuest is returned (wrapped) when a wait fails.
var ErrGuest = errors.New("testutil: guest")

// WaitFor waits until the console after mark matches re and returns the
// submatches of the first match and the mark just past it. It fails when
// the guest exits or the timeout passes.
func (g *Guest) WaitFor(mark int, re *regexp.Regexp, timeout time.Duration) ([]string, int, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		g.mu.Lock()
		text := g.console.Bytes()[min(mark, g.console.Len()):]
		loc := re.FindSubmatchIndex(text)
		changed, exited := g.changed, g.exited
		var m []string
		if loc != nil {
			for i := 0; i < len(loc); i += 2 {
				if loc[i] < 0 {
					m = append(m, "")
					continue
				}
				m = append(m, string(text[loc[i]:loc[i+1]]))
			}
		}
		g.mu.Unlock()
		if loc != nil {
			return m, mark + loc[1], nil
		}
		if exited {
			return nil, mark, fmt.Errorf("%w: exited while waiting for %q; last console lines:\n%s", ErrGuest, re, lastLines(g.Console(), 40))
		}
		select {
		case <-changed:
		case <-deadline.C:
			return nil, mark, fmt.Errorf("%w: no %q within %s; last console lines:\n%s", ErrGuest, re, timeout, lastLines(g.Console(), 40))
		case <-g.t.Context().Done():
			return nil, mark, g.t.Context().Err()
		}
	}
}

// MustWaitFor is WaitFor that fails the test.
func (g *Guest) MustWaitFor(mark int, pattern string, timeout time.Duration) ([]string, int) {
	g.t.Helper()
	m, next, err := g.WaitFor(mark, regexp.MustCompile(pattern), timeout)
	if err != nil {
		g.t.Fatal(err)
	}
	return m, next
}

// Kill stops qemu at once, as a power cut would, and waits for it. The
// disks keep whatever the guest had written to them.
func (g *Guest) Kill() {
	if g.cmd.Process != nil {
		_ = g.cmd.Process.Kill()
	}
	<-g.done
	if g.unlock != nil {
		g.unlock()
		g.unlock = nil
	}
}

// SaveConsole writes the transcript to the test's log directory when
// FOGKIT_CONSOLE_DIR is set, for reading a CI failure afterwards.
func (g *Guest) SaveConsole(name string) {
	if dir := os.Getenv("FOGKIT_CONSOLE_DIR"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, name), []byte(g.Console()), 0o644)
	}
}
