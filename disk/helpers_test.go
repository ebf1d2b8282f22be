package disk

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/stretchr/testify/require"
)

// Host assets (Debian paths).
const (
	systemdBootEFI = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"
	ukiStub        = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
	gptmbrBin      = "/usr/lib/SYSLINUX/gptmbr.bin"
)

// fakeKernel is a few bytes that pass the kernel sniffing: an MZ/PE header
// and the bzImage "HdrS" magic, followed by filler.
func fakeKernel(n int) []byte {
	b := testutil.RandomBytes(7, n)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x80)
	copy(b[0x80:], "PE\x00\x00")
	copy(b[0x202:], "HdrS")
	return b
}

var (
	initMu  sync.Mutex
	initBin []byte
)

// testInitramfs is a gzip initramfs built with the rootfs package holding
// the test /init; with noInit the archive lacks /init (negative control).
func testInitramfs(t *testing.T, noInit bool) []byte {
	t.Helper()
	initMu.Lock()
	if initBin == nil {
		initBin = testutil.BuildStaticInit(t, testutil.TestInitPackage)
	}
	bin := initBin
	initMu.Unlock()
	b := rootfs.New(&rootfs.Options{Compression: rootfs.CompressGzip, AllowNoInit: noInit})
	for _, d := range []string{"/dev", "/proc", "/sys"} {
		require.NoError(t, b.Add(rootfs.Entry{Path: d, Type: rootfs.TypeDir, Mode: 0o755}))
	}
	require.NoError(t, b.Add(rootfs.Entry{Path: "/dev/console", Type: rootfs.TypeChar, Mode: 0o600, Major: 5, Minor: 1}))
	if noInit {
		require.NoError(t, b.AddFile(rootfs.Entry{Path: "/notinit", Mode: 0o644}, []byte("nothing to run\n")))
	} else {
		require.NoError(t, b.AddFile(rootfs.Entry{Path: "/init", Mode: 0o755}, bin))
	}
	var buf bytes.Buffer
	_, err := b.WriteTo(&buf)
	require.NoError(t, err)
	return buf.Bytes()
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func fileSHA(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return sha(b)
}
