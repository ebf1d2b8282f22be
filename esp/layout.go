package esp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The appliance's ESP layout. Each version (slot) lives in its own
// directory named by its update sequence, SlotsDir/<seq>/, holding exactly
// the slot's files (KernelFile, InitrdFile, EntryFile); the loader entry
// that boots it is EntriesDir/fogkit-<seq>.conf (the version the appliance
// shipped with, known good) or EntriesDir/fogkit-<seq>+<tries>.conf (a
// version installed by an update, boot-counted until blessed). A slot's
// directory is exactly the "boot tree" that update packages carry.
const (
	SlotsDir       = "fogkit"
	EntriesDir     = "loader/entries"
	LoaderConfFile = "loader/loader.conf"
	EntryPrefix    = "fogkit-"
	KernelFile     = "vmlinuz"
	InitrdFile     = "initrd.img"
	// EntryFile is the slot's copy of its loader entry text, so the slot
	// directory alone says how to boot it (and an update package carries
	// it).
	EntryFile = "entry.conf"
	// SlotParam is the kernel command-line parameter naming the running
	// slot: fogkit.slot=<seq>.
	SlotParam = "fogkit.slot"
	// DefaultTries is the boot counter a new entry starts with.
	DefaultTries = 3
	// PanicSeconds is the panic= value KernelOptions adds: a kernel whose
	// /init exits or crashes panics and reboots after that many seconds,
	// which spends one of systemd-boot's tries.
	PanicSeconds = 5
	// FileMode and DirMode are the modes of a slot's files in the boot
	// tree (the tree digest of update packages covers modes, and FAT has
	// none of its own).
	FileMode  = 0o644
	DirMode   = 0o755
	tmpSuffix = ".tmp"
)

// LoaderConf is the loader.conf the appliance's ESP carries. systemd-boot
// (252, src/boot/efi/boot.c) sorts the entries before choosing:
// config_entry_compare puts every entry with no tries left at the end, then
// orders by the entry id (the file name, lower-cased, counter included)
// with strverscmp_improved, newest first; so fogkit-10+2-1.conf comes before
// fogkit-9.conf (numeric segments compare as numbers, '+' is a separator).
// config_default_entry_select then takes the first entry matching the
// `default` glob (efi_fnmatch), unless an EFI variable (LoaderEntryOneShot,
// LoaderEntryDefault) names one, which nothing on an appliance sets. The
// glob must not name a counter or ".conf": the id of a counted entry
// carries them. "timeout 0" boots without a menu; with no auto entries the
// only candidates are ours.
const LoaderConf = "timeout 0\ndefault " + EntryPrefix + "*\neditor no\nauto-entries no\nauto-firmware no\n"

// SlotDir returns the slot's directory on the ESP, "fogkit/<seq>".
func SlotDir(seq uint64) string { return SlotsDir + "/" + strconv.FormatUint(seq, 10) }

// EntryID returns the loader entry's name without counter or suffix,
// "fogkit-<seq>".
func EntryID(seq uint64) string { return EntryPrefix + strconv.FormatUint(seq, 10) }

// KernelOptions returns cmdline with the slot parameter and, unless
// cmdline sets one, panic=PanicSeconds appended.
func KernelOptions(cmdline string, seq uint64) string {
	f := strings.Fields(cmdline)
	var out []string
	hasPanic := false
	for _, a := range f {
		if strings.HasPrefix(a, SlotParam+"=") {
			continue
		}
		if strings.HasPrefix(a, "panic=") {
			hasPanic = true
		}
		out = append(out, a)
	}
	out = append(out, SlotParam+"="+strconv.FormatUint(seq, 10))
	if !hasPanic {
		out = append(out, "panic="+strconv.Itoa(PanicSeconds))
	}
	return strings.Join(out, " ")
}

// EntryText returns the loader entry for a slot: the title, the slot's
// kernel and initrd and KernelOptions(cmdline, seq). No sort-key: with one,
// systemd-boot would order by it instead of by the id.
func EntryText(title string, seq uint64, cmdline string) string {
	dir := "/" + SlotDir(seq) + "/"
	return "title " + oneLine(title) + "\nlinux " + dir + KernelFile + "\ninitrd " + dir + InitrdFile +
		"\noptions " + KernelOptions(oneLine(cmdline), seq) + "\n"
}

func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }

// SlotOfCmdline returns the slot named by fogkit.slot= on a kernel command
// line (the last one wins, as the kernel's own parameters do).
func SlotOfCmdline(cmdline string) (uint64, bool) {
	var seq uint64
	ok := false
	for _, a := range strings.Fields(cmdline) {
		v, found := strings.CutPrefix(a, SlotParam+"=")
		if !found {
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			ok = false
			continue
		}
		seq, ok = n, true
	}
	return seq, ok
}

// BootEntryName returns the file name of a loader entry with a boot
// counter (https://systemd.io/AUTOMATIC_BOOT_ASSESSMENT/):
// "name+left.conf" when done is 0, "name+left-done.conf" otherwise, and
// "name.conf" when left is negative (no counting).
func BootEntryName(name string, left, done int) string {
	switch {
	case left < 0:
		return name + ".conf"
	case done == 0:
		return name + "+" + strconv.Itoa(left) + ".conf"
	default:
		return name + "+" + strconv.Itoa(left) + "-" + strconv.Itoa(done) + ".conf"
	}
}

// ParseBootEntryName splits an entry file name into its name and counters
// the way systemd-boot reads them (config_entry_parse_tries: the last '+'
// starts the counter, "-DONE" is optional, and the counter must end right
// before ".conf"; anything else is part of the name). counted is false for
// a plain "name.conf" (left and done are then -1, 0).
func ParseBootEntryName(file string) (name string, left, done int, counted bool, err error) {
	base, ok := strings.CutSuffix(file, ".conf")
	if !ok || base == "" {
		return "", 0, 0, false, fmt.Errorf("%w: %q is not a loader entry file", ErrMalformed, file)
	}
	i := strings.LastIndexByte(base, '+')
	if i < 0 {
		return base, -1, 0, false, nil
	}
	name, counter := base[:i], base[i+1:]
	l, d, hasDone := strings.Cut(counter, "-")
	if left, err = atoiSmall(l); err != nil || name == "" {
		return base, -1, 0, false, nil // a '+' that is not a counter belongs to the name
	}
	if hasDone {
		if done, err = atoiSmall(d); err != nil {
			return base, -1, 0, false, nil
		}
	}
	return name, left, done, true, nil
}

func atoiSmall(s string) (int, error) {
	if s == "" || len(s) > 4 {
		return 0, errors.New("not a counter")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("not a counter")
		}
	}
	return strconv.Atoi(s)
}

// parseSeq reads a slot sequence as this package writes it: decimal,
// no sign, no leading zero.
func parseSeq(s string) (uint64, bool) {
	if s == "" || len(s) > 20 || s[0] == '0' {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// Entry is one of the appliance's loader entries on the ESP.
type Entry struct {
	Seq  uint64 `json:"seq"`
	File string `json:"file"` // name in EntriesDir
	// Counted: the entry carries a boot counter (installed by an update
	// and not yet blessed). TriesLeft 0 means systemd-boot has given up on
	// it and sorts it last.
	Counted   bool `json:"counted"`
	TriesLeft int  `json:"triesLeft"`
	TriesDone int  `json:"triesDone"`
}

// ParseEntryName parses the name of one of the appliance's entries,
// "fogkit-<seq>[+LEFT[-DONE]].conf".
func ParseEntryName(file string) (Entry, bool) {
	name, left, done, counted, err := ParseBootEntryName(file)
	if err != nil {
		return Entry{}, false
	}
	s, ok := strings.CutPrefix(name, EntryPrefix)
	if !ok {
		return Entry{}, false
	}
	seq, ok := parseSeq(s)
	if !ok {
		return Entry{}, false
	}
	return Entry{Seq: seq, File: file, Counted: counted, TriesLeft: left, TriesDone: done}, true
}
