//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"

	"github.com/fogkit/fogkit/agent"
	"github.com/fogkit/fogkit/support"
)

// newUpdater opens the ESP updater: its state lives on the data disk, its
// progress goes to the console, and the ESP is writable only while it
// writes.
func newUpdater(out io.Writer, m *agent.ESPMount) (*agent.ESPUpdater, error) {
	key, err := os.ReadFile(updateKeyFile)
	if err != nil {
		return nil, err
	}
	return agent.NewESPUpdater(&agent.ESPUpdaterOptions{
		ESPDir: m.Mountpoint, StateDir: dataDir + "/fogkit/update", UpdateKey: key,
		ESPWritable: m.SetWritable,
		Progress:    func(e agent.UpdateEvent) { fmt.Fprintln(out, e.String()) },
	})
}

// newServer makes the admin API. Its state (credentials, certificate,
// installed license) lives on the data disk.
func newServer(out io.Writer, release map[string]string, upd *agent.ESPUpdater, hosts []string) (*agent.Server, error) {
	pub, _ := os.ReadFile(licenseKeyFile)
	baked, _ := os.ReadFile(licenseFile)
	supportKey, _ := os.ReadFile(supportKeyFile)
	seq, _ := strconv.ParseUint(release["SEQUENCE"], 10, 64)
	o := &agent.ServerOptions{
		StateDir: dataDir + "/fogkit/admin", DataDir: dataDir,
		Product: release["PRODUCT"], Version: release["VERSION"], Sequence: seq,
		LicensePublicKey: pub, BakedLicense: baked, Console: out, CertHosts: hosts,
		Reboot: func() error { go shutdown(syscall.LINUX_REBOOT_CMD_RESTART); return nil },
		// Support bundles: the agent's own status, kernel log and system
		// facts, plus the update state; encrypted to the vendor's key.
		Support: &agent.SupportOptions{Key: supportKey, Sources: []support.Source{
			support.Glob("fogkit/update", dataDir+"/fogkit/update/*.json"),
		}},
		// Backups hold the customer's data (the notes), never the
		// appliance's own state under /data/fogkit. The app opens its
		// file per request, so a restore needs no stop and start.
		Backup: &agent.BackupOptions{Dir: dataDir + "/demo"},
	}
	if upd != nil { // a nil *ESPUpdater in the interface would not be nil
		o.Updater = upd
	}
	return agent.NewServer(o)
}
