package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/internal/testutil"
)

func fakeRoot(t *testing.T, order string) string {
	root := t.TempDir()
	dir := filepath.Join(root, "lib", "modules", "6.1.0-test")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "modules.order"), []byte(order), 0o644))
	return root
}

func withLoader(t *testing.T, f func(string) error) {
	old := loadHook
	loadHook = f
	t.Cleanup(func() { loadHook = old })
}

func TestLoadModulesInOrderAndReportsFailures(t *testing.T) {
	root := fakeRoot(t, "kernel/a.ko\n\n# comment\nkernel/b.ko\nkernel/a.ko\nkernel/c.ko\n")
	var loaded []string
	withLoader(t, func(p string) error {
		rel, _ := filepath.Rel(filepath.Join(root, "lib", "modules", "6.1.0-test"), p)
		loaded = append(loaded, rel)
		if rel == "kernel/b.ko" {
			return errors.New("exec format error")
		}
		return nil
	})
	rep, err := LoadModules(context.Background(), &ModuleOptions{Root: root, Release: "6.1.0-test"})
	require.NoError(t, err)
	require.Equal(t, []string{"kernel/a.ko", "kernel/b.ko", "kernel/c.ko"}, loaded, "in order, each once, and a failure does not stop the rest")
	require.Equal(t, []ModuleResult{{Path: "kernel/b.ko", Error: "exec format error"}}, rep.Failed())
	require.Len(t, rep.Modules, 3)
}

// TestLoadModulesNoDevice: a module the kernel refuses with ENODEV (such
// as efivarfs on a BIOS boot) has nothing to drive here; it is reported,
// not counted as failed.
func TestLoadModulesNoDevice(t *testing.T) {
	root := fakeRoot(t, "kernel/a.ko\nkernel/efivarfs.ko\n")
	withLoader(t, func(p string) error {
		if filepath.Base(p) == "efivarfs.ko" {
			return fmt.Errorf("finit_module: %w", syscall.ENODEV)
		}
		return nil
	})
	rep, err := LoadModules(context.Background(), &ModuleOptions{Root: root, Release: "6.1.0-test"})
	require.NoError(t, err)
	require.Empty(t, rep.Failed())
	require.True(t, rep.Modules[1].NoDevice)
	require.False(t, rep.Modules[1].Loaded)
}

func TestLoadModulesRefusesBadInput(t *testing.T) {
	withLoader(t, func(string) error { t.Fatal("nothing may load"); return nil })
	for name, order := range map[string]string{
		"climbs out": "../../../etc/passwd\n",
		"absolute":   "/kernel/a.ko\n",
		"unclean":    "kernel//a.ko\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := LoadModules(context.Background(), &ModuleOptions{Root: fakeRoot(t, order), Release: "6.1.0-test"})
			require.ErrorIs(t, err, ErrModules)
		})
	}
	_, err := LoadModules(context.Background(), &ModuleOptions{Root: t.TempDir(), Release: "6.1.0-test"})
	require.ErrorIs(t, err, ErrModules, "no module tree")
	_, err = LoadModules(context.Background(), &ModuleOptions{Root: t.TempDir(), Release: "../x"})
	require.ErrorIs(t, err, ErrModules, "bad release")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = LoadModules(ctx, &ModuleOptions{Root: fakeRoot(t, "kernel/a.ko\n"), Release: "6.1.0-test"})
	require.ErrorIs(t, err, context.Canceled)
}

func TestListSys(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"sdb", "loop0", "ram1", "sda", "vda"} {
		require.NoError(t, os.Mkdir(filepath.Join(dir, n), 0o755))
	}
	got, err := listSys(dir, "loop", "ram")
	require.NoError(t, err)
	require.Equal(t, []string{"sda", "sdb", "vda"}, got)
}

// TestLoadModulesDependencyWithoutDevice: a module whose dependency had no
// device (the Hyper-V storage driver on a machine without VMBus) is not
// loaded and shares the dependency's verdict, read from the real
// modules' .modinfo depends= lists.
func TestLoadModulesDependencyWithoutDevice(t *testing.T) {
	_, tree, _ := testutil.DriverKernel(t)
	if tree == "" {
		return
	}
	root := fakeRoot(t, "kernel/drivers/hv/hv_vmbus.ko\nkernel/drivers/scsi/scsi_transport_fc.ko\nkernel/drivers/scsi/hv_storvsc.ko\n")
	dir := filepath.Join(root, "lib", "modules", "6.1.0-test")
	for _, p := range []string{"kernel/drivers/hv/hv_vmbus.ko", "kernel/drivers/scsi/scsi_transport_fc.ko", "kernel/drivers/scsi/hv_storvsc.ko"} {
		b, err := os.ReadFile(filepath.Join(tree, p))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), b, 0o644))
	}
	var tried []string
	withLoader(t, func(p string) error {
		tried = append(tried, filepath.Base(p))
		if filepath.Base(p) == "hv_vmbus.ko" {
			return fmt.Errorf("finit_module: %w", syscall.ENODEV)
		}
		return nil
	})
	rep, err := LoadModules(context.Background(), &ModuleOptions{Root: root, Release: "6.1.0-test"})
	require.NoError(t, err)
	require.Equal(t, []string{"hv_vmbus.ko", "scsi_transport_fc.ko"}, tried, "hv_storvsc is not even tried")
	require.Empty(t, rep.Failed())
	require.Equal(t, ModuleResult{Path: "kernel/drivers/scsi/hv_storvsc.ko", NoDevice: true, Error: "needs hv_vmbus, which did not load"}, rep.Modules[2])
}
