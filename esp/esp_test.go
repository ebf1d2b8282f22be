package esp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/esp"
	"github.com/fogkit/fogkit/esp/esptest"
)

// slotFiles returns the boot tree of version seq.
func slotFiles(seq uint64) map[string][]byte {
	return map[string][]byte{
		esp.KernelFile: bytes.Repeat([]byte(fmt.Sprintf("kernel %d;", seq)), 300),
		esp.InitrdFile: bytes.Repeat([]byte(fmt.Sprintf("initrd %d;", seq)), 500),
		esp.EntryFile:  []byte(esp.EntryText(fmt.Sprintf("acme %d.0", seq), seq, "console=ttyS0")),
	}
}

func slotFS(seq uint64) fstest.MapFS {
	m := fstest.MapFS{}
	for n, b := range slotFiles(seq) {
		m[n] = &fstest.MapFile{Data: b, Mode: esp.FileMode}
	}
	return m
}

// shipped returns an ESP as the build makes it: slot 1, uncounted.
func shipped() *esptest.MemFS {
	m := esptest.NewMemFS()
	m.WriteFile(esp.LoaderConfFile, []byte(esp.LoaderConf))
	m.WriteFile("EFI/BOOT/BOOTX64.EFI", []byte("MZ"))
	for n, b := range slotFiles(1) {
		m.WriteFile(esp.SlotDir(1)+"/"+n, b)
	}
	m.WriteFile(esp.EntriesDir+"/"+esp.EntryID(1)+".conf", slotFiles(1)[esp.EntryFile])
	return m
}

// requireComplete checks that the chosen entry boots a whole slot: every
// file of it as written, nothing else.
func requireComplete(t *testing.T, m *esptest.MemFS, b *esptest.Booted, ctx string) {
	t.Helper()
	want := slotFiles(b.Seq)
	require.Equal(t, "/"+esp.SlotDir(b.Seq)+"/"+esp.KernelFile, "/"+b.Linux, ctx)
	for n, data := range want {
		got, err := m.ReadFile(esp.SlotDir(b.Seq) + "/" + n)
		require.NoError(t, err, "%s: %s", ctx, n)
		require.True(t, bytes.Equal(data, got), "%s: slot %d file %s is not complete", ctx, b.Seq, n)
	}
}

func requireNoTemp(t *testing.T, m *esptest.MemFS, ctx string) {
	t.Helper()
	for _, f := range m.Files() {
		require.False(t, strings.HasSuffix(f, ".tmp"), "%s: %s left behind", ctx, f)
	}
}

// TestInstallCrashAtEveryStep cuts the power after every single operation
// of Install, under every durability model, and checks what systemd-boot
// would boot: the shipped slot or the complete new one, never a half
// slot; then Recover leaves either no trace of the new slot or all of it.
func TestInstallCrashAtEveryStep(t *testing.T) {
	ctx := context.Background()
	sawNew, sawOld := false, false
	for k := 0; ; k++ {
		m := shipped()
		m.SetWriteChunk(16) // writes tear
		m.CrashAfter(k)
		err := esp.Install(ctx, m, 2, slotFS(2), nil)
		for _, d := range esptest.Durabilities {
			where := fmt.Sprintf("crash after %d ops, %s", k, d)
			r := m.Reboot(d)
			b, berr := esptest.Choose(r)
			require.NoError(t, berr, where)
			require.Contains(t, []uint64{1, 2}, b.Seq, where)
			requireComplete(t, r, b, where)
			if b.Seq == 2 {
				sawNew = true
			} else {
				sawOld = true
			}
			_, rerr := esp.Recover(r)
			require.NoError(t, rerr, where)
			requireNoTemp(t, r, where)
			b2, berr := esptest.Choose(r)
			require.NoError(t, berr, where)
			require.Equal(t, b.Seq, b2.Seq, "%s: Recover changed what boots", where)
			ents, err := esp.Entries(r)
			require.NoError(t, err)
			has2 := false
			for _, e := range ents {
				has2 = has2 || e.Seq == 2
			}
			_, serr := r.Stat(esp.SlotDir(2))
			require.Equal(t, has2, serr == nil, "%s: slot dir without entry or entry without dir", where)
			// Booting it for real (counter, kernel and initrd read) works.
			_, berr = esptest.Boot(r)
			require.NoError(t, berr, where)
		}
		if err == nil {
			require.False(t, m.Crashed())
			break
		}
		require.ErrorIs(t, err, esptest.ErrCrashed)
		require.Less(t, k, 2000)
	}
	require.True(t, sawNew && sawOld)
}

// TestFallback: a counted entry gets exactly its tries, then systemd-boot
// falls back to the previous entry on its own.
func TestFallback(t *testing.T) {
	m := shipped()
	require.NoError(t, esp.Install(context.Background(), m, 2, slotFS(2), &esp.InstallOptions{Tries: 3}))
	var seqs []uint64
	for range 5 {
		b, err := esptest.Boot(m)
		require.NoError(t, err)
		seqs = append(seqs, b.Seq)
	}
	require.Equal(t, []uint64{2, 2, 2, 1, 1}, seqs)
	ents, err := esp.Entries(m)
	require.NoError(t, err)
	require.Equal(t, "fogkit-2+0-3.conf", ents[1].File)
	require.Equal(t, 0, ents[1].TriesLeft)
	require.NoError(t, esp.Remove(m, 2))
	b, err := esptest.Boot(m)
	require.NoError(t, err)
	require.EqualValues(t, 1, b.Seq)
}

// TestBlessKeepsBooting: after one counted boot the slot is blessed and
// boots from then on; a blessed slot sorts by sequence like any other
// (10 after 9 numerically).
func TestBlessKeepsBooting(t *testing.T) {
	m := shipped()
	ctx := context.Background()
	for _, seq := range []uint64{9, 10} {
		require.NoError(t, esp.Install(ctx, m, seq, slotFS(seq), nil))
		b, err := esptest.Boot(m)
		require.NoError(t, err)
		require.Equal(t, seq, b.Seq)
		require.NoError(t, esp.Bless(m, seq))
	}
	for range 4 {
		b, err := esptest.Boot(m)
		require.NoError(t, err)
		require.EqualValues(t, 10, b.Seq)
	}
	ents, err := esp.Entries(m)
	require.NoError(t, err)
	require.Len(t, ents, 3)
	for _, e := range ents {
		require.False(t, e.Counted, e.File)
	}
	require.ErrorIs(t, esp.Install(ctx, m, 10, slotFS(10), nil), esp.ErrExists)
	require.ErrorIs(t, esp.Bless(m, 4), esp.ErrNotFound)
	require.ErrorIs(t, esp.Remove(m, 4), esp.ErrNotFound)
}

// TestBlessCrashAtEveryStep: a cut anywhere in Bless leaves slot 2
// booting, complete; Recover leaves exactly one entry for it.
func TestBlessCrashAtEveryStep(t *testing.T) {
	base := func() *esptest.MemFS {
		m := shipped()
		require.NoError(t, esp.Install(context.Background(), m, 2, slotFS(2), nil))
		_, err := esptest.Boot(m)
		require.NoError(t, err)
		m.SyncAll()
		return m
	}
	for k := 0; ; k++ {
		m := base()
		m.SetWriteChunk(16)
		m.CrashAfter(k)
		err := esp.Bless(m, 2)
		for _, d := range esptest.Durabilities {
			where := fmt.Sprintf("crash after %d ops, %s", k, d)
			r := m.Reboot(d)
			b, berr := esptest.Choose(r)
			require.NoError(t, berr, where)
			require.EqualValues(t, 2, b.Seq, where)
			requireComplete(t, r, b, where)
			_, rerr := esp.Recover(r)
			require.NoError(t, rerr, where)
			requireNoTemp(t, r, where)
			ents, _ := esp.Entries(r)
			n := 0
			for _, e := range ents {
				if e.Seq == 2 {
					n++
				}
			}
			require.Equal(t, 1, n, where)
			b, berr = esptest.Choose(r)
			require.NoError(t, berr, where)
			require.EqualValues(t, 2, b.Seq, where)
		}
		if err == nil {
			break
		}
		require.ErrorIs(t, err, esptest.ErrCrashed)
	}
}

// TestRemoveCrashAtEveryStep: a cut anywhere in Remove boots either the
// complete slot 2 or slot 1, never a slot with files missing.
func TestRemoveCrashAtEveryStep(t *testing.T) {
	base := func() *esptest.MemFS {
		m := shipped()
		require.NoError(t, esp.Install(context.Background(), m, 2, slotFS(2), nil))
		require.NoError(t, esp.Bless(m, 2))
		m.SyncAll()
		return m
	}
	for k := 0; ; k++ {
		m := base()
		m.CrashAfter(k)
		err := esp.Remove(m, 2)
		for _, d := range esptest.Durabilities {
			where := fmt.Sprintf("crash after %d ops, %s", k, d)
			r := m.Reboot(d)
			b, berr := esptest.Choose(r)
			require.NoError(t, berr, where)
			requireComplete(t, r, b, where)
			_, rerr := esp.Recover(r)
			require.NoError(t, rerr, where)
			b, berr = esptest.Boot(r)
			require.NoError(t, berr, where)
			requireComplete(t, r, b, where)
		}
		if err == nil {
			break
		}
		require.ErrorIs(t, err, esptest.ErrCrashed)
	}
}

// TestRecoverRemovesBrokenEntries: an empty entry (what a cut in a FAT
// rename may leave), one naming a missing initrd and a stray slot
// directory are removed; the shipped slot is untouched.
func TestRecoverRemovesBrokenEntries(t *testing.T) {
	m := shipped()
	m.WriteFile(esp.EntriesDir+"/fogkit-2+3.conf", nil)
	for n, b := range slotFiles(3) {
		if n != esp.InitrdFile {
			m.WriteFile(esp.SlotDir(3)+"/"+n, b)
		}
	}
	m.WriteFile(esp.EntriesDir+"/fogkit-3+3.conf", slotFiles(3)[esp.EntryFile])
	m.WriteFile(esp.SlotDir(4)+"/vmlinuz.tmp", []byte("half"))
	m.WriteFile(esp.EntriesDir+"/other.conf", []byte("title not ours\n"))
	rep, err := esp.Recover(m)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"loader/entries/fogkit-2+3.conf", "loader/entries/fogkit-3+3.conf", "fogkit/3", "fogkit/4"}, rep.Removed)
	require.Contains(t, m.Files(), "loader/entries/other.conf")
	ents, err := esp.Entries(m)
	require.NoError(t, err)
	require.Len(t, ents, 1)
	rep, err = esp.Recover(m)
	require.NoError(t, err)
	require.Empty(t, rep.Removed, "Recover is idempotent")
}

func TestInstallRefusesBadSlots(t *testing.T) {
	ctx := context.Background()
	for name, mutate := range map[string]func(fstest.MapFS){
		"no entry":           func(s fstest.MapFS) { delete(s, esp.EntryFile) },
		"wrong slot in path": func(s fstest.MapFS) { s[esp.EntryFile].Data = []byte(esp.EntryText("x", 3, "")) },
		"sort-key":           func(s fstest.MapFS) { s[esp.EntryFile].Data = append(s[esp.EntryFile].Data, "sort-key zzz\n"...) },
		"missing initrd":     func(s fstest.MapFS) { delete(s, esp.InitrdFile) },
		"subdirectory":       func(s fstest.MapFS) { s["sub/x"] = &fstest.MapFile{Data: []byte("x")} },
		"temp name":          func(s fstest.MapFS) { s["x.tmp"] = &fstest.MapFile{Data: []byte("x")} },
		"efi key":            func(s fstest.MapFS) { s[esp.EntryFile].Data = append(s[esp.EntryFile].Data, "efi /EFI/evil.efi\n"...) },
		"no slot parameter": func(s fstest.MapFS) {
			s[esp.EntryFile].Data = []byte(strings.ReplaceAll(string(s[esp.EntryFile].Data), "fogkit.slot=2", ""))
		},
	} {
		m := shipped()
		s := slotFS(2)
		mutate(s)
		err := esp.Install(ctx, m, 2, s, nil)
		require.ErrorIs(t, err, esp.ErrMalformed, name)
		_, serr := m.Stat(esp.SlotDir(2))
		require.ErrorIs(t, serr, fs.ErrNotExist, "%s: nothing written", name)
	}
	// A cancelled install removes what it wrote.
	m := shipped()
	cctx, cancel := context.WithCancel(ctx)
	err := esp.Install(cctx, m, 2, slotFS(2), &esp.InstallOptions{Progress: func(esp.Event) { cancel() }})
	require.ErrorIs(t, err, context.Canceled)
	_, serr := m.Stat(esp.SlotDir(2))
	require.True(t, errors.Is(serr, fs.ErrNotExist))
}

func TestInstallEvents(t *testing.T) {
	var lines []string
	m := shipped()
	require.NoError(t, esp.Install(context.Background(), m, 2, slotFS(2), &esp.InstallOptions{Progress: func(e esp.Event) {
		lines = append(lines, e.String())
	}}))
	require.Equal(t, []string{
		"esp: install slot 2: 1/4 fogkit/2/entry.conf",
		"esp: install slot 2: 2/4 fogkit/2/initrd.img",
		"esp: install slot 2: 3/4 fogkit/2/vmlinuz",
		"esp: install slot 2: 4/4 loader/entries/fogkit-2+3.conf",
	}, lines)
}

func TestNamesAndCmdline(t *testing.T) {
	require.Equal(t, "console=ttyS0 fogkit.slot=7 panic=5", esp.KernelOptions("console=ttyS0 fogkit.slot=3", 7))
	require.Equal(t, "panic=30 fogkit.slot=7", esp.KernelOptions("panic=30", 7))
	for in, want := range map[string]uint64{"a fogkit.slot=3 b": 3, "fogkit.slot=3 fogkit.slot=12": 12} {
		got, ok := esp.SlotOfCmdline(in)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "fogkit.slot=", "fogkit.slot=0", "fogkit.slot=x", "fogkit.slot=3 fogkit.slot=-1", "xfogkit.slot=3"} {
		_, ok := esp.SlotOfCmdline(in)
		require.False(t, ok, in)
	}
	for _, c := range []struct {
		file       string
		name       string
		left, done int
		counted    bool
	}{
		{"fogkit-2+3.conf", "fogkit-2", 3, 0, true},
		{"fogkit-2+0-3.conf", "fogkit-2", 0, 3, true},
		{"fogkit-2.conf", "fogkit-2", -1, 0, false},
		{"a+b.conf", "a+b", -1, 0, false},
		{"c++.conf", "c++", -1, 0, false},
	} {
		n, l, d, counted, err := esp.ParseBootEntryName(c.file)
		require.NoError(t, err)
		require.Equal(t, []any{c.name, c.left, c.done, c.counted}, []any{n, l, d, counted}, c.file)
		if counted {
			require.Equal(t, c.file, esp.BootEntryName(n, l, d))
		}
	}
	_, _, _, _, err := esp.ParseBootEntryName("x.txt")
	require.ErrorIs(t, err, esp.ErrMalformed)
	for _, bad := range []string{"fogkit-02.conf", "fogkit-.conf", "fogkit-x+3.conf", "other-2.conf"} {
		_, ok := esp.ParseEntryName(bad)
		require.False(t, ok, bad)
	}
}

// TestDirFS runs an install, a boot and a bless on a real directory.
func TestDirFS(t *testing.T) {
	dir := t.TempDir()
	o, err := esp.DirFS(dir)
	require.NoError(t, err)
	defer o.Close()
	require.NoError(t, esp.Install(context.Background(), o, 1, slotFS(1), nil))
	b, err := esptest.Boot(o)
	require.NoError(t, err)
	require.EqualValues(t, 1, b.Seq)
	require.NoError(t, esp.Bless(o, 1))
	ents, err := esp.Entries(o)
	require.NoError(t, err)
	require.Equal(t, []esp.Entry{{Seq: 1, File: "fogkit-1.conf", TriesLeft: -1}}, ents)
	rep, err := esp.Recover(o)
	require.NoError(t, err)
	require.Empty(t, rep.Removed)
}
