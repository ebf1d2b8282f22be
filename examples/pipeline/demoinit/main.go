//go:build linux

// Command demoinit is the /init of fogkit's demo appliance. It mounts /proc,
// /sys and /dev, prints a banner with the product and version, loads the
// kernel modules in the initramfs (agent.LoadModules) and lists the disks
// and network interfaces it then sees, verifies the
// license baked into the image with the license package and prints its
// customer, seats and expiry, generates and prints a first-boot token (the
// appliance's instance id), and then either powers off (when the kernel
// command line holds fogkit.test) or idles as an appliance would while its
// application runs.
//
// The pipeline example builds it as a static binary:
//
//	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags "-s -w" ./examples/pipeline/demoinit
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/fogkit/fogkit/agent"
	"github.com/fogkit/fogkit/license"
	"github.com/fogkit/fogkit/sign"
)

// Where the pipeline puts the appliance's identity and license.
const (
	releaseFile    = "/etc/fogkit/release"
	licenseFile    = "/etc/fogkit/license.lic"
	licenseKeyFile = "/etc/fogkit/license.pub"
	instanceFile   = "/var/lib/fogkit/instance-id"
)

func main() {
	mountAll()
	out := console()
	release := readRelease()
	fmt.Fprintf(out, "\n=== %s %s (fogkit demo appliance) ===\n", release["NAME"], release["VERSION"])
	fmt.Fprintln(out, driversLine())
	fmt.Fprintln(out, licenseLine(release["PRODUCT"]))
	token, err := firstBootToken()
	if err != nil {
		fmt.Fprintf(out, "first-boot token: error: %v\n", err)
	} else {
		fmt.Fprintf(out, "first-boot token: %s\n", token)
	}
	cmdline, _ := os.ReadFile("/proc/cmdline")
	for _, f := range strings.Fields(string(cmdline)) {
		if n, ok := strings.CutPrefix(f, "fogkit.nonce="); ok {
			fmt.Fprintf(out, "FOGKIT-BOOT-OK %s\n", n)
		}
	}
	fmt.Fprintln(out, "fogkit-demo: ready")
	if hasField(string(cmdline), "fogkit.test") {
		syscall.Sync()
		_ = syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	}
	for {
		time.Sleep(time.Hour)
	}
}

// driversLine loads the kernel modules the build put in the initramfs
// and says what the appliance then sees.
func driversLine() string {
	rep, err := agent.LoadModules(context.Background(), nil)
	if err != nil {
		return "drivers: none loaded (" + err.Error() + ")"
	}
	failed := rep.Failed()
	// Drivers probe asynchronously: give devices a moment to appear.
	var disks, nics []string
	for i := 0; i < 30; i++ {
		disks, _ = agent.BlockDevices()
		nics, _ = agent.NetInterfaces()
		if len(disks) > 0 && len(nics) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	s := fmt.Sprintf("drivers: %d loaded, %d failed; disks: %s; network: %s", len(rep.Modules)-len(failed), len(failed),
		strings.Join(disks, " "), strings.Join(nics, " "))
	for _, f := range failed {
		s += fmt.Sprintf("\ndriver %s failed: %s", f.Path, f.Error)
	}
	return s
}

// hasField reports whether the kernel command line holds the word f.
func hasField(cmdline, f string) bool {
	for _, w := range strings.Fields(cmdline) {
		if w == f {
			return true
		}
	}
	return false
}

func mountAll() {
	for _, d := range []string{"/proc", "/sys", "/dev", "/run", "/tmp"} {
		_ = os.MkdirAll(d, 0o755)
	}
	_ = syscall.Mount("proc", "/proc", "proc", 0, "")
	_ = syscall.Mount("sysfs", "/sys", "sysfs", 0, "")
	_ = syscall.Mount("devtmpfs", "/dev", "devtmpfs", 0, "")
	_ = syscall.Mount("tmpfs", "/run", "tmpfs", 0, "mode=0755")
}

func console() io.Writer {
	if f, err := os.OpenFile("/dev/console", os.O_WRONLY, 0); err == nil {
		return f
	}
	return os.Stdout
}

func readRelease() map[string]string {
	m := map[string]string{"NAME": "appliance", "VERSION": "unknown", "PRODUCT": ""}
	b, err := os.ReadFile(releaseFile)
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = strings.Trim(v, `"`)
		}
	}
	return m
}

// licenseLine verifies the baked-in license and describes it in one line.
// A failed check degrades the appliance; it never stops the boot.
func licenseLine(product string) string {
	pub, err := os.ReadFile(licenseKeyFile)
	if err != nil {
		return "license: no license key in the image"
	}
	key, err := sign.LoadPublicKey(pub, sign.PurposeLicense)
	if err != nil {
		return "license: bad license key: " + err.Error()
	}
	ring, err := sign.NewKeyring(key)
	if err != nil {
		return "license: " + err.Error()
	}
	f, err := os.Open(licenseFile)
	if err != nil {
		return "license: none installed"
	}
	defer f.Close()
	st, err := license.Verify(context.Background(), f, ring, product, nil)
	if st == nil {
		return "license: INVALID: " + err.Error()
	}
	l := st.License
	state := "valid"
	switch {
	case err != nil:
		state = "INVALID (" + err.Error() + ")"
	case st.InGrace:
		state = "valid, in grace period"
	}
	seats := "unlimited"
	if l.Seats > 0 {
		seats = fmt.Sprint(l.Seats)
	}
	expiry := "never"
	if l.ExpiresAt != nil {
		expiry = l.ExpiresAt.UTC().Format("2006-01-02")
	}
	return fmt.Sprintf("license: %s; customer %s (%s); seats %s; expires %s",
		state, l.Customer.ID, l.Customer.Name, seats, expiry)
}

// firstBootToken returns the instance id, making it when none is stored. A
// license can be bound to it (license.License.InstanceID). The demo keeps
// it on the initramfs, which lives in RAM, so it is new on every boot; a
// real appliance stores it on its data disk once and keeps it.
func firstBootToken() (string, error) {
	if b, err := os.ReadFile(instanceFile); err == nil && len(b) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	token := hex.EncodeToString(raw[:])
	if err := os.MkdirAll("/var/lib/fogkit", 0o755); err != nil {
		return "", err
	}
	return token, os.WriteFile(instanceFile, []byte(token+"\n"), 0o600)
}
