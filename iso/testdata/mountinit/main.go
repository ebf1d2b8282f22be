//go:build linux

// Command mountinit is the /init of the iso package's Linux mount test: it
// loads the initramfs's modules, mounts /dev/vda as iso9660 read-only at
// /mnt, prints "FILE <path> <size> <sha256>" for every regular file under
// it, then "FOGKIT-BOOT-OK <nonce>" (fogkit.nonce= on the command line),
// and powers the machine off.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fogkit/fogkit/agent"
)

func main() {
	for _, d := range []string{"/proc", "/sys", "/dev", "/mnt"} {
		_ = os.MkdirAll(d, 0o755)
	}
	_ = syscall.Mount("proc", "/proc", "proc", 0, "")
	_ = syscall.Mount("sysfs", "/sys", "sysfs", 0, "")
	_ = syscall.Mount("devtmpfs", "/dev", "devtmpfs", 0, "")
	out := os.Stdout
	if f, err := os.OpenFile("/dev/console", os.O_WRONLY, 0); err == nil {
		out = f
	}
	defer func() {
		syscall.Sync()
		_ = syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	}()
	if _, err := agent.LoadModules(context.Background(), nil); err != nil {
		fmt.Fprintf(out, "MODULES error=%v\n", err)
	}
	var err error
	for range 300 {
		if err = syscall.Mount("/dev/vda", "/mnt", "iso9660", syscall.MS_RDONLY, ""); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		fmt.Fprintf(out, "MOUNT error=%v\n", err)
		return
	}
	fmt.Fprintln(out, "MOUNT ok")
	_ = filepath.WalkDir("/mnt", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			fmt.Fprintf(out, "WALK %s error=%v\n", p, err)
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(out, "FILE %s error=%v\n", p, err)
			return nil
		}
		sum := sha256.Sum256(b)
		fmt.Fprintf(out, "FILE %s %d %s\n", strings.TrimPrefix(p, "/mnt/"), len(b), hex.EncodeToString(sum[:]))
		return nil
	})
	cmdline, _ := os.ReadFile("/proc/cmdline")
	for _, f := range strings.Fields(string(cmdline)) {
		if n, ok := strings.CutPrefix(f, "fogkit.nonce="); ok {
			fmt.Fprintf(out, "FOGKIT-BOOT-OK %s\n", n)
		}
	}
}
