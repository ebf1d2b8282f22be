package appliance_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/appliance"
	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/esp"
	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/license"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/update"
	"github.com/fogkit/fogkit/vmdk"
)

var (
	keysOnce sync.Once
	keys     *sign.KeySet
	keysErr  error
)

// testKeys makes one key set per test process: RSA keys are slow.
func testKeys(t *testing.T) *sign.KeySet {
	keysOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fogkit-appliance-keys-")
		if err != nil {
			keysErr = err
			return
		}
		keys, keysErr = sign.CreateKeyDir(filepath.Join(dir, "k"), &sign.KeyDirOptions{Name: "acme"})
	})
	require.NoError(t, keysErr)
	return keys
}

var epoch = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func testSpec() *appliance.Spec {
	return &appliance.Spec{
		Name: "acme", Vendor: "Acme", Version: "1.0.0", Sequence: 1,
		App:  fstest.MapFS{"bin/app.sh": {Data: []byte("#!/bin/sh\necho hi\n"), Mode: 0o755}},
		Init: []byte("\x7fELF not really an init"),
		License: &license.License{ID: "acme-1", Sequence: 1, Customer: license.Customer{ID: "C1", Name: "Customer"},
			IssuedAt: epoch, NotBefore: epoch, Seats: 5},
		DataSize: 64 << 20,
		Epoch:    epoch,
	}
}

func build(t *testing.T, dir string, s *appliance.Spec) *appliance.Record {
	t.Helper()
	rec, err := appliance.Build(context.Background(), s, &appliance.Options{Dir: dir, Keys: testKeys(t)})
	require.NoError(t, err)
	return rec
}

func TestBuildTwiceSameBytes(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	ra := build(t, a, testSpec())
	rb := build(t, b, testSpec())
	require.Equal(t, ra.Outputs, rb.Outputs)
	for _, f := range append(outputNames(ra), "build.json") {
		x, err := os.ReadFile(filepath.Join(a, f))
		require.NoError(t, err)
		y, err := os.ReadFile(filepath.Join(b, f))
		require.NoError(t, err)
		require.True(t, bytes.Equal(x, y), "%s differs between two builds", f)
	}
	require.False(t, ra.Bootable)
	require.NotEmpty(t, ra.Notes)
	loaded, err := appliance.Load(filepath.Join(a, "build.json"))
	require.NoError(t, err)
	require.NoError(t, loaded.Verify(context.Background(), a))
}

func outputNames(r *appliance.Record) []string {
	var out []string
	for _, o := range r.Outputs {
		out = append(out, o.Path)
	}
	return out
}

// TestRecordVerifyCatchesEveryChange flips one byte in each output kind
// and requires Verify to fail; for the signed kinds it also updates the
// record's digest to match, so only the signature check can catch it.
func TestRecordVerifyCatchesEveryChange(t *testing.T) {
	src := t.TempDir()
	rec := build(t, src, testSpec())
	kinds := map[string]bool{}
	for i, o := range rec.Outputs {
		kinds[filepath.Ext(o.Path)] = true
		for _, fixDigest := range []bool{false, true} {
			// The SBOM is no signed file, but a subject of the signed
			// provenance: a change with its digest fixed in the record
			// still fails there.
			signed := strings.HasSuffix(o.Path, ".ova") || strings.HasSuffix(o.Path, ".lic") || strings.HasSuffix(o.Path, ".fup") ||
				strings.HasSuffix(o.Path, appliance.SBOMSuffix) || strings.HasSuffix(o.Path, appliance.ProvenanceSuffix)
			if fixDigest && !signed {
				continue
			}
			dir := t.TempDir()
			for _, p := range outputNames(rec) {
				b, err := os.ReadFile(filepath.Join(src, p))
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(dir, p), b, 0o644))
			}
			p := filepath.Join(dir, o.Path)
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			b[len(b)/2] ^= 0x20
			require.NoError(t, os.WriteFile(p, b, 0o644))
			r2 := *rec
			r2.Outputs = append([]appliance.Artifact(nil), rec.Outputs...)
			if fixDigest {
				r2.Outputs[i].SHA256 = sha256hex(b)
			}
			err = r2.Verify(context.Background(), dir)
			require.ErrorIs(t, err, appliance.ErrRecord, "%s (digest fixed: %v)", o.Path, fixDigest)
		}
	}
	for _, k := range []string{".ova", ".vmdk", ".ovf", ".lic", ".fup", ".img", ".json", ".jsonl"} {
		require.True(t, kinds[k], "the build made no %s output", k)
	}
	// A missing output too.
	dir := t.TempDir()
	require.ErrorIs(t, rec.Verify(context.Background(), dir), appliance.ErrRecord)
}

func TestSpecErrorsListEveryProblemAndWriteNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	s := &appliance.Spec{Name: "../evil", Version: "", App: fstest.MapFS{}, AppDir: "/tmp"}
	_, err := appliance.Build(context.Background(), s, &appliance.Options{Dir: dir})
	require.ErrorIs(t, err, appliance.ErrSpec)
	var se *appliance.SpecError
	require.True(t, errors.As(err, &se))
	for _, want := range []string{"Name", "Version", "Sequence", "App and AppDir", "Init", "Epoch", "Options.Keys"} {
		require.Contains(t, err.Error(), want)
	}
	_, err = os.Stat(dir)
	require.True(t, os.IsNotExist(err), "nothing is written for a bad spec")
}

func TestFailedBuildLeavesNoOutputs(t *testing.T) {
	dir := t.TempDir()
	prev := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(prev, "build.json"), []byte(`{"format":"something else"}`), 0o644))
	s := testSpec()
	s.Previous = []string{prev}
	_, err := appliance.Build(context.Background(), s, &appliance.Options{Dir: dir, Keys: testKeys(t)})
	require.ErrorIs(t, err, appliance.ErrRecord)
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, ents, "a failed build removes what it wrote")
}

func TestDiffFromPrevious(t *testing.T) {
	v1 := t.TempDir()
	build(t, v1, testSpec())
	s := testSpec()
	s.Version, s.Sequence, s.Previous = "1.1.0", 2, []string{v1}
	v2 := t.TempDir()
	rec := build(t, v2, s)
	require.Contains(t, outputNames(rec), "acme-1.0.0-to-1.1.0.fup")
	s.Sequence = 1
	_, err := appliance.Build(context.Background(), s, &appliance.Options{Dir: t.TempDir(), Keys: testKeys(t)})
	require.ErrorContains(t, err, "higher Sequence")
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestBootTreeIsTheESP builds a bootable appliance and checks that the
// exported boot tree, which update packages carry, is exactly the
// version's slot directory on the ESP of the boot VMDK (read through
// vmdk.Open, disk.Open and Image.ESP): fogkit/<sequence>/ with the kernel,
// the initrd and the entry text, which the uncounted loader entry repeats;
// loader.conf is package esp's and the ESP has room for more versions.
func TestBootTreeIsTheESP(t *testing.T) {
	kernel := testutil.TestKernel(t)
	efi := testutil.RequireFile(t, "systemd-boot", "/usr/lib/systemd/boot/efi/systemd-bootx64.efi")
	if kernel == "" || efi == "" {
		return
	}
	dir := t.TempDir()
	s := testSpec()
	s.Kernel, s.EFI, s.Modules, s.Sequence, s.Cmdline = kernel, efi, []string{}, 7, "console=ttyS0"
	rec := build(t, dir, s)
	require.True(t, rec.Bootable)
	f, err := os.Open(filepath.Join(dir, "acme-boot.vmdk"))
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	vd, err := vmdk.Open(f, st.Size())
	require.NoError(t, err)
	img, err := disk.Open(vd, vd.Size())
	require.NoError(t, err)
	slot, err := fs.Sub(img.ESP(), esp.SlotDir(7))
	require.NoError(t, err)
	fromESP, err := update.ScanTree(slot)
	require.NoError(t, err)
	treeDir := filepath.Join(dir, appliance.BootTreeDir)
	fromDir, err := update.ScanTree(os.DirFS(treeDir))
	require.NoError(t, err)
	require.Equal(t, update.TreeDigest(fromDir), update.TreeDigest(fromESP))
	var names []string
	sizes := map[string]int64{}
	for _, e := range fromDir {
		names = append(names, e.Path)
		sizes[e.Path] = e.Size
	}
	require.Equal(t, []string{esp.EntryFile, esp.InitrdFile, esp.KernelFile}, names)

	entry, err := img.ReadFile(esp.EntriesDir + "/fogkit-7.conf")
	require.NoError(t, err)
	own, err := os.ReadFile(filepath.Join(treeDir, esp.EntryFile))
	require.NoError(t, err)
	require.Equal(t, string(own), string(entry))
	require.NoError(t, esp.CheckEntry(7, entry, sizes))
	require.Contains(t, string(entry), "options console=ttyS0 fogkit.slot=7 panic=5\n")
	conf, err := img.ReadFile(esp.LoaderConfFile)
	require.NoError(t, err)
	require.Equal(t, esp.LoaderConf, string(conf))
	require.GreaterOrEqual(t, img.Layout.Partitions[0].Size, int64(appliance.DefaultESPSize))

	// The initramfs carries the public keys the agent reads, among them
	// the support key that bundles are encrypted to.
	initrd, err := os.Open(filepath.Join(treeDir, esp.InitrdFile))
	require.NoError(t, err)
	defer initrd.Close()
	want := map[string][]byte{appliance.UpdateKeyFile: testKeys(t).UpdatePublic,
		appliance.LicenseKeyFile: testKeys(t).LicensePublic, appliance.SupportKeyFile: testKeys(t).SupportPublic}
	rr := rootfs.NewReader(initrd, nil)
	for {
		h, err := rr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if w, ok := want[h.Path]; ok {
			got, err := io.ReadAll(rr)
			require.NoError(t, err)
			require.Equal(t, string(w), string(got), h.Path)
			delete(want, h.Path)
		}
	}
	require.Empty(t, want, "missing from the initramfs")
}

// A record whose keys were blanked is an error, never a panic.
func TestRecordWithoutKeys(t *testing.T) {
	dir := t.TempDir()
	rec := build(t, dir, testSpec())
	for _, blank := range []func(*appliance.RecordKeys){
		func(k *appliance.RecordKeys) { k.OVACertificates = "" },
		func(k *appliance.RecordKeys) { k.LicensePublic = "" },
		func(k *appliance.RecordKeys) { k.UpdatePublic = "" },
	} {
		r2 := *rec
		blank(&r2.Keys)
		require.ErrorIs(t, r2.Verify(context.Background(), dir), appliance.ErrRecord)
	}
}
