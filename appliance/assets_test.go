package appliance_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/appliance"
	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/rootfs"
)

func requireApt(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"apt-get", "apt-cache", "dpkg-deb"} {
		if testutil.RequireTool(t, tool) == "" {
			t.SkipNow()
		}
	}
}

// TestFetchAssetsBootsUnderOVMF fetches the distribution's kernel and
// systemd-boot into an empty cache, builds a disk from exactly those files
// and boots it under OVMF; a second fetch is served from the cache.
func TestFetchAssetsBootsUnderOVMF(t *testing.T) {
	requireApt(t)
	cache := t.TempDir()
	a, err := appliance.FetchAssets(t.Context(), &appliance.AssetOptions{CacheDir: cache})
	if err != nil && !testutil.InteropRequired() {
		t.Skipf("no distribution mirror here (%v)", err) // CI requires it
	}
	require.NoError(t, err)
	require.Len(t, a.Packages, 2)
	for _, p := range a.Packages {
		require.Len(t, p.SHA256, 64)
		require.NotEmpty(t, p.Version)
		t.Logf("fetched %s %s (%s, %d bytes)", p.Name, p.Version, p.SHA256[:12], p.Size)
	}
	for _, f := range []string{a.Kernel, a.Modules, a.SystemdBoot, a.Stub} {
		_, err := os.Stat(f)
		require.NoError(t, err)
	}

	// Served from the cache: the unpacked directories are not replaced.
	st0, err := os.Stat(a.Packages[0].Dir)
	require.NoError(t, err)
	again, err := appliance.FetchAssets(t.Context(), &appliance.AssetOptions{CacheDir: cache})
	require.NoError(t, err)
	require.Equal(t, a.Packages, again.Packages)
	st1, err := os.Stat(again.Packages[0].Dir)
	require.NoError(t, err)
	require.True(t, os.SameFile(st0, st1))
	require.Equal(t, st0.ModTime(), st1.ModTime())
	ents, err := os.ReadDir(cache)
	require.NoError(t, err)
	require.Len(t, ents, 2, "one directory per package and nothing half-fetched")

	// The fetched kernel, its modules and systemd-boot make a disk that boots.
	b := rootfs.New(nil)
	require.NoError(t, b.AddFile(rootfs.Entry{Path: "/init", Mode: 0o755}, testutil.BuildStaticInit(t, "./internal/testutil/testinit")))
	_, err = b.AddModules(t.Context(), os.DirFS(a.Modules), []string{"virtio_blk", "vfat"}, &rootfs.ModuleOptions{Release: a.Release})
	require.NoError(t, err)
	var initrd bytes.Buffer
	_, err = b.WriteTo(&initrd)
	require.NoError(t, err)
	dir := t.TempDir()
	initrdPath := filepath.Join(dir, "initrd.img")
	require.NoError(t, os.WriteFile(initrdPath, initrd.Bytes(), 0o644))
	nonce := testutil.NewNonce()
	raw := filepath.Join(dir, "boot.raw")
	_, err = disk.BuildFile(t.Context(), &disk.Spec{
		Loader:  disk.SystemdBoot,
		EFI:     disk.File{Path: a.SystemdBoot},
		Kernel:  disk.File{Path: a.Kernel},
		Initrds: []disk.File{{Path: initrdPath}},
		Cmdline: "console=ttyS0 panic=-1 no_timer_check fogkit.modules=1,0 fogkit.nonce=" + nonce,
	}, raw, &disk.Options{Seed: "fetch-test"})
	require.NoError(t, err)
	res := testutil.Boot(t, testutil.BootOptions{Firmware: testutil.UEFI, Disk: raw, MemoryMB: 512,
		Marker: testutil.BootMarker(nonce), Timeout: 300 * time.Second})
	require.Contains(t, res.Console, "MODULE kernel/drivers/block/virtio_blk.ko ok")
}

func TestFetchAssetsFailsCleanly(t *testing.T) {
	requireApt(t)
	cache := t.TempDir()
	_, err := appliance.FetchAssets(context.Background(), &appliance.AssetOptions{CacheDir: cache, KernelPackage: "fogkit-no-such-kernel-meta"})
	require.ErrorIs(t, err, appliance.ErrAssets)
	_, err = appliance.FetchAssets(context.Background(), &appliance.AssetOptions{CacheDir: cache, KernelPackage: "linux-image-amd64; rm -rf /"})
	require.ErrorIs(t, err, appliance.ErrAssets)
	ents, err := os.ReadDir(cache)
	require.NoError(t, err)
	require.Empty(t, ents, "a failed fetch leaves nothing in the cache")
}

func TestFetchAssetsWithoutApt(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := appliance.FetchAssets(context.Background(), &appliance.AssetOptions{CacheDir: t.TempDir()})
	require.ErrorIs(t, err, appliance.ErrAssets)
	require.ErrorContains(t, err, "Debian or Ubuntu")
}
