package specfile

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/appliance"
	"github.com/fogkit/fogkit/sign"
)

// examples/appliance.yaml builds what `go run ./examples/pipeline` builds
// with its defaults: the same OVA, disks, descriptor, license, initramfs,
// update package and boot tree, byte for byte, from the same keys and
// epoch. Both run without a kernel here (-kernel none, and the kernel
// block left out of the file), so that the test needs neither the host's
// kernel nor the network; with one, both put the same kernel in the same
// initramfs. Only build.json differs: it records the app directory and
// its tree digest, where the pipeline's app is embedded in its binary.
func TestExampleBuildsThePipelineDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline with go run")
	}
	work := t.TempDir()
	keys, pipeOut, specOut := filepath.Join(work, "keys"), filepath.Join(work, "pipeline"), filepath.Join(work, "spec")
	cmd := exec.CommandContext(t.Context(), "go", "run", "./examples/pipeline", "-q", "-kernel", "none", "-fetch=false",
		"-epoch", "1790000000", "-keys", keys, "-out", pipeOut)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)

	t.Setenv("SOURCE_DATE_EPOCH", "1790000000")
	data, err := os.ReadFile(example)
	require.NoError(t, err)
	noKernel := strings.Replace(string(data), "kernel:\n  host: true\n  fetch: true\n", "", 1)
	require.NotEqual(t, string(data), noKernel)
	f, err := Parse([]byte(noKernel), "appliance.yaml", "../examples")
	require.NoError(t, err)
	require.NoError(t, f.Resolve(t.Context()))
	ks, err := sign.LoadKeyDir(keys)
	require.NoError(t, err)
	rec, err := appliance.Build(t.Context(), f.Spec, &appliance.Options{Dir: specOut, Keys: ks, FetchAssets: f.FetchAssets})
	require.NoError(t, err)

	pipeRec, err := appliance.Load(filepath.Join(pipeOut, appliance.RecordFile))
	require.NoError(t, err)
	// The provenance records what made each build: the spec file's build
	// names its app directory and the app tree's digest, the pipeline's
	// embedded app neither. Every other output is the same.
	isProv := func(a appliance.Artifact) bool { return strings.HasSuffix(a.Path, appliance.ProvenanceSuffix) }
	pipeOuts := slices.DeleteFunc(slices.Clone(pipeRec.Outputs), isProv)
	outs := slices.DeleteFunc(slices.Clone(rec.Outputs), isProv)
	require.Len(t, outs, len(rec.Outputs)-1, "one provenance")
	assert.Equal(t, pipeOuts, outs)
	var names []string
	for _, o := range outs {
		names = append(names, o.Path)
	}
	boot, err := os.ReadDir(filepath.Join(pipeOut, appliance.BootTreeDir))
	require.NoError(t, err)
	for _, e := range boot {
		names = append(names, filepath.Join(appliance.BootTreeDir, e.Name()))
	}
	for _, n := range names {
		a, err := os.ReadFile(filepath.Join(pipeOut, n))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(specOut, n))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(a, b), "%s differs from the pipeline's", n)
	}
	assert.Contains(t, names, "fogdemo.ova")
	assert.Contains(t, names, "initrd.img")
	assert.Contains(t, names, "fogdemo.lic")
}
