package agent_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/agent"
	"github.com/fogkit/fogkit/esp"
	"github.com/fogkit/fogkit/esp/esptest"
	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/update"
)

type seeded struct{ r *rand.ChaCha8 }

func (s seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

func signer(t *testing.T, seed byte) (*sign.Ed25519Signer, []byte) {
	t.Helper()
	var s [32]byte
	s[0] = seed
	k, err := sign.GenerateEd25519(seeded{rand.NewChaCha8(s)}, sign.PurposeUpdate)
	require.NoError(t, err)
	pub, err := sign.EncodePublicKey(k.Public())
	require.NoError(t, err)
	return k, pub
}

func version(seq uint64) string { return fmt.Sprintf("%d.0", seq) }

// bootTree is version seq's boot tree, as appliance.Build exports it.
func bootTree(seq uint64) fstest.MapFS {
	return fstest.MapFS{
		esp.KernelFile: {Data: bytes.Repeat([]byte("kernel;"), 3000), Mode: esp.FileMode},
		esp.InitrdFile: {Data: bytes.Repeat([]byte(fmt.Sprintf("initrd %d;", seq)), 4000), Mode: esp.FileMode},
		esp.EntryFile:  {Data: []byte(esp.EntryText("acme "+version(seq), seq, "console=ttyS0")), Mode: esp.FileMode},
	}
}

func pkg(t *testing.T, s sign.Signer, seq, from uint64) []byte {
	t.Helper()
	o := &update.BuildOptions{Vendor: "acme", Product: "demo", Version: version(seq), Sequence: seq, Kind: update.KindFull}
	var froms []update.Tree
	if from != 0 {
		o.Kind = update.KindDiff
		froms = []update.Tree{{Version: version(from), Sequence: from, FS: bootTree(from)}}
	}
	var buf bytes.Buffer
	_, err := update.Build(context.Background(), &buf, []sign.Signer{s}, update.Tree{Version: version(seq), Sequence: seq, FS: bootTree(seq)}, froms, o)
	require.NoError(t, err)
	return buf.Bytes()
}

// appliance is a shipped appliance: an ESP with slot 1 and a data disk.
type appliance struct {
	t       *testing.T
	espDir  string
	state   string
	key     []byte
	running uint64
	events  []string
	// writable, when set, is the updater's ESPWritable.
	writable func(bool) error
}

func newAppliance(t *testing.T, key []byte) *appliance {
	a := &appliance{t: t, espDir: t.TempDir(), state: filepath.Join(t.TempDir(), "update"), key: key, running: 1}
	a.write(esp.LoaderConfFile, []byte(esp.LoaderConf))
	for n, f := range bootTree(1) {
		a.write(esp.SlotDir(1)+"/"+n, f.Data)
	}
	a.write(esp.EntriesDir+"/fogkit-1.conf", bootTree(1)[esp.EntryFile].Data)
	return a
}

func (a *appliance) write(name string, data []byte) {
	p := filepath.Join(a.espDir, filepath.FromSlash(name))
	require.NoError(a.t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(a.t, os.WriteFile(p, data, 0o644))
}

// updater is the agent of the running slot.
func (a *appliance) updater() *agent.ESPUpdater {
	u, err := agent.NewESPUpdater(&agent.ESPUpdaterOptions{ESPDir: a.espDir, StateDir: a.state, UpdateKey: a.key,
		Vendor: "acme", Product: "demo", Version: version(a.running),
		Cmdline:     "console=ttyS0 " + esp.SlotParam + "=" + fmt.Sprint(a.running),
		Now:         func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) },
		Progress:    func(e agent.UpdateEvent) { a.events = append(a.events, e.String()) },
		ESPWritable: a.writable})
	require.NoError(a.t, err)
	a.t.Cleanup(func() { u.Close() })
	return u
}

// reboot lets the model of systemd-boot choose and count, like the
// firmware would.
func (a *appliance) reboot() uint64 {
	fsys, err := esp.DirFS(a.espDir)
	require.NoError(a.t, err)
	defer fsys.Close()
	b, err := esptest.Boot(fsys)
	require.NoError(a.t, err)
	a.running = b.Seq
	return b.Seq
}

func (a *appliance) entries() []string {
	ents, err := os.ReadDir(filepath.Join(a.espDir, filepath.FromSlash(esp.EntriesDir)))
	require.NoError(a.t, err)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func (a *appliance) espFiles() []string {
	var out []string
	require.NoError(a.t, filepath.WalkDir(a.espDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			out = append(out, fmt.Sprintf("%s %d", strings.TrimPrefix(p, a.espDir), len(b)))
		}
		return err
	}))
	sort.Strings(out)
	return out
}

func install(t *testing.T, u *agent.ESPUpdater, p []byte) (*agent.Installed, error) {
	t.Helper()
	return u.Install(context.Background(), bytes.NewReader(p), int64(len(p)))
}

func healthy(context.Context) error { return nil }

// TestUpdaterInstallBootBless: v2 (a diff from the shipped v1) installs,
// boots, is blessed; v3 likewise, and v1 leaves the ESP.
func TestUpdaterInstallBootBless(t *testing.T) {
	s, pub := signer(t, 1)
	a := newAppliance(t, pub)
	u := a.updater()
	res, err := u.Boot(context.Background(), healthy)
	require.NoError(t, err)
	require.Nil(t, res, "first boot: nothing pending")
	inst, err := install(t, u, pkg(t, s, 2, 1))
	require.NoError(t, err)
	require.Equal(t, &agent.Installed{Version: "2.0", Sequence: 2, Slot: "fogkit-2"}, inst)
	st := u.Status()
	require.Equal(t, "fogkit-1", st.RunningSlot)
	require.Equal(t, "1.0", st.RunningVersion)
	require.Equal(t, "fogkit-2", st.PendingSlot)
	require.Equal(t, agent.ResultInstalled, st.Last.Result)
	require.Equal(t, []string{"fogkit-1.conf", "fogkit-2+3.conf"}, a.entries())
	require.Contains(t, a.events, "update: esp: install slot 2: 4/4 loader/entries/fogkit-2+3.conf")

	require.EqualValues(t, 2, a.reboot())
	u = a.updater()
	res, err = u.Boot(context.Background(), healthy)
	require.NoError(t, err)
	require.Equal(t, agent.ResultBlessed, res.Result)
	require.Equal(t, "2.0", res.Version)
	st = u.Status()
	require.Equal(t, agent.UpdateStatus{RunningSlot: "fogkit-2", RunningVersion: "2.0", Last: res, History: []agent.UpdateResult{*res}}, st,
		"the history holds one entry per update, with its final result")
	require.Equal(t, []string{"fogkit-1.conf", "fogkit-2.conf"}, a.entries())

	_, err = install(t, u, pkg(t, s, 3, 2))
	require.NoError(t, err)
	require.EqualValues(t, 3, a.reboot())
	u = a.updater()
	res, err = u.Boot(context.Background(), healthy)
	require.NoError(t, err)
	require.Equal(t, agent.ResultBlessed, res.Result)
	require.Equal(t, []string{"fogkit-2.conf", "fogkit-3.conf"}, a.entries(), "running and previous only")
	hist := u.Status().History
	require.Len(t, hist, 2)
	require.Equal(t, "2.0", hist[0].Version)
	require.Equal(t, "3.0", hist[1].Version)
	require.Equal(t, agent.ResultBlessed, hist[1].Result)
	_, err = os.Stat(filepath.Join(a.espDir, "fogkit", "1"))
	require.ErrorIs(t, err, os.ErrNotExist)
	// Later boots change nothing.
	require.EqualValues(t, 3, a.reboot())
	res, err = a.updater().Boot(context.Background(), healthy)
	require.NoError(t, err)
	require.Nil(t, res)
}

// TestUpdaterFallback: a version whose /init never reaches Boot gets its
// tries, systemd-boot falls back by itself, and Boot on the old version
// records the failure and rolls back.
func TestUpdaterFallback(t *testing.T) {
	s, pub := signer(t, 1)
	a := newAppliance(t, pub)
	_, err := install(t, a.updater(), pkg(t, s, 2, 1))
	require.NoError(t, err)
	for range 3 {
		require.EqualValues(t, 2, a.reboot()) // and its /init exits: panic, reboot
	}
	require.EqualValues(t, 1, a.reboot())
	u := a.updater()
	res, err := u.Boot(context.Background(), healthy)
	require.NoError(t, err)
	require.Equal(t, agent.ResultFailed, res.Result)
	require.Equal(t, "2.0", res.Version)
	require.Contains(t, res.Error, "3 boot attempts failed")
	require.Equal(t, agent.UpdateStatus{RunningSlot: "fogkit-1", RunningVersion: "1.0", Last: res, History: []agent.UpdateResult{*res}}, u.Status())
	require.Equal(t, []string{"fogkit-1.conf"}, a.entries())
	_, err = os.Stat(filepath.Join(a.espDir, "fogkit", "2"))
	require.ErrorIs(t, err, os.ErrNotExist)
	// The same version may be tried again (it is the newest ever seen).
	_, err = install(t, u, pkg(t, s, 2, 1))
	require.NoError(t, err)
}

// TestUpdaterUnhealthy: a failed health check blesses nothing; a later
// healthy boot of the same version does.
func TestUpdaterUnhealthy(t *testing.T) {
	s, pub := signer(t, 1)
	a := newAppliance(t, pub)
	_, err := install(t, a.updater(), pkg(t, s, 2, 1))
	require.NoError(t, err)
	require.EqualValues(t, 2, a.reboot())
	res, err := a.updater().Boot(context.Background(), func(context.Context) error { return errors.New("app does not answer") })
	require.ErrorIs(t, err, agent.ErrUnhealthy)
	require.Contains(t, res.Error, "app does not answer")
	require.Equal(t, []string{"fogkit-1.conf", "fogkit-2+2-1.conf"}, a.entries())
	require.EqualValues(t, 2, a.reboot())
	res, err = a.updater().Boot(context.Background(), healthy)
	require.NoError(t, err)
	require.Equal(t, agent.ResultBlessed, res.Result)
}

// TestUpdaterRefusals: a replayed or foreign package changes nothing.
func TestUpdaterRefusals(t *testing.T) {
	s, pub := signer(t, 1)
	other, _ := signer(t, 2)
	a := newAppliance(t, pub)
	u := a.updater()
	_, err := install(t, u, pkg(t, s, 2, 1))
	require.NoError(t, err)
	a.reboot()
	u = a.updater()
	_, err = u.Boot(context.Background(), healthy)
	require.NoError(t, err)
	before, status := a.espFiles(), u.Status()
	for name, c := range map[string]struct {
		p    []byte
		want error
	}{
		"replay v1":       {pkg(t, s, 1, 0), update.ErrDowngrade},
		"replay v2":       {pkg(t, s, 2, 1), update.ErrDowngrade},
		"wrong key":       {pkg(t, other, 3, 2), update.ErrSignature},
		"truncated":       {pkg(t, s, 3, 2)[:500], update.ErrMalformed},
		"diff from wrong": {pkg(t, s, 4, 3), update.ErrBaseMismatch},
	} {
		_, err := install(t, u, c.p)
		require.ErrorIs(t, err, c.want, name)
		require.Equal(t, before, a.espFiles(), "%s: the ESP is unchanged", name)
		require.Equal(t, status, u.Status(), name)
	}
}

// TestUpdaterBusy: a second Install while one runs gets ErrBusy at once.
func TestUpdaterBusy(t *testing.T) {
	s, pub := signer(t, 1)
	a := newAppliance(t, pub)
	started, release := make(chan struct{}), make(chan struct{})
	var once bool
	u, err := agent.NewESPUpdater(&agent.ESPUpdaterOptions{ESPDir: a.espDir, StateDir: a.state, UpdateKey: pub,
		Vendor: "acme", Product: "demo", Version: "1.0", Cmdline: "fogkit.slot=1",
		Progress: func(agent.UpdateEvent) {
			if !once {
				once = true
				close(started)
				<-release
			}
		}})
	require.NoError(t, err)
	defer u.Close()
	p := pkg(t, s, 2, 1)
	done := make(chan error)
	go func() { _, err := install(t, u, p); done <- err }()
	<-started
	_, err = install(t, u, p)
	require.ErrorIs(t, err, agent.ErrBusy)
	_, err = u.Boot(context.Background(), healthy)
	require.ErrorIs(t, err, agent.ErrBusy)
	close(release)
	require.NoError(t, <-done)
}

// TestUpdaterInterrupted: an install cut after the apply but before its
// ESP entry (power cut) is reported failed at the next boot and rolled
// back; one cancelled on the ESP leaves nothing pending.
func TestUpdaterInterrupted(t *testing.T) {
	s, pub := signer(t, 1)
	a := newAppliance(t, pub)
	u := a.updater()
	// Cancelled while writing the ESP: the target goes back too.
	ctx, cancel := context.WithCancel(context.Background())
	u2, err := agent.NewESPUpdater(&agent.ESPUpdaterOptions{ESPDir: a.espDir, StateDir: a.state, UpdateKey: pub,
		Vendor: "acme", Product: "demo", Version: "1.0", Cmdline: "fogkit.slot=1",
		Progress: func(e agent.UpdateEvent) {
			if e.Step == "esp" {
				cancel()
			}
		}})
	require.NoError(t, err)
	defer u2.Close()
	p := pkg(t, s, 2, 1)
	_, err = u2.Install(ctx, bytes.NewReader(p), int64(len(p)))
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, u.Status().PendingSlot)
	require.Equal(t, []string{"fogkit-1.conf"}, a.entries())

	// Cut between the apply and the ESP: the target is pending, the ESP
	// holds a half slot without entry.
	tfs, err := update.NewOSFS(filepath.Join(a.state, agent.UpdateTargetDir))
	require.NoError(t, err)
	_, err = update.Apply(context.Background(), tfs, bytes.NewReader(p), int64(len(p)), &update.ApplyOptions{
		VerifyOptions: update.VerifyOptions{Keyring: mustRing(t, pub)}})
	require.NoError(t, err)
	tfs.Close()
	a.write(esp.SlotDir(2)+"/"+esp.KernelFile+".tmp", []byte("half"))
	require.EqualValues(t, 1, a.reboot())
	res, err := a.updater().Boot(context.Background(), healthy)
	require.NoError(t, err)
	require.Equal(t, agent.ResultFailed, res.Result)
	require.Contains(t, res.Error, "interrupted")
	_, err = os.Stat(filepath.Join(a.espDir, "fogkit", "2"))
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = install(t, a.updater(), p)
	require.NoError(t, err, "a retry works")
}

func mustRing(t *testing.T, pub []byte) *sign.Keyring {
	k, err := sign.LoadPublicKey(pub, sign.PurposeUpdate)
	require.NoError(t, err)
	r, err := sign.NewKeyring(k)
	require.NoError(t, err)
	return r
}

func TestUpdaterOptions(t *testing.T) {
	_, err := agent.NewESPUpdater(nil)
	require.ErrorIs(t, err, agent.ErrUpdaterOptions)
	_, err = agent.NewESPUpdater(&agent.ESPUpdaterOptions{ESPDir: t.TempDir(), StateDir: t.TempDir(), UpdateKey: []byte("k"),
		ReleaseFile: filepath.Join(t.TempDir(), "missing")})
	require.ErrorIs(t, err, agent.ErrUpdaterOptions)
	rel := filepath.Join(t.TempDir(), "release")
	require.NoError(t, os.WriteFile(rel, []byte("NAME=\"acme\"\nVERSION=\"1.0\"\nPRODUCT=\"demo\"\nVENDOR=\"acme\"\nSEQUENCE=1\n"), 0o644))
	_, pub := signer(t, 1)
	u, err := agent.NewESPUpdater(&agent.ESPUpdaterOptions{ESPDir: t.TempDir(), StateDir: t.TempDir(), UpdateKey: pub,
		ReleaseFile: rel, Cmdline: "quiet"})
	require.NoError(t, err)
	defer u.Close()
	require.Equal(t, "1.0", u.Status().RunningVersion)
	_, err = u.Boot(context.Background(), nil)
	require.ErrorIs(t, err, agent.ErrNoSlot)
}

// TestUpdaterBootResumes: a Boot cut short (after blessing the ESP but
// before confirming the target; after rolling back but before the ESP
// removal) is finished by the next boot's Boot.
func TestUpdaterBootResumes(t *testing.T) {
	s, pub := signer(t, 1)
	a := newAppliance(t, pub)
	_, err := install(t, a.updater(), pkg(t, s, 2, 1))
	require.NoError(t, err)
	require.EqualValues(t, 2, a.reboot())
	fsys, err := esp.DirFS(a.espDir)
	require.NoError(t, err)
	defer fsys.Close()
	require.NoError(t, esp.Bless(fsys, 2)) // then the power went
	require.EqualValues(t, 2, a.reboot())
	u := a.updater()
	res, err := u.Boot(context.Background(), healthy)
	require.NoError(t, err)
	require.Equal(t, agent.ResultBlessed, res.Result)
	require.Empty(t, u.Status().PendingSlot)

	_, err = install(t, u, pkg(t, s, 3, 2))
	require.NoError(t, err)
	for range 3 {
		require.EqualValues(t, 3, a.reboot())
	}
	require.EqualValues(t, 2, a.reboot())
	tfs, err := update.NewOSFS(filepath.Join(a.state, agent.UpdateTargetDir))
	require.NoError(t, err)
	_, err = update.Rollback(context.Background(), tfs) // then the power went
	require.NoError(t, err)
	tfs.Close()
	res, err = a.updater().Boot(context.Background(), healthy)
	require.NoError(t, err)
	require.Nil(t, res)
	require.Equal(t, []string{"fogkit-1.conf", "fogkit-2.conf"}, a.entries(), "the failed slot leaves the ESP")
}

// espSnapshot is every file and directory of the ESP with its content.
func espSnapshot(t *testing.T, dir string) map[string]string {
	m := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			m[rel] = "dir"
			return nil
		}
		b, err := os.ReadFile(p)
		m[rel] = string(b)
		return err
	}))
	return m
}

// TestUpdaterWritesTheESPOnlyInsideWritableWindows: every change the
// updater makes to the ESP (install, bless, prune, fallback clean-up)
// happens between ESPWritable(true) and ESPWritable(false), so an ESP
// mounted read-only otherwise is never dirty when the power goes.
func TestUpdaterWritesTheESPOnlyInsideWritableWindows(t *testing.T) {
	s, pub := signer(t, 1)
	a := newAppliance(t, pub)
	open, windows := false, 0
	last := espSnapshot(t, a.espDir)
	a.writable = func(w bool) error {
		require.NotEqual(t, open, w, "windows neither nest nor close twice")
		if w {
			require.Equal(t, last, espSnapshot(t, a.espDir), "the ESP changed outside a writable window")
			windows++
		} else {
			last = espSnapshot(t, a.espDir)
		}
		open = w
		return nil
	}
	check := func() {
		t.Helper()
		require.False(t, open)
		require.Equal(t, last, espSnapshot(t, a.espDir), "the ESP changed outside a writable window")
	}
	u := a.updater()
	_, err := u.Boot(context.Background(), healthy)
	require.NoError(t, err)
	_, err = install(t, u, pkg(t, s, 2, 1))
	require.NoError(t, err)
	check()
	a.reboot()
	last = espSnapshot(t, a.espDir) // the loader's own counting
	res, err := a.updater().Boot(context.Background(), healthy)
	require.NoError(t, err)
	require.Equal(t, agent.ResultBlessed, res.Result)
	check()
	_, err = install(t, a.updater(), pkg(t, s, 3, 2))
	require.NoError(t, err)
	for range 4 {
		a.reboot()
	}
	last = espSnapshot(t, a.espDir)
	res, err = a.updater().Boot(context.Background(), healthy)
	require.NoError(t, err)
	require.Equal(t, agent.ResultFailed, res.Result)
	check()
	require.Greater(t, windows, 4)

	// A window that cannot open stops the write.
	a.writable = func(w bool) error {
		if w {
			return errors.New("read-only file system")
		}
		return nil
	}
	_, err = install(t, a.updater(), pkg(t, s, 3, 2))
	require.ErrorContains(t, err, "making the ESP writable")
	check()
}
