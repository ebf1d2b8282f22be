package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/appliance"
)

const testEpoch = "1790000000"

// TestBuildMatchesPipeline builds examples/appliance.yaml with fogkit
// build and the demo with examples/pipeline from the same keys and epoch,
// both without a kernel (the file's kernel block removed, -kernel none),
// and compares every output's sha256. It then verifies, tampers with and
// inspects the build's outputs.
func TestBuildMatchesPipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo appliance twice")
	}
	work := t.TempDir()
	keys, pipeOut, out := filepath.Join(work, "keys"), filepath.Join(work, "pipeline"), filepath.Join(work, "out")
	cmd := exec.CommandContext(t.Context(), "go", "run", "./examples/pipeline", "-q", "-kernel", "none", "-fetch=false",
		"-epoch", testEpoch, "-keys", keys, "-out", pipeOut)
	cmd.Dir = "../.."
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)

	spec := noKernelSpec(t, work, "appliance.yaml")
	r := fogkitIn(t, "", []string{"SOURCE_DATE_EPOCH=" + testEpoch}, "build", "-f", spec, "-keys", keys, "-out", out)
	require.Equal(t, exitOK, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "fogdemo.ova")

	pipeRec, err := appliance.Load(filepath.Join(pipeOut, appliance.RecordFile))
	require.NoError(t, err)
	rec, err := appliance.Load(filepath.Join(out, appliance.RecordFile))
	require.NoError(t, err)
	// The provenance records what made each build: the spec file's build
	// names its app directory and the app tree's digest, the pipeline's
	// embedded app neither. Every other output is the same.
	pd, d := digests(pipeRec), digests(rec)
	require.Contains(t, d, "fogdemo"+appliance.ProvenanceSuffix)
	delete(pd, "fogdemo"+appliance.ProvenanceSuffix)
	delete(d, "fogdemo"+appliance.ProvenanceSuffix)
	require.Equal(t, pd, d, "fogkit build's outputs differ from the pipeline's")
	assert.Contains(t, digests(rec), "fogdemo.ova")
	t.Logf("build.json differs from the pipeline's in: %s", recordDiff(t, pipeOut, out))

	// verify: everything holds; a flipped byte in the OVA is refused.
	assert.Contains(t, ok(t, "verify", out), "outputs verified")
	golden(t, "verify", ok(t, "verify", "-json", out), work, "sha256", "size")
	tampered := filepath.Join(work, "tampered")
	require.NoError(t, os.CopyFS(tampered, os.DirFS(out)))
	ovaPath := filepath.Join(tampered, "fogdemo.ova")
	flipped := flipByte(t, ovaPath, 2000)
	require.NoError(t, os.Rename(flipped, ovaPath))
	exits(t, exitRefused, "verify", tampered)
	require.NoError(t, os.Remove(ovaPath))
	exits(t, exitError, "verify", tampered)

	// inspect each kind the build wrote. Sizes and digests that follow
	// from the random keys (signatures, certificates) are normalised.
	golden(t, "inspect-ova", ok(t, "inspect", "-json", filepath.Join(out, "fogdemo.ova")), work, "sha256", "digest", "size", "signer", "certificate", "offset")
	exits(t, exitRefused, "inspect", flipByte(t, filepath.Join(out, "fogdemo.ova"), 2000))
	// The initramfs holds the demo /init, built from this tree: its size
	// follows every change to the packages it links.
	golden(t, "inspect-initrd", ok(t, "inspect", "-json", filepath.Join(out, "initrd.img")), work, "dataBytes")
	assert.Contains(t, ok(t, "inspect", "-key", filepath.Join(keys, "license.pub"), filepath.Join(out, "fogdemo.lic")), "status:     valid")
	golden(t, "inspect-vmdk-boot", ok(t, "inspect", "-json", filepath.Join(out, "fogdemo-boot.vmdk")), work)
	r = fogkit(t, "cloud", "check", "-target", "aws", filepath.Join(out, "fogdemo-boot.vmdk"))
	assert.Contains(t, []int{exitOK, exitRefused}, r.code, "%s%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "for aws")

	// -formats and -flavour.
	exits(t, exitUsage, "build", "-f", spec, "-keys", keys, "-out", filepath.Join(work, "x"), "-flavour", "large")
	data, err := os.ReadFile(spec)
	require.NoError(t, err)
	flavoured := filepath.Join(work, "flavoured.yaml")
	require.NoError(t, os.WriteFile(flavoured, append(data, "flavours:\n  small: {cpus: 1, memoryMiB: 512, dataSize: 64M}\n  large: {cpus: 8}\n"...), 0o644))
	exits(t, exitUsage, "build", "-f", flavoured, "-keys", keys, "-out", filepath.Join(work, "x"), "-flavour", "medium")
	exits(t, exitUsage, "build", "-f", spec, "-keys", keys, "-out", filepath.Join(work, "x"), "-combined")
	r = fogkitIn(t, "", []string{"SOURCE_DATE_EPOCH=" + testEpoch}, "build", "-json", "-f", flavoured, "-keys", keys,
		"-out", filepath.Join(work, "small"), "-flavour", "small", "-formats", "ova,vhd")
	require.Equal(t, exitOK, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	var small appliance.Record
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &small))
	assert.Equal(t, []appliance.Flavour{{Name: "small", CPUs: 1, MemoryMiB: 512, DataSize: 64 << 20},
		{Name: "large", CPUs: 8, MemoryMiB: 1024, DataSize: 20 << 30}}, small.Spec.Flavours)
	assert.Equal(t, []string{"small"}, small.Spec.FlavourOVAs)
	assert.Equal(t, []appliance.Format{appliance.FormatOVA, appliance.FormatVHD}, small.Spec.Formats)
	assert.Contains(t, digests(&small), "fogdemo-small.ova")
	assert.NotContains(t, digests(&small), "fogdemo-large.ova")
	// The base OVA is the one the pipeline makes: flavours add OVAs.
	assert.Equal(t, digests(rec)["fogdemo-boot.vmdk"], digests(&small)["fogdemo-boot.vmdk"])
	ok(t, "verify", filepath.Join(work, "small"))
}

// noKernelSpec copies examples/<name> into dir without its kernel block
// and with its app path made absolute (paths in it are relative to
// examples/), so it builds without a kernel from any directory.
func noKernelSpec(t *testing.T, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../examples", name))
	require.NoError(t, err)
	s := strings.Replace(string(data), "kernel:\n  host: true\n  fetch: true\n", "", 1)
	require.NotEqual(t, string(data), s, "the example's kernel block changed")
	app, err := filepath.Abs("../../examples/pipeline/demoapp")
	require.NoError(t, err)
	s2 := strings.Replace(s, "app: pipeline/demoapp\n", "app: "+app+"\n", 1)
	require.NotEqual(t, s, s2, "the example's app line changed")
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(s2), 0o644))
	return p
}

// digests maps each output of a record to its size and sha256.
func digests(r *appliance.Record) map[string]string {
	m := map[string]string{}
	for _, o := range r.Outputs {
		m[o.Path] = o.SHA256
	}
	return m
}

// recordDiff names the top-level fields of the two build.json files that
// differ.
func recordDiff(t *testing.T, a, b string) string {
	t.Helper()
	load := func(dir string) map[string]json.RawMessage {
		data, err := os.ReadFile(filepath.Join(dir, appliance.RecordFile))
		require.NoError(t, err)
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(data, &m))
		return m
	}
	ma, mb := load(a), load(b)
	var diff []string
	for k, v := range ma {
		if string(mb[k]) != string(v) {
			diff = append(diff, k)
		}
	}
	sort.Strings(diff)
	return strings.Join(diff, ", ")
}
