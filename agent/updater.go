package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fogkit/fogkit/esp"
	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/update"
)

// Errors of the ESP updater.
var (
	// ErrBusy: an update (Install or Boot) is already running; it also
	// matches update.ErrBusy when another process holds the target.
	ErrBusy = errors.New("agent: an update is already in progress")
	// ErrNoSlot: the kernel command line names no fogkit.slot, so the
	// running version is unknown (not booted from an ESP slot).
	ErrNoSlot = errors.New("agent: the running slot is unknown")
	// ErrUnhealthy: the new version's health check failed at boot; its
	// entry stays unblessed and systemd-boot keeps counting its tries.
	ErrUnhealthy = errors.New("agent: health check failed")
	// ErrSlotMismatch: the running slot is not the one the update state
	// expects (someone chose another boot entry by hand).
	ErrSlotMismatch = errors.New("agent: running slot does not match the update state")
	// ErrUpdaterOptions: a required ESPUpdaterOptions field is missing.
	ErrUpdaterOptions = errors.New("agent: invalid updater options")
)

// Where the ESP updater keeps its state, under ESPUpdaterOptions.StateDir.
const (
	// UpdateTargetDir is the update.Apply target: every installed
	// version's boot tree, as slots, and the state naming them.
	UpdateTargetDir = "target"
	// UpdateStatusFile records the last update and its result.
	UpdateStatusFile = "status.json"
	// UpdateSpoolDir holds a large package's payload while it is checked.
	UpdateSpoolDir = "spool"
	// DefaultReleaseFile is where the build puts the appliance's identity
	// (appliance.ReleaseFile).
	DefaultReleaseFile = "/etc/fogkit/release"
)

// ESPUpdaterOptions configure NewESPUpdater.
type ESPUpdaterOptions struct {
	// ESPDir is where the ESP is mounted (read-write). Required.
	ESPDir string `json:"espDir"`
	// StateDir is a directory on the data disk for the update target and
	// status. Required.
	StateDir string `json:"stateDir"`
	// UpdateKey is the vendor's update public key (the bytes of
	// /etc/fogkit/update.pub). Required.
	UpdateKey []byte `json:"-"`
	// Vendor, Product and Version of the running build, and the update
	// Channel (default "stable"). Empty ones are read from ReleaseFile.
	Vendor  string `json:"vendor,omitempty"`
	Product string `json:"product,omitempty"`
	Channel string `json:"channel,omitempty"`
	Version string `json:"version,omitempty"`
	// ReleaseFile is read for the fields above; default
	// DefaultReleaseFile.
	ReleaseFile string `json:"releaseFile,omitempty"`
	// Cmdline is the kernel command line naming the running slot; empty
	// means the content of /proc/cmdline.
	Cmdline string `json:"cmdline,omitempty"`
	// Tries is a new version's boot counter; default esp.DefaultTries.
	Tries int `json:"tries,omitempty"`
	// Now stamps results; default time.Now.
	Now func() time.Time `json:"-"`
	// ESPWritable, when set, is called with true before the updater writes
	// the ESP and with false once it is done, so the ESP can stay mounted
	// read-only otherwise (see ESPMount.SetWritable). Linux marks a FAT
	// volume dirty for as long as it is mounted read-write, and a power cut
	// in that time leaves a volume fsck.fat reports; keeping the writable
	// windows to the ESP writes themselves keeps the cut that lands outside
	// them harmless.
	ESPWritable func(writable bool) error `json:"-"`
	// Progress, when set, is called synchronously with every step; ESP
	// steps are reported once durable (see esp.InstallOptions.Progress).
	Progress func(UpdateEvent) `json:"-"`
}

// UpdateEvent reports a step of Install or Boot.
type UpdateEvent struct {
	// Step: "adopt", "apply" (Stage says which part: verify, stage, ...),
	// "esp" (ESP says which), "installed", "boot", "blessed", "failed".
	Step     string     `json:"step"`
	Stage    string     `json:"stage,omitempty"`
	File     string     `json:"file,omitempty"`
	Done     int64      `json:"done,omitempty"`
	Total    int64      `json:"total,omitempty"`
	Version  string     `json:"version,omitempty"`
	Sequence uint64     `json:"sequence,omitempty"`
	ESP      *esp.Event `json:"esp,omitempty"`
	Message  string     `json:"message,omitempty"`
}

// String is the event as one console line.
func (e UpdateEvent) String() string {
	switch {
	case e.ESP != nil:
		return "update: " + e.ESP.String()
	case e.Step == "apply":
		return fmt.Sprintf("update: apply %s %d/%d %s", e.Stage, e.Done, e.Total, e.File)
	default:
		s := "update: " + e.Step
		if e.Version != "" {
			s += fmt.Sprintf(" version %s (sequence %d)", e.Version, e.Sequence)
		}
		if e.Message != "" {
			s += ": " + e.Message
		}
		return s
	}
}

// ESPUpdater is fogkit's Updater: it verifies a package and applies it to
// a target on the data disk (update.Apply), then installs the new boot
// tree on the ESP as a boot-counted systemd-boot entry (esp.Install). At
// each boot, Boot blesses the new version once it is healthy, or, when
// systemd-boot has fallen back to the previous version, rolls the target
// back and records the failure.
type ESPUpdater struct {
	o      ESPUpdaterOptions
	ring   *sign.Keyring
	esp    *esp.OSFS
	target *update.OSFS
	mu     sync.Mutex // one Install or Boot at a time
	smu    sync.Mutex // guards last and history
	last   *UpdateResult
	hist   []UpdateResult
}

var _ Updater = (*ESPUpdater)(nil)

// NewESPUpdater opens the ESP and the state directory (creating it).
// Nothing is changed until Install or Boot.
func NewESPUpdater(o *ESPUpdaterOptions) (*ESPUpdater, error) {
	if o == nil {
		return nil, fmt.Errorf("%w: nil options", ErrUpdaterOptions)
	}
	u := &ESPUpdater{o: *o}
	if err := u.defaults(); err != nil {
		return nil, err
	}
	pk, err := sign.LoadPublicKey(u.o.UpdateKey, sign.PurposeUpdate)
	if err != nil {
		return nil, fmt.Errorf("agent: update key: %w", err)
	}
	if u.ring, err = sign.NewKeyring(pk); err != nil {
		return nil, err
	}
	if u.esp, err = esp.DirFS(u.o.ESPDir); err != nil {
		return nil, fmt.Errorf("agent: ESP: %w", err)
	}
	for _, d := range []string{u.o.StateDir, filepath.Join(u.o.StateDir, UpdateTargetDir), filepath.Join(u.o.StateDir, UpdateSpoolDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			u.esp.Close()
			return nil, err
		}
	}
	if u.target, err = update.NewOSFS(filepath.Join(u.o.StateDir, UpdateTargetDir)); err != nil {
		u.esp.Close()
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(u.o.StateDir, UpdateStatusFile)); err == nil {
		var s updateStatusFile
		if json.Unmarshal(b, &s) == nil {
			u.last, u.hist = s.Last, s.History
			if len(u.hist) > MaxUpdateHistory {
				u.hist = u.hist[len(u.hist)-MaxUpdateHistory:]
			}
		}
	}
	return u, nil
}

func (u *ESPUpdater) defaults() error {
	o := &u.o
	if o.ESPDir == "" || o.StateDir == "" || len(o.UpdateKey) == 0 {
		return fmt.Errorf("%w: ESPDir, StateDir and UpdateKey are required", ErrUpdaterOptions)
	}
	if o.Vendor == "" || o.Product == "" || o.Version == "" {
		if o.ReleaseFile == "" {
			o.ReleaseFile = DefaultReleaseFile
		}
		rel, err := readRelease(o.ReleaseFile)
		if err != nil {
			return fmt.Errorf("%w: vendor, product or version not given and %s unreadable: %v", ErrUpdaterOptions, o.ReleaseFile, err)
		}
		for _, f := range []struct {
			p *string
			k string
		}{{&o.Vendor, "VENDOR"}, {&o.Product, "PRODUCT"}, {&o.Version, "VERSION"}} {
			if *f.p == "" {
				*f.p = rel[f.k]
			}
		}
	}
	if o.Vendor == "" || o.Product == "" || o.Version == "" {
		return fmt.Errorf("%w: vendor, product and version are required", ErrUpdaterOptions)
	}
	if o.Channel == "" {
		o.Channel = "stable"
	}
	if o.Cmdline == "" {
		b, err := os.ReadFile("/proc/cmdline")
		if err != nil {
			return fmt.Errorf("%w: no Cmdline and /proc/cmdline unreadable: %v", ErrUpdaterOptions, err)
		}
		o.Cmdline = string(b)
	}
	if o.Tries == 0 {
		o.Tries = esp.DefaultTries
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// readRelease parses KEY="value" lines (os-release style).
func readRelease(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || k == "" || strings.HasPrefix(k, "#") {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		}
		out[k] = v
	}
	return out, nil
}

// Close releases the ESP and state directory handles.
func (u *ESPUpdater) Close() error {
	err := u.esp.Close()
	if terr := u.target.Close(); err == nil {
		err = terr
	}
	return err
}

func (u *ESPUpdater) emit(e UpdateEvent) {
	if u.o.Progress != nil {
		u.o.Progress(e)
	}
}

func (u *ESPUpdater) running() (uint64, error) {
	seq, ok := esp.SlotOfCmdline(u.o.Cmdline)
	if !ok {
		return 0, fmt.Errorf("%w: no %s= on the kernel command line", ErrNoSlot, esp.SlotParam)
	}
	return seq, nil
}

func (u *ESPUpdater) lock() error {
	if !u.mu.TryLock() {
		return ErrBusy
	}
	return nil
}

// writeESP runs f inside a writable window of the ESP.
func (u *ESPUpdater) writeESP(f func() error) error {
	if u.o.ESPWritable == nil {
		return f()
	}
	if err := u.o.ESPWritable(true); err != nil {
		return fmt.Errorf("agent: making the ESP writable: %w", err)
	}
	err := f()
	if rerr := u.o.ESPWritable(false); rerr != nil && err == nil {
		err = fmt.Errorf("agent: making the ESP read-only again: %w", rerr)
	}
	return err
}

func wrapBusy(err error) error {
	if errors.Is(err, update.ErrBusy) && !errors.Is(err, ErrBusy) {
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	return err
}

// adopt makes the running slot the target's installed version on first
// use, so that diff packages from it apply: its ESP directory is copied
// into the target with the boot tree's modes (FAT has none of its own).
func (u *ESPUpdater) adopt(ctx context.Context) (*update.State, error) {
	st, err := update.ReadState(u.target)
	if err == nil || !errors.Is(err, update.ErrNotInstalled) {
		return st, err
	}
	seq, err := u.running()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(u.o.ESPDir, filepath.FromSlash(esp.SlotDir(seq)))
	st, err = update.Adopt(ctx, u.target, os.DirFS(dir), &update.AdoptOptions{
		Vendor: u.o.Vendor, Product: u.o.Product, Channel: u.o.Channel, Version: u.o.Version, Sequence: seq,
		FileMode: esp.FileMode, DirMode: esp.DirMode, MaxSize: 2 << 30, MaxFiles: 64,
	})
	if err != nil {
		return nil, wrapBusy(fmt.Errorf("agent: adopting the running slot %s: %w", esp.SlotDir(seq), err))
	}
	u.emit(UpdateEvent{Step: "adopt", Version: st.Current.Version, Sequence: st.Current.Sequence})
	return st, nil
}

// Install verifies the package and applies it to the target on the data
// disk, then installs the new boot tree on the ESP as a boot-counted
// entry: the next boot tries it. One at a time (ErrBusy). A refused
// package (bad signature, another product, a replay: update.ErrDowngrade,
// also for the installed version itself) changes nothing; an update that
// waits for its reboot refuses another (update.ErrPending). A failure on
// the ESP rolls the target back, leaving the appliance as it was.
func (u *ESPUpdater) Install(ctx context.Context, pkg io.ReaderAt, size int64) (*Installed, error) {
	if err := u.lock(); err != nil {
		return nil, err
	}
	defer u.mu.Unlock()
	if _, err := u.adopt(ctx); err != nil {
		return nil, err
	}
	rep, err := update.Apply(ctx, u.target, pkg, size, &update.ApplyOptions{
		VerifyOptions: update.VerifyOptions{Keyring: u.ring, Vendor: u.o.Vendor, Product: u.o.Product, Channel: u.o.Channel,
			SpoolDir: filepath.Join(u.o.StateDir, UpdateSpoolDir),
			Progress: func(e update.Event) {
				u.emit(UpdateEvent{Step: "apply", Stage: e.Stage, File: e.File, Done: e.Done, Total: e.Total})
			}},
		MaxBootAttempts: u.o.Tries,
	})
	if err != nil {
		return nil, wrapBusy(err)
	}
	m := rep.Manifest
	if rep.AlreadyInstalled {
		return nil, fmt.Errorf("%w: version %s (sequence %d) is the installed one", update.ErrDowngrade, m.Version, m.Sequence)
	}
	slotDir := filepath.Join(u.o.StateDir, UpdateTargetDir, filepath.FromSlash(rep.To.Dir()))
	err = u.writeESP(func() error {
		return esp.Install(ctx, u.esp, rep.To.Sequence, os.DirFS(slotDir), &esp.InstallOptions{Tries: u.o.Tries,
			Progress: func(e esp.Event) { u.emit(UpdateEvent{Step: "esp", ESP: &e, Version: m.Version, Sequence: m.Sequence}) }})
	})
	if err != nil {
		// The ESP holds nothing of it (esp.Install cleans up, Recover
		// does after a crash): take the target back too.
		if _, rerr := update.Rollback(context.WithoutCancel(ctx), u.target); rerr != nil {
			return nil, fmt.Errorf("%w (and rolling the target back failed: %v)", err, rerr)
		}
		return nil, err
	}
	res := UpdateResult{Version: m.Version, Sequence: m.Sequence, Result: ResultInstalled, Time: u.o.Now().UTC()}
	if err := u.record(&res); err != nil {
		return nil, err
	}
	u.emit(UpdateEvent{Step: "installed", Version: m.Version, Sequence: m.Sequence, Message: "reboot to run it"})
	return &Installed{Version: m.Version, Sequence: m.Sequence, Slot: esp.EntryID(m.Sequence)}, nil
}

// Boot settles the last update; the appliance's /init calls it once per
// boot, before it accepts updates and after its app is up (health checks
// it). It cleans the ESP after a power cut (esp.Recover), adopts the
// running slot on first use, then:
//
//   - the running slot is the pending new version: health runs; on
//     success the entry is blessed, the target confirmed, slots other than
//     this one and the previous one removed from the ESP, and the result
//     is ResultBlessed. On failure nothing is blessed and the error
//     matches ErrUnhealthy: the /init should reboot, so that systemd-boot
//     spends another try and, after the last, falls back by itself.
//   - a new version is pending but another slot runs: systemd-boot fell
//     back (every try failed), or the install was cut before its entry
//     was written. The target rolls back, the new slot leaves the ESP and
//     the result is ResultFailed, with the reason in Error.
//   - nothing pending: Boot returns a nil result.
func (u *ESPUpdater) Boot(ctx context.Context, health func(context.Context) error) (*UpdateResult, error) {
	if err := u.lock(); err != nil {
		return nil, err
	}
	defer u.mu.Unlock()
	if err := u.writeESP(func() error { _, err := esp.Recover(u.esp); return err }); err != nil {
		return nil, err
	}
	running, err := u.running()
	if err != nil {
		return nil, err
	}
	if _, err := update.Recover(ctx, u.target); err != nil {
		return nil, wrapBusy(err)
	}
	st, err := u.adopt(ctx)
	if err != nil {
		return nil, err
	}
	cur := st.Current
	if st.Pending && running == cur.Sequence {
		u.emit(UpdateEvent{Step: "boot", Version: cur.Version, Sequence: cur.Sequence, Message: "checking health"})
		if health != nil {
			if herr := health(ctx); herr != nil {
				res := UpdateResult{Version: cur.Version, Sequence: cur.Sequence, Result: ResultInstalled,
					Error: "health check failed: " + herr.Error(), Time: u.o.Now().UTC()}
				if err := u.record(&res); err != nil {
					return nil, err
				}
				return &res, fmt.Errorf("%w: %w", ErrUnhealthy, herr)
			}
		}
		// The ESP first, then the result, then the target: a cut before
		// Confirm leaves the target pending and the next boot does all of
		// it again (Bless is idempotent), so the result is never lost.
		if err := u.writeESP(func() error { return esp.Bless(u.esp, cur.Sequence) }); err != nil {
			return nil, err
		}
		res := UpdateResult{Version: cur.Version, Sequence: cur.Sequence, Result: ResultBlessed, Time: u.o.Now().UTC()}
		if err := u.record(&res); err != nil {
			return nil, err
		}
		if _, err := update.Confirm(ctx, u.target); err != nil {
			return nil, wrapBusy(err)
		}
		if err := u.writeESP(func() error { return u.prune(running, st.Previous) }); err != nil {
			return nil, err
		}
		u.emit(UpdateEvent{Step: "blessed", Version: cur.Version, Sequence: cur.Sequence})
		return &res, nil
	}
	if st.Pending {
		if st.Previous == nil || st.Previous.Sequence != running {
			return nil, fmt.Errorf("%w: running slot %d, pending %d", ErrSlotMismatch, running, cur.Sequence)
		}
		// The result first: a cut before the rollback makes the next boot
		// find and record the same failure again.
		reason := u.whyNotBooted(cur.Sequence, running)
		res := UpdateResult{Version: cur.Version, Sequence: cur.Sequence, Result: ResultFailed, Error: reason, Time: u.o.Now().UTC()}
		if err := u.record(&res); err != nil {
			return nil, err
		}
		if _, err := update.Rollback(ctx, u.target); err != nil {
			return nil, wrapBusy(err)
		}
		if err := u.writeESP(func() error {
			if err := esp.Remove(u.esp, cur.Sequence); err != nil && !errors.Is(err, esp.ErrNotFound) {
				return err
			}
			return nil
		}); err != nil {
			return nil, err
		}
		u.emit(UpdateEvent{Step: "failed", Version: cur.Version, Sequence: cur.Sequence, Message: reason})
		return &res, nil
	}
	if running != cur.Sequence {
		return nil, fmt.Errorf("%w: running slot %d, installed %d", ErrSlotMismatch, running, cur.Sequence)
	}
	// Steady state. A running entry that still counts (its blessing was
	// lost) is blessed: it booted, and the target says it is good.
	ents, err := esp.Entries(u.esp)
	if err != nil {
		return nil, err
	}
	// Counted entries of other slots are leftovers of a failed update
	// whose Boot was cut short: they go. Blessed ones stay until the next
	// bless prunes to the running and previous versions.
	var stale []esp.Entry
	for _, e := range ents {
		if e.Counted {
			stale = append(stale, e)
		}
	}
	if len(stale) == 0 {
		return nil, nil
	}
	return nil, u.writeESP(func() error {
		for _, e := range stale {
			if e.Seq == running {
				if err := esp.Bless(u.esp, running); err != nil {
					return err
				}
			} else if err := esp.Remove(u.esp, e.Seq); err != nil && !errors.Is(err, esp.ErrNotFound) {
				return err
			}
		}
		return nil
	})
}

// whyNotBooted says why the pending slot is not the one running.
func (u *ESPUpdater) whyNotBooted(seq, running uint64) string {
	ents, _ := esp.Entries(u.esp)
	for _, e := range ents {
		if e.Seq != seq {
			continue
		}
		if e.Counted && e.TriesLeft == 0 {
			return fmt.Sprintf("never blessed: %d boot attempts failed, the boot loader fell back to slot %d", e.TriesDone, running)
		}
		return fmt.Sprintf("not booted: the boot loader chose slot %d", running)
	}
	return "the install was interrupted before its boot entry was written"
}

// prune removes every slot but the running one and prev from the ESP.
func (u *ESPUpdater) prune(running uint64, prev *update.Slot) error {
	ents, err := esp.Entries(u.esp)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.Seq == running || (prev != nil && e.Seq == prev.Sequence) {
			continue
		}
		if err := esp.Remove(u.esp, e.Seq); err != nil && !errors.Is(err, esp.ErrNotFound) {
			return err
		}
	}
	return nil
}

// MaxUpdateHistory is how many updates UpdateStatus.History keeps.
const MaxUpdateHistory = 50

// updateStatusFile is the status file's content.
type updateStatusFile struct {
	Last    *UpdateResult  `json:"lastUpdate"`
	History []UpdateResult `json:"history,omitempty"`
}

// record stores the last result atomically in the status file. The
// history keeps one entry per update: a result for the same sequence as
// the newest entry (installed, then blessed or failed) replaces it.
func (u *ESPUpdater) record(res *UpdateResult) error {
	u.smu.Lock()
	hist := append([]UpdateResult(nil), u.hist...)
	u.smu.Unlock()
	if n := len(hist); n > 0 && hist[n-1].Sequence == res.Sequence && hist[n-1].Version == res.Version {
		hist[n-1] = *res
	} else {
		hist = append(hist, *res)
	}
	if len(hist) > MaxUpdateHistory {
		hist = hist[len(hist)-MaxUpdateHistory:]
	}
	b, err := json.MarshalIndent(updateStatusFile{Last: res, History: hist}, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(u.o.StateDir, UpdateStatusFile)
	if err := writeFileSync(p, append(b, '\n')); err != nil {
		return err
	}
	u.smu.Lock()
	r := *res
	u.last, u.hist = &r, hist
	u.smu.Unlock()
	return nil
}

func writeFileSync(p string, b []byte) error {
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(filepath.Dir(p))
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return err
	}
	return nil
}

// Status reports the running and pending slots and the last update.
func (u *ESPUpdater) Status() UpdateStatus {
	var s UpdateStatus
	running, rerr := u.running()
	if rerr == nil {
		s.RunningSlot = esp.EntryID(running)
	}
	if st, err := update.ReadState(u.target); err == nil {
		for _, sl := range []*update.Slot{&st.Current, st.Previous} {
			if sl != nil && rerr == nil && sl.Sequence == running {
				s.RunningVersion = sl.Version
			}
		}
		if st.Pending {
			s.PendingSlot = esp.EntryID(st.Current.Sequence)
		}
	}
	if s.RunningVersion == "" {
		s.RunningVersion = u.o.Version
	}
	u.smu.Lock()
	if u.last != nil {
		r := *u.last
		s.Last = &r
	}
	s.History = append([]UpdateResult(nil), u.hist...)
	u.smu.Unlock()
	return s
}
