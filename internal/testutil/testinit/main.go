//go:build linux

// Command testinit is the /init of fogkit's boot tests. It mounts /proc,
// /sys and /dev, then follows the kernel command line:
//
//	fogkit.stat=/a,/b   print "STAT <path> mode=… uid=… gid=… nlink=… ino=… rdev=M,m size=…"
//	fogkit.cat=/a,/b    print "CAT <path> <content with newlines as \n>"
//	fogkit.nonce=N      print "FOGKIT-BOOT-OK N" last
//
// and powers the machine off. Output goes to /dev/console (the serial port).
package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
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
