package ext4_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/ext4"
	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/rootfs"
)

// TestLinuxMountsAndWritesAFormattedDisk is the kernel's judgement: the
// generic Linux 6.1 kernel boots with a Format'ed image as a writable
// virtio disk, mounts it read-write, writes files and a directory,
// syncs and unmounts; then e2fsck on the host must find nothing to fix
// and debugfs must see what the guest wrote.
func TestLinuxMountsAndWritesAFormattedDisk(t *testing.T) {
	e2fsck := testutil.RequireTool(t, "e2fsck")
	debugfs := testutil.RequireTool(t, "debugfs")
	kernel, modDir, release := testutil.DriverKernel(t)
	if kernel == "" {
		return
	}
	b := rootfs.New(nil)
	require.NoError(t, b.AddFile(rootfs.Entry{Path: "/init", Mode: 0o755}, testutil.BuildStaticInit(t, testutil.TestInitPackage)))
	_, err := b.AddModules(t.Context(), os.DirFS(modDir), []string{"virtio_pci", "virtio_blk", "ext4", "crc32c_generic"},
		&rootfs.ModuleOptions{Release: release})
	require.NoError(t, err)
	dir := t.TempDir()
	initrd := filepath.Join(dir, "initrd.img")
	var buf bytes.Buffer
	_, err = b.WriteTo(&buf)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(initrd, buf.Bytes(), 0o644))

	// vda: a 1 GiB sparse file, Format relying on zeros. vdb: 64 MiB of
	// 0xFF bytes formatted with NotZeroed, so the kernel zeroes the inode
	// tables itself.
	const size = 1 << 30
	img := filepath.Join(dir, "data.img")
	f, err := os.Create(img)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(size))
	_, err = ext4.Format(t.Context(), f, size, testOpts())
	require.NoError(t, err)
	require.NoError(t, f.Close())
	const dirtySize = 64 << 20
	dirtyOpts := testOpts()
	dirtyOpts.NotZeroed = true
	dirty := newMem(dirtySize)
	copy(dirty.b, bytes.Repeat([]byte{0xFF}, dirtySize))
	_, err = ext4.Format(t.Context(), dirty, dirtySize, dirtyOpts)
	require.NoError(t, err)
	dirtyImg := filepath.Join(dir, "dirty.img")
	require.NoError(t, os.WriteFile(dirtyImg, dirty.b, 0o644))

	nonce := testutil.NewNonce()
	res := testutil.Boot(t, testutil.BootOptions{
		Kernel: kernel, Initrd: initrd, MemoryMB: 512,
		Append: fmt.Sprintf("fogkit.modules=2,0 fogkit.ext4=/dev/vda,/dev/vdb fogkit.nonce=%s", nonce),
		Devices: []string{"-drive", "file=" + img + ",if=virtio,format=raw",
			"-drive", "file=" + dirtyImg + ",if=virtio,format=raw"},
		Marker: testutil.BootMarker(nonce),
	})
	console := strings.ReplaceAll(res.Console, "\r", "")
	require.Contains(t, console, "EXT4 /dev/vda ok", console)
	require.Contains(t, console, "EXT4 /dev/vdb ok", console)
	require.Contains(t, console, "EXT4-fs (vda): mounted filesystem", console)
	require.Contains(t, console, "EXT4-fs (vdb): mounted filesystem", console)
	require.NotContains(t, console, "EXT4-fs error", console)
	require.NotContains(t, console, "EXT4-fs warning", console)

	for _, p := range []string{img, dirtyImg} {
		r := testutil.Run(t, "", nil, e2fsck, "-fn", p)
		require.Zero(t, r.ExitCode, "e2fsck on %s after the kernel wrote:\n%s%s", filepath.Base(p), r.Stdout, r.Stderr)
		ls := string(testutil.MustRun(t, "", nil, debugfs, "-R", "ls -l /notes", p))
		require.Contains(t, ls, "note-with-a-long-name-199.txt")
	}
	ls := string(testutil.MustRun(t, "", nil, debugfs, "-R", "ls -l /notes", img))
	require.Contains(t, ls, "note-with-a-long-name-199.txt")
	require.Contains(t, ls, "big.bin")
	cat := string(testutil.MustRun(t, "", nil, debugfs, "-R", "cat /hello.txt", img))
	require.Equal(t, "hello from the guest\n", cat)
	// The kernel wrote: this is no longer what Format writes.
	g, err := os.Open(img)
	require.NoError(t, err)
	defer g.Close()
	_, err = ext4.Verify(t.Context(), g, size, testOpts())
	require.ErrorIs(t, err, ext4.ErrMismatch)
	info, err := ext4.Probe(g)
	require.NoError(t, err)
	require.Equal(t, "fogkit-data", info.Label)
}
