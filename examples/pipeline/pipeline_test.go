package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/appliance"
	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/ova"
	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/update"
)

// bins holds the example programs, built once for every test here.
var bins = map[string]string{}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fogkit-pipeline-test-")
	if err != nil {
		panic(err)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		for _, name := range []string{"pipeline", "verifyova", "license", "update", "support", "backup"} {
			out := filepath.Join(dir, name)
			cmd := exec.Command("go", "build", "-o", out, "github.com/fogkit/fogkit/examples/"+name)
			if b, err := cmd.CombinedOutput(); err != nil {
				os.Stderr.Write(b)
				return 1
			}
			bins[name] = out
		}
		return m.Run()
	}()
	os.Exit(code)
}

// epoch is a fixed build time one day before now, so the license the
// pipeline issues is valid when the test boots the appliance.
func testEpoch() int64 { return time.Now().UTC().Truncate(24*time.Hour).Unix() - 86400 }

type runResult struct {
	out    string
	stdout string
	rec    *appliance.Record
}

// runPipeline runs the built pipeline from the repository root (it builds
// the demo /init with the Go toolchain there).
func runPipeline(t *testing.T, out string, args ...string) runResult {
	t.Helper()
	cmd := exec.Command(bins["pipeline"], append([]string{"-q", "-out", out}, args...)...)
	cmd.Dir = testutil.RepoRoot(t)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "pipeline failed:\n%s\n%s", stdout.String(), stderr.String())
	rec, err := appliance.Load(filepath.Join(out, "build.json"))
	require.NoError(t, err)
	return runResult{out: out, stdout: stdout.String(), rec: rec}
}

func sha(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestNoKernel is what a fresh machine with only Go sees: a valid OVA and a
// plain notice that it does not boot.
func TestNoKernel(t *testing.T) {
	dir := t.TempDir()
	r := runPipeline(t, filepath.Join(dir, "out"), "-kernel", "none", "-keys", filepath.Join(dir, "keys"),
		"-epoch", strconv.FormatInt(testEpoch(), 10))
	require.Contains(t, r.stdout, "NOT bootable")
	require.False(t, r.rec.Bootable)
	require.NotEmpty(t, r.rec.Notes)
	ovaPath := filepath.Join(r.out, "fogdemo.ova")
	res := testutil.Run(t, "", nil, bins["verifyova"], "-roots", filepath.Join(dir, "keys", "ova.crt"), "-require-signature", ovaPath)
	require.Equal(t, 0, res.ExitCode, "verifyova: %s%s", res.Stdout, res.Stderr)
	names := map[string]bool{}
	for _, o := range r.rec.Outputs {
		names[o.Name] = true
	}
	for _, n := range []string{"fogdemo.ova", "fogdemo-boot.vmdk", "fogdemo-data.vmdk", "fogdemo.ovf", "fogdemo.lic", "initrd.img", "fogdemo-1.0.0-full.fup"} {
		require.True(t, names[n], "build.json lists %s", n)
	}
}

func TestBadUsage(t *testing.T) {
	out := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(out, "build.json"), []byte("{}"), 0o644))
	for _, args := range [][]string{{"-loader", "grub"}, {"-data-size", "lots"}, {"-epoch", "yesterday"}, {"stray"},
		{"-name", "../evil"}, {"-version", "1.0/2"}, {"-name", ""},
		{"-out", out, "-previous", out}, {"-previous", t.TempDir()}} {
		cmd := exec.Command(bins["pipeline"], args...)
		err := cmd.Run()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "%v", args)
		require.Equal(t, 2, ee.ExitCode(), "%v", args)
	}
}

// TestEndToEnd builds a bootable appliance, proves its OVA with our
// verifier and openssl, boots the boot disk taken out of the OVA under
// OVMF, checks the license with the license program, and applies the
// update packages.
func TestEndToEnd(t *testing.T) {
	kernel := testutil.TestKernel(t)
	efi := testutil.RequireFile(t, "systemd-boot", "/usr/lib/systemd/boot/efi/systemd-bootx64.efi")
	openssl := testutil.RequireTool(t, "openssl")
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	epoch := strconv.FormatInt(testEpoch(), 10)
	common := []string{"-kernel", kernel, "-efi", efi, "-keys", keys, "-epoch", epoch}

	v1 := runPipeline(t, filepath.Join(dir, "v1"), common...)
	require.True(t, v1.rec.Bootable)

	// Reproducible: a second run with the same inputs gives the same bytes.
	again := runPipeline(t, filepath.Join(dir, "v1-again"), common...)
	require.Equal(t, len(v1.rec.Outputs), len(again.rec.Outputs))
	for i, o := range v1.rec.Outputs {
		require.Equal(t, o, again.rec.Outputs[i], "output %s differs between two runs", o.Name)
		require.Equal(t, o.SHA256, sha(t, filepath.Join(again.out, o.Path)), "build.json digest of %s", o.Name)
	}
	b1, err := os.ReadFile(filepath.Join(v1.out, "build.json"))
	require.NoError(t, err)
	b2, err := os.ReadFile(filepath.Join(again.out, "build.json"))
	require.NoError(t, err)
	require.Equal(t, string(b1), string(b2), "build.json is reproducible")

	// The OVA verifies with our verifier and with openssl.
	ovaPath := filepath.Join(v1.out, "fogdemo.ova")
	res := testutil.Run(t, "", nil, bins["verifyova"], "-roots", filepath.Join(keys, "ova.crt"), "-require-signature", ovaPath)
	require.Equal(t, 0, res.ExitCode, "verifyova: %s%s", res.Stdout, res.Stderr)
	verifyWithOpenSSL(t, openssl, ovaPath, filepath.Join(keys, "ova.crt"))

	// The license verifies with the license program.
	now := time.Unix(testEpoch(), 0).Add(36 * time.Hour).UTC().Format(time.RFC3339)
	res = testutil.Run(t, "", nil, bins["license"], "verify", "-pub", filepath.Join(keys, "license.pub"),
		"-product", "fogdemo", "-now", now, filepath.Join(v1.out, "fogdemo.lic"))
	require.Equal(t, 0, res.ExitCode, "license verify: %s%s", res.Stdout, res.Stderr)

	// The boot disk, taken out of the OVA, boots under OVMF to the banner.
	bootDisk := extractMember(t, ovaPath, "fogdemo-boot.vmdk", dir)
	boot := testutil.Boot(t, testutil.BootOptions{Firmware: testutil.UEFI, Disk: bootDisk,
		Marker: "fogkit-demo: ready", Timeout: 240 * time.Second})
	require.Contains(t, boot.Console, "=== fogdemo 1.0.0 (fogkit demo appliance) ===")
	require.Contains(t, boot.Console, "license: valid; customer ACME-001 (Acme Corporation); seats 25")
	require.Regexp(t, regexp.MustCompile(`admin API first-run token: [A-Z2-7]{4}(-[A-Z2-7]{4}){7}`), boot.Console)

	// Version 2 with a changed app and a diff from version 1.
	app := filepath.Join(dir, "app")
	require.NoError(t, os.MkdirAll(app, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(app, "VERSION"), []byte("2.0.0\n"), 0o644))
	v2 := runPipeline(t, filepath.Join(dir, "v2"), append(common, "-app", app, "-version", "2.0.0", "-seq", "2", "-previous", v1.out)...)
	fullPkg := filepath.Join(v1.out, "fogdemo-1.0.0-full.fup")
	diffPkg := filepath.Join(v2.out, "fogdemo-1.0.0-to-2.0.0.fup")

	// Only the app changed: the diff must be far smaller than a full
	// package (the kernel is unchanged and the initramfs is uncompressed).
	full2, err := os.Stat(filepath.Join(v2.out, "fogdemo-2.0.0-full.fup"))
	require.NoError(t, err)
	diff2, err := os.Stat(diffPkg)
	require.NoError(t, err)
	require.Less(t, diff2.Size()*10, full2.Size(), "diff package %d bytes, full %d", diff2.Size(), full2.Size())

	// The update program accepts both packages.
	for _, pkg := range []string{fullPkg, diffPkg} {
		res = testutil.Run(t, "", nil, bins["update"], "verify", "-pub", filepath.Join(keys, "update.pub"), "-product", "fogdemo", pkg)
		require.Equal(t, 0, res.ExitCode, "update verify %s: %s%s", pkg, res.Stdout, res.Stderr)
	}

	ring := updateKeyring(t, filepath.Join(keys, "update.pub"))
	target := t.TempDir()
	applyPkg(t, target, fullPkg, ring, true)
	requireTree(t, target, filepath.Join(v1.out, "boot-tree"))
	applyPkg(t, target, diffPkg, ring, false)
	requireTree(t, target, filepath.Join(v2.out, "boot-tree"))
}

func verifyWithOpenSSL(t *testing.T, openssl, ovaPath, certPath string) {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(ovaPath)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	a, err := ova.Open(f, st.Size(), nil)
	require.NoError(t, err)
	mf, err := a.Member("fogdemo.mf")
	require.NoError(t, err)
	mfBytes, err := io.ReadAll(mf)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "fogdemo.mf"), mfBytes, 0o644))
	line, _, _ := strings.Cut(string(a.Certificate()), "\n")
	m := regexp.MustCompile(`^SHA256\(fogdemo\.mf\)= ([0-9a-f]+)$`).FindStringSubmatch(line)
	require.NotNil(t, m, "cert line %q", line)
	sig, err := hex.DecodeString(m[1])
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sig"), sig, 0o644))
	pub := testutil.MustRun(t, dir, nil, openssl, "x509", "-pubkey", "-noout", "-in", certPath)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pub.pem"), pub, 0o644))
	out := testutil.MustRun(t, dir, nil, openssl, "dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig", "fogdemo.mf")
	require.Contains(t, string(out), "Verified OK")
}

func extractMember(t *testing.T, ovaPath, name, dir string) string {
	t.Helper()
	f, err := os.Open(ovaPath)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	a, err := ova.Open(f, st.Size(), nil)
	require.NoError(t, err)
	r, err := a.Member(name)
	require.NoError(t, err)
	dst := filepath.Join(dir, "from-ova-"+name)
	out, err := os.Create(dst)
	require.NoError(t, err)
	_, err = io.Copy(out, r)
	require.NoError(t, err)
	require.NoError(t, out.Close())
	return dst
}

func updateKeyring(t *testing.T, pubPath string) *sign.Keyring {
	t.Helper()
	b, err := os.ReadFile(pubPath)
	require.NoError(t, err)
	k, err := sign.LoadPublicKey(b, sign.PurposeUpdate)
	require.NoError(t, err)
	ring, err := sign.NewKeyring(k)
	require.NoError(t, err)
	return ring
}

func applyPkg(t *testing.T, target, pkg string, ring *sign.Keyring, first bool) {
	t.Helper()
	fsys, err := update.NewOSFS(target)
	require.NoError(t, err)
	defer fsys.Close()
	f, err := os.Open(pkg)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	rep, err := update.Apply(context.Background(), fsys, f, st.Size(),
		&update.ApplyOptions{VerifyOptions: update.VerifyOptions{Keyring: ring, Product: "fogdemo"}, Confirmed: first})
	require.NoError(t, err, "apply %s", pkg)
	if !first {
		_, err = update.Confirm(context.Background(), fsys)
		require.NoError(t, err)
	}
	require.NotEmpty(t, rep.To.Name)
	// Remember the slot for requireTree.
	require.NoError(t, os.WriteFile(filepath.Join(target, ".test-current"), []byte(rep.To.Dir()), 0o644))
}

// requireTree checks that the slot the last apply made holds exactly the
// boot tree of a build (same tree digest).
func requireTree(t *testing.T, target, want string) {
	t.Helper()
	slot, err := os.ReadFile(filepath.Join(target, ".test-current"))
	require.NoError(t, err)
	got, err := update.ScanTree(os.DirFS(filepath.Join(target, string(slot))))
	require.NoError(t, err)
	exp, err := update.ScanTree(os.DirFS(want))
	require.NoError(t, err)
	require.Equal(t, update.TreeDigest(exp), update.TreeDigest(got))
}

// The record must round-trip as JSON: later builds read it for -previous.
func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"20G": 20 << 30, "20GB": 20 << 30, "20GiB": 20 << 30, "512m": 512 << 20, "4096": 4096} {
		got, err := appliance.ParseSize(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "G", "-1G", "1X", "20 G B"} {
		_, err := appliance.ParseSize(in)
		require.Error(t, err, in)
	}
}

func TestRecordJSON(t *testing.T) {
	cfg, err := parseFlags([]string{"-epoch", "1700000000", "-data-size", "2G"})
	require.NoError(t, err)
	b, err := json.Marshal(&appliance.Record{Format: appliance.RecordFormat,
		Spec: &appliance.Spec{Epoch: cfg.spec.Epoch, DataSize: cfg.spec.DataSize}})
	require.NoError(t, err)
	var r appliance.Record
	require.NoError(t, json.Unmarshal(b, &r))
	require.Equal(t, int64(1700000000), r.Spec.Epoch.Unix())
	require.Equal(t, int64(2<<30), r.Spec.DataSize)
}

// TestDefaultRunBoots is what a fresh Debian machine with Go and network
// to the distribution's mirror gets from the pipeline with no flags about
// the kernel: the distribution's kernel and systemd-boot fetched into an
// empty user cache, hypervisor drivers in the initramfs, and an OVA whose
// boot disk boots under OVMF and sees its data disk and NIC.
func TestDefaultRunBoots(t *testing.T) {
	for _, tool := range []string{"apt-get", "apt-cache", "dpkg-deb"} {
		testutil.RequireTool(t, tool)
	}
	dir := t.TempDir()
	cmd := exec.Command(bins["pipeline"], "-q", "-out", filepath.Join(dir, "out"), "-keys", filepath.Join(dir, "keys"),
		"-epoch", strconv.FormatInt(testEpoch(), 10))
	cmd.Dir = testutil.RepoRoot(t)
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	rec, err := appliance.Load(filepath.Join(dir, "out", "build.json"))
	require.NoError(t, err)
	if !rec.Bootable && !testutil.InteropRequired() {
		t.Skipf("the fetch failed here (no distribution mirror?): %s", out) // CI requires it
	}
	require.True(t, rec.Bootable, "%s", out)
	require.Len(t, rec.Assets, 2, "the kernel and the loader were fetched")
	require.Contains(t, rec.Modules, "ahci")
	require.Contains(t, rec.Modules, "vmw_pvscsi")
	require.NoError(t, rec.Verify(t.Context(), filepath.Join(dir, "out")))

	bootDisk := extractMember(t, filepath.Join(dir, "out", "fogdemo.ova"), "fogdemo-boot.vmdk", dir)
	dataDisk := filepath.Join(dir, "data.raw")
	require.NoError(t, os.WriteFile(dataDisk, make([]byte, 1<<20), 0o644))
	boot := testutil.Boot(t, testutil.BootOptions{Firmware: testutil.UEFI, Disk: bootDisk, MemoryMB: 512,
		Devices: []string{"-drive", "if=none,id=data,format=raw,file=" + dataDisk, "-device", "virtio-blk-pci,drive=data",
			"-netdev", "user,id=n0,restrict=on", "-device", "virtio-net-pci,netdev=n0"},
		Marker: "fogkit-demo: ready", Timeout: 300 * time.Second})
	require.Contains(t, boot.Console, "=== fogdemo 1.0.0 (fogkit demo appliance) ===")
	require.Regexp(t, regexp.MustCompile(`drivers: \d+ loaded, 0 failed; disks: vda vdb; network: eth0`), boot.Console)
}

// TestUKIHybridBIOS builds with a unified kernel image and the hybrid BIOS
// disk, and boots the OVA's boot disk under SeaBIOS; the descriptor then
// asks for BIOS firmware, which every hypervisor boots.
func TestUKIHybridBIOS(t *testing.T) {
	kernel := testutil.TestKernel(t)
	stub := testutil.RequireFile(t, "UKI stub", "/usr/lib/systemd/boot/efi/linuxx64.efi.stub")
	syslinux := testutil.RequireTool(t, "syslinux")
	gptmbr := testutil.RequireFile(t, "gptmbr.bin", "/usr/lib/SYSLINUX/gptmbr.bin")
	dir := t.TempDir()
	r := runPipeline(t, filepath.Join(dir, "out"), "-kernel", kernel, "-loader", "uki", "-efi", stub, "-keys", filepath.Join(dir, "keys"),
		"-bios", "-syslinux", syslinux, "-gptmbr", gptmbr, "-epoch", strconv.FormatInt(testEpoch(), 10))
	require.True(t, r.rec.Bootable)
	require.True(t, r.rec.Layout.BIOSBoot)
	ovfText, err := os.ReadFile(filepath.Join(r.out, "fogdemo.ovf"))
	require.NoError(t, err)
	require.NotContains(t, string(ovfText), `vmw:value="efi"`)

	bootDisk := extractMember(t, filepath.Join(r.out, "fogdemo.ova"), "fogdemo-boot.vmdk", dir)
	boot := testutil.Boot(t, testutil.BootOptions{Firmware: testutil.BIOS, Disk: bootDisk,
		Marker: "fogkit-demo: ready", Timeout: 240 * time.Second})
	require.Contains(t, boot.Console, "license: valid; customer ACME-001")
}
