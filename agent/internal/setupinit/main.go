//go:build linux

// Command setupinit is a test /init: it runs agent.Setup as PID 1, prints
// the report and what the guest then sees as lines the qemu test reads,
// writes a file on the data disk and unmounts it cleanly, prints the boot
// marker and powers off.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/fogkit/fogkit/agent"
	"github.com/fogkit/fogkit/ext4"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_ = agent.MountSystem() // for /dev/console; Setup's own mount step then finds them mounted
	out := io.Writer(os.Stdout)
	if f, err := os.OpenFile("/dev/console", os.O_WRONLY, 0); err == nil {
		out = f
	}
	// A watchdog: if Setup hangs, print every goroutine's stack so the test
	// shows where, and power off.
	time.AfterFunc(75*time.Second, func() {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			if strings.Contains(g, "fogkit/agent.") {
				fmt.Fprintf(out, "SETUP hung:\n%s\n", g)
			}
		}
		syscall.Sync()
		_ = syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	})
	rep, err := agent.Setup(ctx, &agent.SetupOptions{
		OVFEnv: &agent.OVFEnvOptions{Wait: 5 * time.Second},
		// ext4.Probe is still to come: read the superblock here.
		Data: &agent.DataOptions{Probe: superblockProbe, Wait: 10 * time.Second},
	})
	fmt.Fprint(out, rep.String())
	if err != nil {
		fmt.Fprintf(out, "SETUP error=%q\n", err)
	}
	j, _ := json.Marshal(rep.Network)
	fmt.Fprintf(out, "NETWORK %s\n", j)
	h, _ := os.Hostname()
	fmt.Fprintf(out, "HOSTNAME %s\n", h)
	rc, _ := os.ReadFile("/etc/resolv.conf")
	fmt.Fprintf(out, "RESOLV %q\n", rc)
	if rep.Data != nil {
		j, _ = json.Marshal(rep.Data)
		fmt.Fprintf(out, "DATA %s\n", j)
		werr := os.WriteFile(rep.Data.Mountpoint+"/setup-ok", []byte(h+"\n"), 0o644)
		syscall.Sync()
		uerr := syscall.Unmount(rep.Data.Mountpoint, 0)
		fmt.Fprintf(out, "DATAWRITE write=%v unmount=%v\n", werr, uerr)
	}
	cmdline, _ := os.ReadFile("/proc/cmdline")
	for _, f := range strings.Fields(string(cmdline)) {
		if n, ok := strings.CutPrefix(f, "fogkit.nonce="); ok {
			fmt.Fprintf(out, "FOGKIT-BOOT-OK %s\n", n)
		}
	}
	syscall.Sync()
	_ = syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
}

func superblockProbe(r io.ReaderAt) (*ext4.Info, error) {
	var sb [1024]byte
	if _, err := r.ReadAt(sb[:], 1024); err != nil {
		return nil, err
	}
	if binary.LittleEndian.Uint16(sb[56:]) != 0xef53 {
		return nil, ext4.ErrNotExt4
	}
	l := strings.TrimRight(string(sb[120:136]), "\x00")
	u := sb[104:120]
	return &ext4.Info{Label: l, UUID: fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])}, nil
}
