package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diskfs/go-diskfs/filesystem/iso9660"
	"github.com/stretchr/testify/require"
)

// fakeSetupEnv records what Setup asks of the kernel.
type fakeSetupEnv struct {
	mounts   mountRec
	hostname string
	net      *fakeNet
}

func (f *fakeSetupEnv) env() setupEnv {
	return setupEnv{
		mount: f.mounts.mount,
		loadModules: func(context.Context, *ModuleOptions) (*ModuleReport, error) {
			return &ModuleReport{Release: "6.1.0-test", Modules: []ModuleResult{{Path: "kernel/a.ko", Loaded: true}, {Path: "kernel/b.ko", Error: "exec format error"}}}, nil
		},
		setHostname: func(h string) error { f.hostname = h; return nil },
		net:         f.net,
	}
}

// A failed network does not stop the data disk; the report says what
// each step did, one line each; the error names the failed step.
func TestSetupRunsEveryStepAndReports(t *testing.T) {
	ft := newFakeTree(t)
	root := filepath.Dir(ft.sys)
	ft.nic(t, "eth0", "52:54:00:12:34:56", true)
	ft.block(t, "vdb", "", []byte("LABEL:fogkit-data"), 8<<20)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "etc", "fogkit"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "etc", "fogkit", "release"), []byte("NAME=Fogkit Demo\n"), 0o644))
	f := &fakeSetupEnv{net: &fakeNet{dhcpErr: errors.New("no DHCPOFFER")}}
	// Only the probe is given: the roots and the mounter come from Setup.
	rep, err := setup(t.Context(), &SetupOptions{Root: root, Data: &DataOptions{Probe: labelProbe}}, f.env())
	require.ErrorIs(t, err, ErrStep)
	require.ErrorIs(t, err, ErrNetwork)
	var se *StepError
	require.ErrorAs(t, err, &se)
	require.Equal(t, StepNetwork, se.Step)

	require.Equal(t, "fogkit-demo-123456", f.hostname)
	require.NotNil(t, rep.Data, "the data disk mounts although the network failed")
	require.Equal(t, filepath.Join(ft.dev, "vdb"), rep.Data.Device)
	require.Equal(t, "ext4", f.mounts.calls[len(f.mounts.calls)-1].fstype, "the data mount went through Setup's mounter")
	var steps []string
	for _, s := range rep.Steps {
		steps = append(steps, s.Step)
	}
	require.Equal(t, []string{StepMount, StepModules, StepOVFEnv, StepHostname, StepNetwork, StepData}, steps)
	lines := strings.Split(strings.TrimSpace(rep.String()), "\n")
	require.Len(t, lines, 6)
	require.Equal(t, "setup modules:  ok 1 loaded, 1 failed; b.ko: exec format error", lines[1])
	require.Equal(t, "setup ovf-env:  ok none", lines[2])
	require.Equal(t, "setup hostname: ok fogkit-demo-123456 (from release)", lines[3])
	require.True(t, strings.HasPrefix(lines[4], "setup network:  FAILED: agent: network configuration failed: DHCP on eth0"), lines[4])
	require.Contains(t, lines[5], "setup data:     ok "+filepath.Join(ft.dev, "vdb")+" label fogkit-data")
}

// With an OVF environment on a CD-ROM, hostname and network come from it.
func TestSetupUsesTheOVFEnvironment(t *testing.T) {
	ft := newFakeTree(t)
	root := filepath.Dir(ft.sys)
	ft.nic(t, "ens192", "00:50:56:8e:12:34", true)
	iso, err := os.ReadFile(makeISO(t, map[string]string{"ovf-env.xml": vsphereEnv}, iso9660.FinalizeOptions{}))
	require.NoError(t, err)
	ft.block(t, "sr0", "", iso, int64(len(iso)), "removable")
	f := &fakeSetupEnv{net: &fakeNet{dhcpErr: errors.New("DHCP must not run")}}
	rep, err := setup(t.Context(), &SetupOptions{Root: root, Skip: []string{StepData}}, f.env())
	require.NoError(t, err)
	require.Equal(t, "fogkit-lab-01", f.hostname)
	require.Equal(t, SourceOVFEnv, rep.Network.Source)
	require.Equal(t, "192.0.2.10/24", rep.Network.Address.String())
	b, err := os.ReadFile(filepath.Join(root, "etc", "resolv.conf"))
	require.NoError(t, err)
	require.Contains(t, string(b), "nameserver 192.0.2.53")
	require.Contains(t, rep.String(), "setup data:     skipped")
	require.Contains(t, rep.String(), "setup ovf-env:  ok "+filepath.Join(ft.dev, "sr0")+", 6 properties")
}
