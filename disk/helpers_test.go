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

// testInitrds are the boot tests' initrds, built with the rootfs package:
// a gzip base archive with /dev/console, /proc and /sys, and an
// uncompressed overlay with the test /init, so every loader must pass both
// (in order) for the boot to reach the marker. With noInit there is no
// overlay (negative control).
func testInitrds(t *testing.T, noInit bool) [][]byte {
	t.Helper()
	initMu.Lock()
	if initBin == nil {
		initBin = testutil.BuildStaticInit(t, testutil.TestInitPackage)
	}
	bin := initBin
	initMu.Unlock()
	base := rootfs.New(&rootfs.Options{Compression: rootfs.CompressGzip, AllowNoInit: true})
	for _, d := range []string{"/dev", "/proc", "/sys"} {
		require.NoError(t, base.Add(rootfs.Entry{Path: d, Type: rootfs.TypeDir, Mode: 0o755}))
	}
	require.NoError(t, base.Add(rootfs.Entry{Path: "/dev/console", Type: rootfs.TypeChar, Mode: 0o600, Major: 5, Minor: 1}))
	var b1 bytes.Buffer
	_, err := base.WriteTo(&b1)
	require.NoError(t, err)
	if noInit {
		return [][]byte{b1.Bytes()}
	}
	overlay := rootfs.New(&rootfs.Options{OmitParents: true})
	require.NoError(t, overlay.AddFile(rootfs.Entry{Path: "/init", Mode: 0o755}, bin))
	var b2 bytes.Buffer
	_, err = overlay.WriteTo(&b2)
	require.NoError(t, err)
	return [][]byte{b1.Bytes(), b2.Bytes()}
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

// minimalStub is a tiny well-formed PE32+ EFI application (one .text
// section holding "ret"): enough for the UKI builder's parser.
func minimalStub() []byte {
	le := binary.LittleEndian
	b := make([]byte, 0x400)
	copy(b, "MZ")
	le.PutUint32(b[0x3c:], 0x40)
	copy(b[0x40:], "PE\x00\x00")
	coff := b[0x44:]
	le.PutUint16(coff[0:], 0x8664)
	le.PutUint16(coff[2:], 1)    // sections
	le.PutUint16(coff[16:], 240) // optional header size
	le.PutUint16(coff[18:], 0x206)
	opt := b[0x58:]
	le.PutUint16(opt[0:], 0x20b)
	le.PutUint32(opt[4:], 0x200)   // SizeOfCode
	le.PutUint32(opt[16:], 0x1000) // entry point
	le.PutUint32(opt[20:], 0x1000) // BaseOfCode
	le.PutUint32(opt[32:], 0x1000) // SectionAlignment
	le.PutUint32(opt[36:], 0x200)  // FileAlignment
	le.PutUint32(opt[56:], 0x2000) // SizeOfImage
	le.PutUint32(opt[60:], 0x200)  // SizeOfHeaders
	le.PutUint16(opt[68:], 10)     // EFI application
	le.PutUint32(opt[108:], 16)    // data directories
	sec := b[0x58+240:]
	copy(sec, ".text")
	le.PutUint32(sec[8:], 1)       // VirtualSize
	le.PutUint32(sec[12:], 0x1000) // VirtualAddress
	le.PutUint32(sec[16:], 0x200)  // SizeOfRawData
	le.PutUint32(sec[20:], 0x200)  // PointerToRawData
	le.PutUint32(sec[36:], 0x60000020)
	b[0x200] = 0xc3
	return b
}
