package support

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// SystemFacts returns the sources of the system/ directory, all read from
// /proc, /sys and /etc or computed in-process (an appliance may have no
// df, ip or ps binaries). Every member is text:
//
//	system/uname       "key: value" lines: sysname, release, version, hostname, machine
//	system/os-release  /etc/os-release
//	system/uptime      "key: value" lines: uptime and idle seconds, load averages
//	system/cmdline     /proc/cmdline
//	system/meminfo     /proc/meminfo
//	system/cpuinfo     /proc/cpuinfo
//	system/mounts      /proc/self/mounts
//	system/df          one line per mounted file system: size, used, available (KiB), use%, mount point, type
//	system/network     interfaces (flags, MTU, MAC, addresses), routes (/proc/net/route), resolv.conf
//	system/modules     /proc/modules
//	system/processes   one line per process: pid, state, RSS (KiB), name, command line
//
// A fact the system does not have (no /proc/modules on a kernel without
// modules) is "skipped"; all go through the caps and redaction (command
// lines can hold secrets).
func SystemFacts() []Source {
	return []Source{
		fact("system/uname", unameFact),
		factFile("system/os-release", "/etc/os-release"),
		fact("system/uptime", uptimeFact),
		factFile("system/cmdline", "/proc/cmdline"),
		factFile("system/meminfo", "/proc/meminfo"),
		factFile("system/cpuinfo", "/proc/cpuinfo"),
		factFile("system/mounts", "/proc/self/mounts"),
		fact("system/df", dfFact),
		fact("system/network", networkFact),
		factFile("system/modules", "/proc/modules"),
		fact("system/processes", processesFact),
	}
}

func factFile(name, p string) Source {
	s := File(name, p)
	s.kind = "facts"
	return s
}

// fact is a source computed by gen; a gen failing with fs.ErrNotExist
// makes it "skipped".
func fact(name string, gen func(ctx context.Context) ([]byte, error)) Source {
	return Source{name: name, kind: "facts", run: func(ctx context.Context, c *collector) error {
		b, err := gen(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch {
		case errors.Is(err, fs.ErrNotExist):
			c.skip(err.Error())
			return nil
		case err != nil:
			c.fail(err)
			if len(b) == 0 {
				return nil
			}
		}
		return c.storeStream(ctx, name, bytes.NewReader(b))
	}}
}

// readSmall reads a small /proc or /sys file, trimmed.
func readSmall(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	b := make([]byte, 4096)
	n, _ := f.Read(b)
	return strings.TrimSpace(string(b[:n]))
}

func unameFact(context.Context) ([]byte, error) {
	var b bytes.Buffer
	for _, kv := range [][2]string{
		{"sysname", "/proc/sys/kernel/ostype"}, {"release", "/proc/sys/kernel/osrelease"},
		{"version", "/proc/sys/kernel/version"}, {"hostname", "/proc/sys/kernel/hostname"},
	} {
		fmt.Fprintf(&b, "%s: %s\n", kv[0], readSmall(kv[1]))
	}
	fmt.Fprintf(&b, "machine: %s\n", machine())
	return b.Bytes(), nil
}

func machine() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "386":
		return "i686"
	}
	return runtime.GOARCH
}

func uptimeFact(context.Context) ([]byte, error) {
	up := strings.Fields(readSmall("/proc/uptime"))
	if len(up) < 2 {
		return nil, fmt.Errorf("/proc/uptime: %w", fs.ErrNotExist)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "uptime: %s\nidle: %s\n", up[0], up[1])
	if la := strings.Fields(readSmall("/proc/loadavg")); len(la) >= 3 {
		fmt.Fprintf(&b, "load: %s %s %s\n", la[0], la[1], la[2])
	}
	return b.Bytes(), nil
}

// mountEntry is a line of /proc/self/mounts.
type mountEntry struct{ dev, dir, typ string }

func readMounts() ([]mountEntry, error) {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ms []mountEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() && len(ms) < 4096 {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 3 {
			ms = append(ms, mountEntry{unescapeMount(fs[0]), unescapeMount(fs[1]), fs[2]})
		}
	}
	return ms, sc.Err()
}

// unescapeMount undoes the octal escapes of /proc/self/mounts (\040).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// remoteFS are file systems statfs could hang on.
var remoteFS = []string{"nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "9p", "ceph", "glusterfs"}

func dfFact(ctx context.Context) ([]byte, error) {
	ms, err := readMounts()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%-24s %12s %12s %12s %5s %-10s %s\n", "filesystem", "size-kib", "used-kib", "avail-kib", "use%", "type", "mounted-on")
	for _, m := range ms {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if slices.Contains(remoteFS, m.typ) {
			continue
		}
		size, free, avail, err := statfs(m.dir)
		if err != nil || size == 0 {
			continue
		}
		used := size - free
		pct := 0
		if used+avail > 0 {
			pct = int((used*100 + used + avail - 1) / (used + avail))
		}
		fmt.Fprintf(&b, "%-24s %12d %12d %12d %4d%% %-10s %s\n", m.dev, size>>10, used>>10, avail>>10, pct, m.typ, m.dir)
	}
	return b.Bytes(), nil
}

func networkFact(context.Context) ([]byte, error) {
	var b bytes.Buffer
	ifs, err := net.Interfaces()
	if err != nil {
		fmt.Fprintf(&b, "interfaces: %v\n", err)
	}
	for _, ifc := range ifs {
		fmt.Fprintf(&b, "%d: %s: <%s> mtu %d", ifc.Index, ifc.Name, ifc.Flags, ifc.MTU)
		if len(ifc.HardwareAddr) > 0 {
			fmt.Fprintf(&b, " link %s", ifc.HardwareAddr)
		}
		if st := readSmall(filepath.Join("/sys/class/net", ifc.Name, "operstate")); st != "" {
			fmt.Fprintf(&b, " state %s", st)
		}
		b.WriteByte('\n')
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			fmt.Fprintf(&b, "    inet %s\n", a)
		}
	}
	b.WriteString("\nroutes (/proc/net/route):\n")
	if f, err := os.Open("/proc/net/route"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 8 || fs[0] == "Iface" {
				continue
			}
			fmt.Fprintf(&b, "%s via %s dev %s mask %s metric %s\n", hexIP(fs[1]), hexIP(fs[2]), fs[0], hexIP(fs[7]), fs[6])
		}
		f.Close()
	}
	b.WriteString("\nresolv.conf:\n")
	if f, err := os.Open("/etc/resolv.conf"); err == nil {
		sc := bufio.NewScanner(f)
		for n := 0; sc.Scan() && n < 100; n++ {
			if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
				b.WriteString(l + "\n")
			}
		}
		f.Close()
	}
	return b.Bytes(), nil
}

// hexIP turns /proc/net/route's little-endian hex into a dotted quad.
func hexIP(h string) string {
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return h
	}
	return net.IPv4(byte(v), byte(v>>8), byte(v>>16), byte(v>>24)).String()
}

func processesFact(ctx context.Context) ([]byte, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	var b bytes.Buffer
	fmt.Fprintf(&b, "%7s %5s %10s %-16s %s\n", "pid", "state", "rss-kib", "name", "command")
	for i, pid := range pids {
		if i == 4096 {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		dir := "/proc/" + strconv.Itoa(pid)
		var name, state, rss string
		for l := range strings.SplitSeq(readSmall(dir+"/status"), "\n") {
			k, v, _ := strings.Cut(l, ":")
			v = strings.TrimSpace(v)
			switch k {
			case "Name":
				name = v
			case "State":
				state, _, _ = strings.Cut(v, " ")
			case "VmRSS":
				rss, _, _ = strings.Cut(v, " ")
			}
		}
		if name == "" {
			continue
		}
		cmd := strings.TrimSpace(strings.ReplaceAll(readSmall(dir+"/cmdline"), "\x00", " "))
		fmt.Fprintf(&b, "%7d %5s %10s %-16s %s\n", pid, state, rss, name, cmd)
	}
	return b.Bytes(), nil
}
