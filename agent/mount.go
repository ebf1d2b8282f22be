package agent

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrMount: a file system could not be mounted.
var ErrMount = errors.New("agent: mount failed")

// MountError says which mount failed and why; it matches ErrMount.
type MountError struct {
	Target string
	FSType string
	Err    error
}

func (e *MountError) Error() string {
	return fmt.Sprintf("agent: mount %s on %s: %v", e.FSType, e.Target, e.Err)
}
func (e *MountError) Unwrap() []error { return []error{ErrMount, e.Err} }

// systemMounts are the file systems every appliance needs before anything
// else: the kernel's views (/proc, /sys), device nodes (/dev, which
// devtmpfs fills as drivers bind) and the two RAM-backed scratch areas.
var systemMounts = []struct {
	source, target, fstype string
	flags                  uintptr // nosuid and nodev are flags: tmpfs refuses them as options
	data                   string
}{
	{"proc", "/proc", "proc", msNosuid | msNodev | msNoexec, ""},
	{"sysfs", "/sys", "sysfs", msNosuid | msNodev | msNoexec, ""},
	{"devtmpfs", "/dev", "devtmpfs", msNosuid, "mode=0755"},
	{"tmpfs", "/run", "tmpfs", msNosuid | msNodev, "mode=0755"},
	{"tmpfs", "/tmp", "tmpfs", msNosuid | msNodev, "mode=1777"},
}

// MountSystem mounts /proc, /sys, /dev (devtmpfs), /run and /tmp (tmpfs),
// creating the directories. A file system already mounted there is left
// as it is, so calling it twice, or after the kernel or a previous /init
// mounted some of them, is fine.
func MountSystem() error { return mountSystem("/", sysMount) }

// mounter is mount(2); tests pass a fake.
type mounter func(source, target, fstype string, flags uintptr, data string) error

func mountSystem(root string, mount mounter) error {
	var errs []error
	for _, m := range systemMounts {
		target := filepath.Join(root, m.target)
		// Read the table before every mount: /proc itself is the first one.
		mounted, _ := mountPoints(filepath.Join(root, "proc", "self", "mountinfo"))
		if mounted[target] || (m.fstype == "proc" && procMounted(root)) {
			continue
		}
		if err := os.MkdirAll(target, 0o755); err != nil {
			errs = append(errs, &MountError{Target: target, FSType: m.fstype, Err: err})
			continue
		}
		if err := mount(m.source, target, m.fstype, m.flags, m.data); err != nil {
			errs = append(errs, &MountError{Target: target, FSType: m.fstype, Err: err})
		}
	}
	return errors.Join(errs...)
}

// procMounted: /proc/self exists only when procfs is mounted on /proc.
func procMounted(root string) bool {
	_, err := os.Stat(filepath.Join(root, "proc", "self", "mountinfo"))
	return err == nil
}

// mountPoints reads a mountinfo file into the set of mount points.
func mountPoints(path string) (map[string]bool, error) {
	ms, err := readMountInfo(path)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(ms))
	for _, m := range ms {
		out[m.target] = true
	}
	return out, nil
}

type mountEntry struct{ source, target, fstype, devno string }

// maxMountInfo bounds what is read of a mountinfo file.
const maxMountInfo = 1 << 20

// readMountInfo parses /proc/self/mountinfo (proc(5)): field 3 is the
// device number, field 5 the mount point; after the "-" separator come
// the file system type and the source. Paths are octal-escaped.
func readMountInfo(path string) ([]mountEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []mountEntry
	sc := bufio.NewScanner(io.LimitReader(f, maxMountInfo))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || len(fields) < sep+3 {
			continue
		}
		out = append(out, mountEntry{
			devno:  fields[2],
			target: unescapeMount(fields[4]),
			fstype: fields[sep+1],
			source: unescapeMount(fields[sep+2]),
		})
	}
	return out, sc.Err()
}

// unescapeMount undoes the kernel's \ooo escapes for space, tab, newline
// and backslash in mountinfo paths.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
