//go:build linux

// Command demoinit is the /init of fogkit's demo appliance, built on
// package agent. At each boot it:
//
//   - brings the system up (agent.Setup: mounts, kernel modules, hostname,
//     network by DHCP or the OVF environment, the data disk at /data) and
//     prints what it found;
//   - mounts the ESP read-only (agent.MountESP) and opens the ESP updater;
//   - starts the admin API on :9443 (first-run token and certificate
//     fingerprint on the console) and the demo app on :8080 behind the
//     license gate (GET / answers the version and license status, POST
//     /notes stores a line on /data, GET /notes returns them); the admin
//     API also makes support bundles (encrypted to the vendor's support
//     key) and backs up and restores the notes (/data/demo);
//   - runs the console menu on tty1 and the serial console (address,
//     first-run token until claimed, certificate fingerprint; DHCP or a
//     static address, kept on /data; admin password reset; reboot);
//   - checks its own health (the data disk is mounted and the app
//     answers) and lets the updater bless a new version or record that the
//     loader fell back from a failed one.
//
// With fogkit.test on the kernel command line it powers off after the
// setup lines (the pipeline's boot tests); with fogkit.demo.fail it exits
// before blessing, which panics the kernel and, with panic= on the
// command line, reboots into the loader's next try (the lifecycle test's
// broken version).
//
// The pipeline example builds it as a static binary:
//
//	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags "-s -w" ./examples/pipeline/demoinit
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/fogkit/fogkit/agent"
)

// Where the build puts the appliance's identity, keys and license, and
// where the demo keeps its state on the data disk.
const (
	releaseFile    = "/etc/fogkit/release"
	licenseFile    = "/etc/fogkit/license.lic"
	licenseKeyFile = "/etc/fogkit/license.pub"
	updateKeyFile  = "/etc/fogkit/update.pub"
	supportKeyFile = "/etc/fogkit/support.pub"
	dataDir        = "/data"
	espDir         = "/boot/efi"
)

func main() {
	ctx := context.Background()
	_ = agent.MountSystem()
	out := console()
	release := readRelease()
	cmdline := readCmdline()
	fmt.Fprintf(out, "\n=== %s %s (fogkit demo appliance) ===\n", release["NAME"], release["VERSION"])

	rep, err := agent.Setup(ctx, &agent.SetupOptions{Data: &agent.DataOptions{Wait: 15 * time.Second}})
	fmt.Fprint(out, rep.String())
	fmt.Fprintln(out, driversLine(rep))
	if err != nil {
		fmt.Fprintln(out, "setup: the appliance runs degraded (see the failed steps above)")
	}
	if hasField(cmdline, "fogkit.demo.fail") {
		// The broken version of the lifecycle test: exit before blessing.
		fmt.Fprintln(out, "fogkit-demo: fogkit.demo.fail is set: /init exits before blessing this version")
		os.Exit(1)
	}
	testBoot := hasField(cmdline, "fogkit.test")
	mounted := rep.Data != nil
	network := &consoleNet{cfg: rep.Network}
	if mounted && !testBoot {
		applySavedNetwork(ctx, out, network)
	}

	var upd *agent.ESPUpdater
	if !testBoot {
		espMount, err := agent.MountESP(ctx, &agent.ESPMountOptions{Mountpoint: espDir})
		if espMount != nil {
			for _, l := range espMount.Repaired {
				fmt.Fprintf(out, "esp: %s\n", l)
			}
		}
		switch {
		case err != nil:
			fmt.Fprintf(out, "esp: %v (updates are off)\n", err)
		case !mounted:
			fmt.Fprintln(out, "esp: no data disk to stage updates on (updates are off)")
		default:
			if upd, err = newUpdater(out, espMount); err != nil {
				fmt.Fprintf(out, "update: %v (updates are off)\n", err)
			}
		}
	}

	srv, err := newServer(out, release, upd, certHosts(rep))
	if err != nil {
		fmt.Fprintf(out, "admin API: %v\n", err)
		idle()
	}
	fmt.Fprintln(out, licenseLine(srv.Licenses().Summary()))
	for _, f := range strings.Fields(cmdline) {
		if n, ok := strings.CutPrefix(f, "fogkit.nonce="); ok {
			fmt.Fprintf(out, "FOGKIT-BOOT-OK %s\n", n)
		}
	}
	if testBoot {
		fmt.Fprintln(out, "fogkit-demo: ready")
		shutdown(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	}
	go serve(out, "admin API", func(ln net.Listener) error { return srv.Serve(ctx, ln) }, fmt.Sprintf(":%d", agent.DefaultPort))
	startConsoleMenus(ctx, out, srv, release["NAME"]+" "+release["VERSION"], network)
	app := &demoApp{version: release["VERSION"], notes: dataDir + "/demo/notes.txt",
		license: func() any { return srv.Licenses().Summary() }}
	gate := agent.LicenseGate(srv.Licenses(), nil)
	go serve(out, "demo app", func(ln net.Listener) error { return http.Serve(ln, gate(app.routes())) }, ":8080")

	if upd != nil {
		res, err := upd.Boot(ctx, func(ctx context.Context) error { return health(ctx, mounted) })
		switch {
		case errors.Is(err, agent.ErrUnhealthy):
			// Not blessed: reboot, so the loader spends another try and
			// falls back by itself after the last.
			fmt.Fprintf(out, "update: %v: rebooting\n", err)
			shutdown(syscall.LINUX_REBOOT_CMD_RESTART)
		case err != nil:
			fmt.Fprintf(out, "update: boot check: %v\n", err)
		case res != nil:
			fmt.Fprintf(out, "update: %s %s\n", res.Version, res.Result)
		}
	}
	fmt.Fprintln(out, "fogkit-demo: ready")
	idle()
}

// health is the demo's check that a new version works: the data disk is
// mounted and the app answers on its port.
func health(ctx context.Context, mounted bool) error {
	if !mounted {
		return errors.New("the data disk is not mounted")
	}
	c := &http.Client{Timeout: 5 * time.Second}
	var last error
	for range 20 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:8080/notes", nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			// 402 is a healthy app refusing an unlicensed request.
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusPaymentRequired {
				return nil
			}
			err = fmt.Errorf("the app answers %s", resp.Status)
		}
		last = err
		time.Sleep(250 * time.Millisecond)
	}
	return last
}

func serve(out io.Writer, what string, run func(net.Listener) error, addr string) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		err = run(ln)
	}
	fmt.Fprintf(out, "%s stopped: %v\n", what, err)
}

// shutdown syncs, unmounts the disks (so the ESP's FAT is marked clean
// and ext4 needs no journal replay) and powers off or restarts.
func shutdown(cmd int) {
	syscall.Sync()
	for _, m := range []string{espDir, dataDir} {
		_ = syscall.Unmount(m, 0)
	}
	syscall.Sync()
	_ = syscall.Reboot(cmd)
	idle()
}

func idle() {
	for {
		time.Sleep(time.Hour)
	}
}

func console() io.Writer {
	if f, err := os.OpenFile("/dev/console", os.O_WRONLY, 0); err == nil {
		return f
	}
	return os.Stdout
}

func readCmdline() string {
	b, _ := os.ReadFile("/proc/cmdline")
	return string(b)
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

// driversLine says what the drivers Setup loaded let the appliance see.
func driversLine(rep *agent.SetupReport) string {
	n, failed := 0, 0
	if rep.Modules != nil {
		failed = len(rep.Modules.Failed())
		for _, m := range rep.Modules.Modules {
			if m.Loaded {
				n++
			}
		}
	}
	disks, _ := agent.BlockDevices()
	nics, _ := agent.NetInterfaces()
	return fmt.Sprintf("drivers: %d loaded, %d failed; disks: %s; network: %s", n, failed,
		strings.Join(disks, " "), strings.Join(nics, " "))
}

// licenseLine describes the license in force in one console line.
func licenseLine(l agent.LicenseSummary) string {
	if l.Status == agent.LicenseNone {
		return "license: none installed"
	}
	seats := "unlimited"
	if l.Seats > 0 {
		seats = fmt.Sprint(l.Seats)
	}
	expiry := "never"
	if l.NotAfter != nil {
		expiry = l.NotAfter.UTC().Format("2006-01-02")
	}
	return fmt.Sprintf("license: %s; customer %s (%s); seats %s; expires %s", l.Status, l.CustomerID, l.Customer, seats, expiry)
}

// certHosts are the names the admin API's certificate carries when it is
// first made: the hostname and the address Setup configured.
func certHosts(rep *agent.SetupReport) []string {
	var hosts []string
	if rep.Hostname != "" {
		hosts = append(hosts, rep.Hostname)
	}
	if rep.Network != nil && rep.Network.Address.IsValid() {
		hosts = append(hosts, rep.Network.Address.Addr().String())
	}
	return hosts
}
