package esp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"unicode/utf8"
)

const (
	maxEntrySize = 64 << 10
	maxSlotFiles = 16
)

// InstallOptions configure Install. nil means the defaults.
type InstallOptions struct {
	// Tries is the new entry's boot counter; default DefaultTries.
	Tries int `json:"tries,omitempty"`
	// Progress, when set, is called synchronously each time a step is
	// durable on the ESP. The ESP is then in a state a power cut may
	// leave it in, so a test can stop the machine there.
	Progress func(Event) `json:"-"`
}

// Event reports a step of Install, Bless or Remove that is durable.
type Event struct {
	Op   string `json:"op"`   // "install", "bless", "remove"
	Step string `json:"step"` // "file", "entry", "files"
	Seq  uint64 `json:"seq"`
	File string `json:"file,omitempty"` // path on the ESP
	Done int    `json:"done"`
	// Total is the number of steps of the operation.
	Total int `json:"total"`
}

// String is the event as a console line, e.g.
// "esp: install slot 3: 2/4 fogkit/3/initrd.img".
func (e Event) String() string {
	return fmt.Sprintf("esp: %s slot %d: %d/%d %s", e.Op, e.Seq, e.Done, e.Total, e.File)
}

func emit(p func(Event), e Event) {
	if p != nil {
		p(e)
	}
}

// slotFile is one file of a slot to install.
type slotFile struct {
	name string
	size int64
}

// Install writes a slot (the files of slot, usually a boot tree that an
// update package installed) to SlotDir(seq) and then makes it bootable
// with a boot-counted loader entry, "fogkit-<seq>+<tries>.conf".
//
// Order, so that a power cut at any point leaves the previous entries
// bootable and never lets systemd-boot choose a half slot: every file is
// written under a temporary name, fsynced, renamed, and the directory and
// the renamed file are synced; the loader entry comes last, written the
// same way under a name not ending in ".conf" (systemd-boot reads only
// *.conf) and renamed to its final name once all of the slot is durable.
// Until that rename a crash leaves files that no entry names (Recover
// removes them); after it the slot is complete. systemd-boot lists an
// entry only when its kernel file exists, but it opens the initrds only
// when it boots the entry, failing the boot, so an entry must never
// appear before its initrd: hence entry last.
//
// The slot's EntryFile must be the entry EntryText makes for seq: title,
// version, linux, initrd and options keys only, kernel and initrds inside
// SlotDir(seq) among the slot's files, and fogkit.slot=<seq> in the
// options. An ESP that already holds an entry for seq is ErrExists; a
// slot directory without an entry (an interrupted install) is replaced.
// On an error Install removes what it wrote.
func Install(ctx context.Context, fsys FS, seq uint64, slot fs.FS, o *InstallOptions) (err error) {
	if o == nil {
		o = &InstallOptions{}
	}
	tries := o.Tries
	if tries == 0 {
		tries = DefaultTries
	}
	if tries < 1 || tries > 9999 {
		return fmt.Errorf("%w: tries %d (want 1..9999)", ErrMalformed, tries)
	}
	if seq == 0 {
		return fmt.Errorf("%w: sequence 0", ErrMalformed)
	}
	files, entry, err := readSlot(slot, seq)
	if err != nil {
		return err
	}
	have, err := Entries(fsys)
	if err != nil {
		return err
	}
	for _, e := range have {
		if e.Seq == seq {
			return fmt.Errorf("%w: %s/%s", ErrExists, EntriesDir, e.File)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, d := range []string{"loader", EntriesDir, SlotsDir} {
		if err := mkdirSynced(fsys, d); err != nil {
			return err
		}
	}
	dir := SlotDir(seq)
	if _, err := fsys.Stat(dir); err == nil {
		if err := removeAll(fsys, dir); err != nil {
			return err
		}
		if err := fsys.Sync(SlotsDir); err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	defer func() {
		if err != nil {
			// Best effort: a crash here is Recover's job at the next boot.
			_ = removeEntries(fsys, seq)
			if _, serr := fsys.Stat(dir); serr == nil {
				_ = removeAll(fsys, dir)
				_ = fsys.Sync(SlotsDir)
			}
		}
	}()
	if err := fsys.Mkdir(dir); err != nil {
		return err
	}
	if err := fsys.Sync(SlotsDir); err != nil {
		return err
	}
	total := len(files) + 1
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := writeAtomic(fsys, dir, f.name, func(w io.Writer) error {
			r, err := slot.Open(f.name)
			if err != nil {
				return err
			}
			defer r.Close()
			n, err := io.Copy(w, &ctxReader{ctx: ctx, r: io.LimitReader(r, f.size+1)})
			if err == nil && n != f.size {
				err = &SlotError{Seq: seq, File: f.name, Reason: fmt.Sprintf("read %d bytes, expected %d (changed while copying)", n, f.size), Err: ErrMalformed}
			}
			return err
		})
		if err != nil {
			return err
		}
		emit(o.Progress, Event{Op: "install", Step: "file", Seq: seq, File: dir + "/" + f.name, Done: i + 1, Total: total})
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	name := BootEntryName(EntryID(seq), tries, 0)
	if err := writeAtomic(fsys, EntriesDir, name, func(w io.Writer) error { _, err := w.Write(entry); return err }); err != nil {
		return err
	}
	emit(o.Progress, Event{Op: "install", Step: "entry", Seq: seq, File: EntriesDir + "/" + name, Done: total, Total: total})
	return nil
}

// readSlot lists and checks a slot's files and returns its entry text.
func readSlot(slot fs.FS, seq uint64) ([]slotFile, []byte, error) {
	ents, err := fs.ReadDir(slot, ".")
	if err != nil {
		return nil, nil, err
	}
	if len(ents) > maxSlotFiles {
		return nil, nil, &SlotError{Seq: seq, Reason: fmt.Sprintf("%d files (at most %d)", len(ents), maxSlotFiles), Err: ErrMalformed}
	}
	var files []slotFile
	sizes := map[string]int64{}
	for _, e := range ents {
		if !safeName(e.Name()) {
			return nil, nil, &SlotError{Seq: seq, File: e.Name(), Reason: "not a plain file name", Err: ErrMalformed}
		}
		info, err := e.Info()
		if err != nil {
			return nil, nil, err
		}
		if !info.Mode().IsRegular() {
			return nil, nil, &SlotError{Seq: seq, File: e.Name(), Reason: "not a regular file", Err: ErrMalformed}
		}
		files = append(files, slotFile{e.Name(), info.Size()})
		sizes[e.Name()] = info.Size()
	}
	if _, ok := sizes[EntryFile]; !ok {
		return nil, nil, &SlotError{Seq: seq, File: EntryFile, Reason: "missing", Err: ErrMalformed}
	}
	entry, err := readCapped(slot.Open, EntryFile)
	if err != nil {
		return nil, nil, err
	}
	if err := checkEntry(seq, entry, sizes); err != nil {
		return nil, nil, err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	return files, entry, nil
}

func safeName(n string) bool {
	return n != "" && len(n) <= 64 && n[0] != '.' && !strings.ContainsAny(n, "/\\\x00") &&
		!strings.HasSuffix(n, tmpSuffix) && utf8.ValidString(n)
}

func readCapped(open func(string) (fs.File, error), name string) ([]byte, error) {
	f, err := open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxEntrySize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxEntrySize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrTooLarge, name, maxEntrySize)
	}
	return b, nil
}

// CheckEntry checks a loader entry text for slot seq whose directory
// holds files (name to size): what Install accepts and Recover keeps.
func CheckEntry(seq uint64, text []byte, files map[string]int64) error {
	return checkEntry(seq, text, files)
}

func checkEntry(seq uint64, text []byte, files map[string]int64) error {
	bad := func(format string, a ...any) error {
		return &SlotError{Seq: seq, File: EntryFile, Reason: fmt.Sprintf(format, a...), Err: ErrMalformed}
	}
	if len(text) > maxEntrySize {
		return &SlotError{Seq: seq, File: EntryFile, Reason: "too large", Err: ErrTooLarge}
	}
	if !utf8.Valid(text) {
		return bad("not UTF-8")
	}
	prefix := "/" + SlotDir(seq) + "/"
	var linux, options int
	for _, line := range strings.Split(string(text), "\n") {
		line = strings.TrimRight(line, "\r")
		for _, c := range line {
			if c < ' ' && c != '\t' {
				return bad("control character in %q", line)
			}
		}
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		key, value, _ := strings.Cut(line, " ")
		if k, v, ok := strings.Cut(line, "\t"); ok && len(k) < len(key) {
			key, value = k, v
		}
		value = strings.TrimSpace(value)
		switch key {
		case "title", "version":
		case "linux", "initrd":
			name, ok := strings.CutPrefix(value, prefix)
			if !ok || !safeName(name) {
				return bad("%s %q is not a file of %s", key, value, prefix)
			}
			if size, ok := files[name]; !ok || size == 0 {
				return bad("%s %q is missing or empty", key, value)
			}
			if key == "linux" {
				linux++
			}
		case "options":
			options++
			if s, ok := SlotOfCmdline(value); !ok || s != seq {
				return bad("options lack %s=%d", SlotParam, seq)
			}
		default:
			// sort-key, efi, devicetree, ... would change what systemd-boot
			// sorts by or boots.
			return bad("key %q is not one this package writes", key)
		}
	}
	if linux != 1 || options != 1 {
		return bad("want one linux and one options line, have %d and %d", linux, options)
	}
	return nil
}

func mkdirSynced(fsys FS, dir string) error {
	if _, err := fsys.Stat(dir); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := fsys.Mkdir(dir); err != nil {
		return err
	}
	return fsys.Sync(parent(dir))
}

func parent(name string) string { return path.Dir(name) }

// writeAtomic writes dir/name through dir/name.tmp: write, fsync, close,
// rename, sync the directory, then sync the renamed file (on FAT that
// writes its cluster and size into the new directory entry). Syncing the
// directory before the file means a cut between the two leaves an empty
// file under the final name (ignored by systemd-boot, removed by Recover)
// rather than two names sharing one cluster chain.
func writeAtomic(fsys FS, dir, name string, write func(io.Writer) error) error {
	tmp := dir + "/" + name + tmpSuffix
	final := dir + "/" + name
	if _, err := fsys.Stat(tmp); err == nil {
		if err := fsys.Remove(tmp); err != nil {
			return err
		}
	}
	f, err := fsys.Create(tmp)
	if err != nil {
		return err
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := fsys.Rename(tmp, final); err != nil {
		return err
	}
	if err := fsys.Sync(dir); err != nil {
		return err
	}
	return fsys.Sync(final)
}

func removeAll(fsys FS, dir string) error {
	ents, err := fsys.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, e := range ents {
		p := dir + "/" + e.Name()
		if e.IsDir() {
			if err := removeAll(fsys, p); err != nil {
				return err
			}
			continue
		}
		if err := fsys.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := fsys.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

// Entries lists the appliance's loader entries on the ESP, sorted by
// sequence (then file name). Other entries and temporary files are left
// out.
func Entries(fsys FS) ([]Entry, error) {
	ents, err := fsys.ReadDir(EntriesDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, d := range ents {
		if d.IsDir() {
			continue
		}
		if e, ok := ParseEntryName(d.Name()); ok {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Seq != out[j].Seq {
			return out[i].Seq < out[j].Seq
		}
		return out[i].File < out[j].File
	})
	return out, nil
}

// entryFilesOf returns the names in EntriesDir that belong to seq,
// temporary ones included.
func entryFilesOf(fsys FS, seq uint64) ([]string, error) {
	ents, err := fsys.ReadDir(EntriesDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var real, tmp []string
	for _, d := range ents {
		n := d.Name()
		if base, ok := strings.CutSuffix(n, tmpSuffix); ok {
			if e, ok := ParseEntryName(base); ok && e.Seq == seq {
				tmp = append(tmp, n)
			}
			continue
		}
		if e, ok := ParseEntryName(n); ok && e.Seq == seq {
			real = append(real, n)
		}
	}
	return append(real, tmp...), nil
}

func removeEntries(fsys FS, seq uint64) error {
	names, err := entryFilesOf(fsys, seq)
	if err != nil || len(names) == 0 {
		return err
	}
	for _, n := range names {
		if err := fsys.Remove(EntriesDir + "/" + n); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return fsys.Sync(EntriesDir)
}

// Remove takes a slot off the ESP: its loader entries first (synced),
// so that no entry ever names a half-removed slot, then its files.
// Removing the slot that is running is the caller's mistake to avoid.
func Remove(fsys FS, seq uint64) error {
	names, err := entryFilesOf(fsys, seq)
	if err != nil {
		return err
	}
	dir := SlotDir(seq)
	_, serr := fsys.Stat(dir)
	if len(names) == 0 && errors.Is(serr, fs.ErrNotExist) {
		return fmt.Errorf("%w: %d", ErrNotFound, seq)
	}
	if err := removeEntries(fsys, seq); err != nil {
		return err
	}
	if serr == nil {
		if err := removeAll(fsys, dir); err != nil {
			return err
		}
		if err := fsys.Sync(SlotsDir); err != nil {
			return err
		}
	}
	return nil
}

// Bless marks slot seq good: its entry loses its boot counter
// ("fogkit-3+1-2.conf" becomes "fogkit-3.conf"), what systemd-bless-boot
// does on a systemd host. The counted entry is not renamed in place: a
// blessed copy is written first (temporary name, fsync, rename, syncs) and
// the counted one removed after it, so a power cut at any point leaves at
// least one complete entry for the slot (two entries for one slot boot the
// same files; Recover drops the counted one).
func Bless(fsys FS, seq uint64) error {
	names, err := entryFilesOf(fsys, seq)
	if err != nil {
		return err
	}
	var counted []string
	blessed := false
	for _, n := range names {
		e, ok := ParseEntryName(n)
		if !ok {
			continue // a temporary file
		}
		if e.Counted {
			counted = append(counted, n)
		} else {
			blessed = true
		}
	}
	if !blessed {
		if len(counted) == 0 {
			return fmt.Errorf("%w: %d", ErrNotFound, seq)
		}
		text, err := readCapped(fsys.Open, EntriesDir+"/"+counted[0])
		if err != nil {
			return err
		}
		if err := writeAtomic(fsys, EntriesDir, BootEntryName(EntryID(seq), -1, 0), func(w io.Writer) error {
			_, err := w.Write(text)
			return err
		}); err != nil {
			return err
		}
	}
	for _, n := range names {
		if e, ok := ParseEntryName(n); ok && !e.Counted {
			continue
		}
		if err := fsys.Remove(EntriesDir + "/" + n); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if len(names) > 0 {
		return fsys.Sync(EntriesDir)
	}
	return nil
}

// RecoverReport says what Recover removed.
type RecoverReport struct {
	Removed []string `json:"removed,omitempty"` // paths on the ESP
}

// Recover cleans the ESP after a crash: temporary files, loader entries
// that are not complete and valid (empty, unparsable, naming a file the
// slot lacks, or differing from the slot's EntryFile), the counted twin
// of a blessed entry, and every slot directory no entry names (an
// interrupted install or removal). Entries and files that are not the
// appliance's are left alone.
func Recover(fsys FS) (*RecoverReport, error) {
	rep := &RecoverReport{}
	rm := func(p string) error {
		if err := fsys.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		rep.Removed = append(rep.Removed, p)
		return nil
	}
	ents, err := fsys.ReadDir(EntriesDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	keep := map[uint64][]Entry{}
	changed := false
	for _, d := range ents {
		n := d.Name()
		p := EntriesDir + "/" + n
		if base, ok := strings.CutSuffix(n, tmpSuffix); ok {
			if _, ours := ParseEntryName(base); ours {
				if err := rm(p); err != nil {
					return nil, err
				}
				changed = true
			}
			continue
		}
		e, ok := ParseEntryName(n)
		if !ok || d.IsDir() {
			continue
		}
		if !validEntry(fsys, e) {
			if err := rm(p); err != nil {
				return nil, err
			}
			changed = true
			continue
		}
		keep[e.Seq] = append(keep[e.Seq], e)
	}
	for seq, es := range keep {
		if len(es) < 2 {
			continue
		}
		// Keep the blessed entry if there is one, else the one with the
		// most tries left (the one systemd-boot would sort first).
		sort.SliceStable(es, func(i, j int) bool {
			if es[i].Counted != es[j].Counted {
				return !es[i].Counted
			}
			return es[i].TriesLeft > es[j].TriesLeft
		})
		for _, e := range es[1:] {
			if err := rm(EntriesDir + "/" + e.File); err != nil {
				return nil, err
			}
		}
		keep[seq] = es[:1]
		changed = true
	}
	if changed {
		if err := fsys.Sync(EntriesDir); err != nil {
			return nil, err
		}
	}
	slots, err := fsys.ReadDir(SlotsDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	changed = false
	for _, d := range slots {
		p := SlotsDir + "/" + d.Name()
		seq, ok := parseSeq(d.Name())
		if ok && d.IsDir() && len(keep[seq]) > 0 {
			files, err := fsys.ReadDir(p)
			if err != nil {
				return nil, err
			}
			dirty := false
			for _, f := range files {
				if strings.HasSuffix(f.Name(), tmpSuffix) && !f.IsDir() {
					if err := rm(p + "/" + f.Name()); err != nil {
						return nil, err
					}
					dirty = true
				}
			}
			if dirty {
				if err := fsys.Sync(p); err != nil {
					return nil, err
				}
			}
			continue
		}
		if d.IsDir() {
			if err := removeAll(fsys, p); err != nil {
				return nil, err
			}
			rep.Removed = append(rep.Removed, p)
		} else if err := rm(p); err != nil {
			return nil, err
		}
		changed = true
	}
	if changed {
		if err := fsys.Sync(SlotsDir); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// validEntry reports whether an entry file is complete: it passes
// CheckEntry against its slot directory and equals the slot's EntryFile.
func validEntry(fsys FS, e Entry) bool {
	text, err := readCapped(fsys.Open, EntriesDir+"/"+e.File)
	if err != nil || len(text) == 0 {
		return false
	}
	dir := SlotDir(e.Seq)
	files, err := fsys.ReadDir(dir)
	if err != nil {
		return false
	}
	sizes := map[string]int64{}
	for _, f := range files {
		if info, err := f.Info(); err == nil && info.Mode().IsRegular() {
			sizes[f.Name()] = info.Size()
		}
	}
	if checkEntry(e.Seq, text, sizes) != nil {
		return false
	}
	own, err := readCapped(fsys.Open, dir+"/"+EntryFile)
	return err == nil && bytes.Equal(own, text)
}
