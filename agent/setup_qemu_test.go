package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/agent"
	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/rootfs"
)

// setupDrivers: virtio disk and NIC, the IDE CD-ROM of the ISO transport
// (ata_piix, sr_mod) and ext4.
// virtio_rng feeds the kernel's random pool, which the emulated CPU
// (no RDRAND) leaves uninitialised for minutes; DHCP needs it.
var setupDrivers = []string{"virtio_pci", "virtio_blk", "virtio_net", "virtio_rng", "ata_piix", "sr_mod", "ext4", "crc32c_generic"}

// TestSetupInQemu boots the generic kernel with agent.Setup as /init,
// twice: once with an OVF environment on an IDE CD-ROM (static address,
// hostname, DNS from it) and once without (DHCP from qemu's user-mode
// network, which leases 10.0.2.15). Both times the data disk, made by
// mkfs.ext4 with the label and attached after a disk with another label,
// is found by its label, mounted, written and unmounted, and e2fsck
// finds it clean with the guest's file on it.
func TestSetupInQemu(t *testing.T) {
	kernel, modDir, release := testutil.DriverKernel(t)
	if kernel == "" {
		return
	}
	mkfs := testutil.RequireTool(t, "mkfs.ext4")
	e2fsck := testutil.RequireTool(t, "e2fsck")
	debugfs := testutil.RequireTool(t, "debugfs")
	if mkfs == "" || e2fsck == "" || debugfs == "" {
		return
	}
	dir := t.TempDir()
	b := rootfs.New(nil)
	require.NoError(t, b.AddFile(rootfs.Entry{Path: "/init", Mode: 0o755}, testutil.BuildStaticInit(t, "./agent/internal/setupinit")))
	require.NoError(t, b.AddFile(rootfs.Entry{Path: "/etc/fogkit/release", Mode: 0o644}, []byte("NAME=\"Fogkit Setup Test\"\nVERSION=1\n")))
	_, err := b.AddModules(context.Background(), os.DirFS(modDir), setupDrivers, &rootfs.ModuleOptions{Release: release})
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = b.WriteTo(&buf)
	require.NoError(t, err)
	initrd := filepath.Join(dir, "initrd.img")
	require.NoError(t, os.WriteFile(initrd, buf.Bytes(), 0o644))

	disk := func(name, label string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, nil, 0o644))
		require.NoError(t, os.Truncate(p, 32<<20))
		out, err := exec.Command(mkfs, "-q", "-F", "-L", label, p).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return p
	}
	other := disk("other.raw", "scratch")
	data := disk("data.raw", agent.DefaultDataLabel)

	iso := filepath.Join(dir, "env.iso")
	st, err := file.CreateFromPath(iso, 1<<20)
	require.NoError(t, err)
	ws := filepath.Join(dir, "ws")
	require.NoError(t, os.Mkdir(ws, 0o755))
	fs, err := iso9660.Create(st, 0, 0, 2048, ws)
	require.NoError(t, err)
	f, err := fs.OpenFile("/ovf-env.xml", os.O_CREATE|os.O_RDWR)
	require.NoError(t, err)
	_, err = f.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1" xmlns:ve="http://www.vmware.com/schema/ovfenv" oe:id="" ve:esxId="vm-7">
  <PropertySection>
    <Property oe:key="hostname" oe:value="envhost"/>
    <Property oe:key="ip0" oe:value="10.0.2.77/24"/>
    <Property oe:key="gateway" oe:value="10.0.2.2"/>
    <Property oe:key="dns" oe:value="10.0.2.3"/>
  </PropertySection>
</Environment>
`))
	require.NoError(t, err)
	require.NoError(t, fs.Finalize(iso9660.FinalizeOptions{}))
	require.NoError(t, st.Close())

	boot := func(t *testing.T, extra ...string) string {
		nonce := testutil.NewNonce()
		res := testutil.Boot(t, testutil.BootOptions{
			Kernel: kernel, Initrd: initrd, MemoryMB: 512, Timeout: 90 * time.Second,
			Append: "fogkit.nonce=" + nonce,
			Devices: append([]string{
				"-drive", "if=none,id=d0,format=raw,file=" + other, "-device", "virtio-blk-pci,drive=d0",
				"-drive", "if=none,id=d1,format=raw,file=" + data, "-device", "virtio-blk-pci,drive=d1",
				"-device", "virtio-rng-pci",
				// Not restrict=on: qemu's DHCP server then leaves out the
				// router and DNS options, which the test reads back. The
				// guest sends nothing but DHCP.
				"-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56",
			}, extra...),
			Marker: testutil.BootMarker(nonce),
		})
		console := strings.ReplaceAll(res.Console, "\r", "")
		lines := regexp.MustCompile(`(?m)^(setup .*|SETUP .*|NETWORK .*|HOSTNAME .*|RESOLV .*|DATA.*)$`).FindAllString(console, -1)
		for _, l := range lines {
			t.Log(l)
		}
		console = strings.Join(lines, "\n")
		require.NotContains(t, console, "SETUP error=")
		require.Contains(t, console, "DATAWRITE write=<nil> unmount=<nil>")
		var d agent.DataDisk
		m := regexp.MustCompile(`(?m)^DATA (\{.*\})$`).FindStringSubmatch(console)
		require.NotNil(t, m)
		require.NoError(t, json.Unmarshal([]byte(m[1]), &d))
		require.Equal(t, "/dev/vdb", d.Device, "the labelled disk, not the first one")
		require.Equal(t, agent.DefaultDataLabel, d.Label)
		out, err := exec.Command(e2fsck, "-fn", data).CombinedOutput()
		require.NoError(t, err, "e2fsck after the guest wrote:\n%s", out)
		out, err = exec.Command(debugfs, "-R", "cat /setup-ok", data).Output()
		require.NoError(t, err)
		hostname := regexp.MustCompile(`(?m)^HOSTNAME (\S+)$`).FindStringSubmatch(console)
		require.NotNil(t, hostname)
		require.Equal(t, hostname[1]+"\n", string(out), "the guest's file is on the data disk")
		return console
	}
	network := func(console string) agent.NetworkConfig {
		var n agent.NetworkConfig
		m := regexp.MustCompile(`(?m)^NETWORK (\{.*\})$`).FindStringSubmatch(console)
		require.NotNil(t, m)
		require.NoError(t, json.Unmarshal([]byte(m[1]), &n))
		return n
	}

	t.Run("dhcp", func(t *testing.T) {
		c := boot(t)
		n := network(c)
		require.Equal(t, agent.SourceDHCP, n.Source)
		require.Equal(t, "10.0.2.15/24", n.Address.String())
		require.Equal(t, "10.0.2.2", n.Gateway.String())
		require.Positive(t, n.LeaseTime)
		require.Contains(t, c, "HOSTNAME fogkit-setup-test-123456")
		require.Contains(t, c, `nameserver 10.0.2.3`)
	})
	t.Run("ovf-env", func(t *testing.T) {
		c := boot(t, "-drive", "file="+iso+",format=raw,media=cdrom,if=ide,index=2,readonly=on")
		n := network(c)
		require.Equal(t, agent.SourceOVFEnv, n.Source)
		require.Equal(t, "10.0.2.77/24", n.Address.String())
		require.Contains(t, c, "HOSTNAME envhost")
		require.Contains(t, c, "setup ovf-env:  ok /dev/sr0, 4 properties")
	})
}
