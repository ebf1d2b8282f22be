package specfile

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/appliance"
	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/sign"
)

// writeFiles creates files (name → content; a trailing / makes a
// directory) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			require.NoError(t, os.MkdirAll(p, 0o755))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

// hostPlaces points the host look-ups at dir for the test.
func hostPlaces(t *testing.T, dir string) {
	saved := [][]string{appliance.HostKernelPlaces, appliance.HostSyslinuxPlaces, appliance.HostGPTMBRPlaces,
		HostISOLinuxPlaces, HostLDLinuxPlaces, HostHybridMBRPlaces}
	t.Cleanup(func() {
		appliance.HostKernelPlaces, appliance.HostSyslinuxPlaces, appliance.HostGPTMBRPlaces = saved[0], saved[1], saved[2]
		HostISOLinuxPlaces, HostLDLinuxPlaces, HostHybridMBRPlaces = saved[3], saved[4], saved[5]
	})
	j := func(n string) []string { return []string{filepath.Join(dir, n)} }
	appliance.HostKernelPlaces, appliance.HostSyslinuxPlaces, appliance.HostGPTMBRPlaces = j("vmlinuz"), j("syslinux"), j("gptmbr.bin")
	HostISOLinuxPlaces, HostLDLinuxPlaces, HostHybridMBRPlaces = j("isolinux.bin"), j("ldlinux.c32"), j("isohdpfx.bin")
}

func TestResolve(t *testing.T) {
	host, empty := t.TempDir(), t.TempDir()
	writeFiles(t, host, map[string]string{"vmlinuz": "k", "syslinux": "s", "gptmbr.bin": "g",
		"isolinux.bin": "i", "ldlinux.c32": "l", "isohdpfx.bin": "h"})
	spec := t.TempDir()
	writeFiles(t, spec, map[string]string{"init": "INIT", "bzImage": "K", "my-syslinux": "S"})
	base := strings.Replace(minimal, "{goPackage: example.com/acme/init}", "{file: init}", 1)
	for _, tc := range []struct {
		name, extra, host string
		kernel            string
		fetch             bool
		bios              *disk.BIOS
		iso               ISOLinuxSource
	}{
		{name: "no kernel", host: host},
		{name: "kernel file", extra: "kernel: {file: bzImage}\n", host: host, kernel: filepath.Join(spec, "bzImage")},
		{name: "host and fetch, host has one", extra: "kernel: {host: true, fetch: true}\n", host: host, kernel: filepath.Join(host, "vmlinuz"), fetch: true},
		{name: "host and fetch, host has none", extra: "kernel: {host: true, fetch: true}\n", host: empty, fetch: true},
		{name: "host only, none there", extra: "kernel: {host: true}\n", host: empty},
		{name: "fetch only", extra: "kernel: {fetch: true}\n", host: host, fetch: true},
		{name: "host BIOS", extra: "bios: true\n", host: host,
			bios: &disk.BIOS{Syslinux: filepath.Join(host, "syslinux"), GPTMBR: disk.File{Path: filepath.Join(host, "gptmbr.bin")}}},
		{name: "one BIOS part given", extra: "bios: {syslinux: my-syslinux}\n", host: host,
			bios: &disk.BIOS{Syslinux: filepath.Join(spec, "my-syslinux"), GPTMBR: disk.File{Path: filepath.Join(host, "gptmbr.bin")}}},
		{name: "host isolinux", extra: "isolinux: true\n", host: host,
			iso: ISOLinuxSource{Enabled: true, Loader: filepath.Join(host, "isolinux.bin"), LDLinux: filepath.Join(host, "ldlinux.c32"), HybridMBR: filepath.Join(host, "isohdpfx.bin")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hostPlaces(t, tc.host)
			f, err := Parse([]byte(base+tc.extra), "a.yaml", spec)
			require.NoError(t, err)
			require.NoError(t, f.Resolve(t.Context()))
			assert.Equal(t, []byte("INIT"), f.Spec.Init)
			assert.Equal(t, tc.kernel, f.Spec.Kernel)
			assert.Equal(t, tc.fetch, f.FetchAssets)
			assert.Equal(t, tc.bios, f.Spec.BIOS)
			assert.Equal(t, tc.iso, f.ISOLinux)
		})
	}

	// Everything missing is reported at once.
	hostPlaces(t, empty)
	f, err := Parse([]byte(base+"bios: true\nisolinux: true\n"), "a.yaml", spec)
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(spec, "init")))
	err = f.Resolve(t.Context())
	require.Error(t, err)
	for _, want := range []string{"a.yaml: init.file", "a.yaml: bios", "a.yaml: isolinux.loader", "a.yaml: isolinux.ldlinux", "a.yaml: isolinux.hybridMBR"} {
		assert.Contains(t, err.Error(), want)
	}
}

// The example's init is built from its Go package, as the pipeline builds
// it: a static linux/amd64 ELF.
func TestResolveBuildsGoInit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build")
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1790000000")
	f, err := Load(example)
	require.NoError(t, err)
	require.NoError(t, f.Resolve(t.Context()))
	e, err := elf.NewFile(bytes.NewReader(f.Spec.Init))
	require.NoError(t, err)
	assert.Equal(t, elf.EM_X86_64, e.Machine)
	assert.True(t, f.FetchAssets)
	assert.Equal(t, appliance.HostKernel(), f.Spec.Kernel)
}

// A spec file goes through Resolve into appliance.Build, twice, into the
// same bytes; the record verifies.
func TestBuildFromSpecFile(t *testing.T) {
	spec := t.TempDir()
	writeFiles(t, spec, map[string]string{"app/bin/run.sh": "#!/bin/sh\necho hi\n", "app/README": "hello\n", "init": "a static /init"})
	require.NoError(t, os.Chmod(filepath.Join(spec, "app/bin/run.sh"), 0o755))
	writeFiles(t, spec, map[string]string{"appliance.yaml": `name: acme
vendor: Acme
version: 2.0.0
sequence: 3
app: app
init: {file: init}
dataSize: 16M
cpus: 1
formats: [ova]
license:
  id: "{product}-{epoch}"
  customer: {id: C-1, name: Customer}
  validFor: 1y
  features: [a]
epoch: 2026-12-01T00:00:00Z
`})
	keys, err := sign.CreateKeyDir(filepath.Join(t.TempDir(), "keys"), &sign.KeyDirOptions{Name: "acme"})
	require.NoError(t, err)
	var dirs []string
	var recs []*appliance.Record
	for range 2 {
		f, err := Load(filepath.Join(spec, "appliance.yaml"))
		require.NoError(t, err)
		require.NoError(t, f.Resolve(t.Context()))
		out := t.TempDir()
		rec, err := appliance.Build(t.Context(), f.Spec, &appliance.Options{Dir: out, Keys: keys, FetchAssets: f.FetchAssets})
		require.NoError(t, err)
		require.NoError(t, rec.Verify(t.Context(), out))
		dirs, recs = append(dirs, out), append(recs, rec)
	}
	require.Equal(t, recs[0].Outputs, recs[1].Outputs)
	var names []string
	for _, o := range recs[0].Outputs {
		names = append(names, o.Path)
	}
	assert.Contains(t, names, "acme.ova")
	assert.Contains(t, names, "acme.lic")
	for _, n := range append(names, appliance.RecordFile) {
		a, err := os.ReadFile(filepath.Join(dirs[0], n))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(dirs[1], n))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(a, b), "%s differs between two builds", n)
	}
	assert.Equal(t, 1, recs[0].Spec.CPUs)
	assert.Equal(t, "acme-1796083200", recs[0].Spec.License.ID)
}
