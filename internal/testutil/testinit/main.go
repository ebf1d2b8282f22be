//go:build linux

// Command testinit is the /init of fogkit's boot tests. It mounts /proc,
// /sys and /dev, then follows the kernel command line:
//
//	fogkit.stat=/a,/b   print "STAT <path> mode=… uid=… gid=… nlink=… ino=… rdev=M,m size=…"
//	fogkit.cat=/a,/b    print "CAT <path> <content with newlines as \n>"
//	fogkit.modules=D,N  load the initramfs's kernel modules (agent.LoadModules), print
//	                    "MODULE <path> ok|error=…", wait (60 s at most) for D disks and N
//	                    network interfaces to appear, then print "BLOCK <devices>" and
//	                    "NET <interfaces>"
//	fogkit.ext4=D1,D2   mount each device as ext4 read-write at /mnt, write files
//	                    and a directory, fsync and unmount; print "EXT4 DEV ok" or
//	                    "EXT4 DEV error=…" (after fogkit.modules, which loads ext4)
//	fogkit.nonce=N      print "FOGKIT-BOOT-OK N" last
//
// and powers the machine off. Output goes to /dev/console (the serial port).
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/fogkit/fogkit/agent"
)

func main() {
	_ = os.MkdirAll("/proc", 0o755)
	_ = os.MkdirAll("/sys", 0o755)
	_ = syscall.Mount("proc", "/proc", "proc", 0, "")
	_ = syscall.Mount("sysfs", "/sys", "sysfs", 0, "")
	_ = syscall.Mount("devtmpfs", "/dev", "devtmpfs", 0, "")
	out := os.Stdout
	if f, err := os.OpenFile("/dev/console", os.O_WRONLY, 0); err == nil {
		out = f
	}
	cmdline, _ := os.ReadFile("/proc/cmdline")
	args := map[string]string{}
	for _, f := range strings.Fields(string(cmdline)) {
		if k, v, ok := strings.Cut(f, "="); ok && strings.HasPrefix(k, "fogkit.") {
			args[k] = v
		}
	}
	fmt.Fprintln(out, "fogkit testinit: started")
	for _, p := range split(args["fogkit.stat"]) {
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			fmt.Fprintf(out, "STAT %s error=%v\n", p, err)
			continue
		}
		fmt.Fprintf(out, "STAT %s mode=%o uid=%d gid=%d nlink=%d ino=%d rdev=%d,%d size=%d\n",
			p, st.Mode, st.Uid, st.Gid, st.Nlink, st.Ino, (st.Rdev>>8)&0xfff, (st.Rdev&0xff)|((st.Rdev>>12)&0xfff00), st.Size)
	}
	for _, p := range split(args["fogkit.cat"]) {
		b, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(out, "CAT %s error=%v\n", p, err)
			continue
		}
		fmt.Fprintf(out, "CAT %s %s\n", p, strings.ReplaceAll(string(b), "\n", `\n`))
	}
	if v := args["fogkit.modules"]; v != "" {
		var disks, nics int
		fmt.Sscanf(v, "%d,%d", &disks, &nics)
		loadModules(out, disks, nics)
	}
	for _, dev := range split(args["fogkit.ext4"]) {
		if err := writeExt4(dev); err != nil {
			fmt.Fprintf(out, "EXT4 %s error=%v\n", dev, err)
		} else {
			fmt.Fprintf(out, "EXT4 %s ok\n", dev)
		}
	}
	if n := args["fogkit.nonce"]; n != "" {
		fmt.Fprintf(out, "FOGKIT-BOOT-OK %s\n", n)
	}
	syscall.Sync()
	_ = syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func loadModules(out *os.File, disks, nics int) {
	rep, err := agent.LoadModules(context.Background(), nil)
	if err != nil {
		fmt.Fprintf(out, "MODULES error=%v\n", err)
		return
	}
	for _, m := range rep.Modules {
		if m.Loaded {
			fmt.Fprintf(out, "MODULE %s ok\n", m.Path)
		} else {
			fmt.Fprintf(out, "MODULE %s error=%s\n", m.Path, m.Error)
		}
	}
	// Drivers probe devices asynchronously after their module loads (a
	// SAS controller's discovery takes seconds under emulation): wait for
	// the expected devices, bounded, so a missing one still shows.
	var blocks, nets []string
	for i := 0; i < 600; i++ {
		blocks, _ = agent.BlockDevices()
		nets, _ = agent.NetInterfaces()
		if len(blocks) >= disks && len(nets) >= nics {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(out, "BLOCK %s\n", strings.Join(blocks, " "))
	fmt.Fprintf(out, "NET %s\n", strings.Join(nets, " "))
}

// writeExt4 proves the kernel takes a file system read-write: it writes
// a small file, a directory with enough entries to need more than one
// block, and a 3 MiB file, then syncs and unmounts so that the host's
// e2fsck sees what the kernel left.
func writeExt4(dev string) error {
	if err := os.MkdirAll("/mnt", 0o755); err != nil {
		return err
	}
	if err := syscall.Mount(dev, "/mnt", "ext4", 0, ""); err != nil {
		return fmt.Errorf("mount: %w", err)
	}
	err := func() error {
		if err := os.WriteFile("/mnt/hello.txt", []byte("hello from the guest\n"), 0o644); err != nil {
			return err
		}
		if err := os.Mkdir("/mnt/notes", 0o755); err != nil {
			return err
		}
		for i := range 200 {
			name := fmt.Sprintf("/mnt/notes/note-with-a-long-name-%03d.txt", i)
			if err := os.WriteFile(name, []byte(name), 0o600); err != nil {
				return err
			}
		}
		big := make([]byte, 3<<20)
		for i := range big {
			big[i] = byte(i * 7)
		}
		f, err := os.Create("/mnt/notes/big.bin")
		if err != nil {
			return err
		}
		if _, err := f.Write(big); err != nil {
			f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}()
	syscall.Sync()
	if uerr := syscall.Unmount("/mnt", 0); err == nil && uerr != nil {
		err = fmt.Errorf("unmount: %w", uerr)
	}
	return err
}
