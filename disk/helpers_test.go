package disk

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
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

// newcEntry is one member of a test initramfs.
type newcEntry struct {
	name  string
	mode  uint32
	data  []byte
	major uint32
	minor uint32
}

// newc writes a tiny cpio newc archive (test only: the rootfs package is
// the real writer).
func newc(entries []newcEntry) []byte {
	var b bytes.Buffer
	pad := func() {
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
	}
	write := func(ino int, e newcEntry) {
		nlink := 1
		if e.mode&0o170000 == 0o040000 {
			nlink = 2
		}
		fmt.Fprintf(&b, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, e.mode, 0, 0, nlink, 0, len(e.data), 0, 0, e.major, e.minor, len(e.name)+1, 0)
		b.WriteString(e.name)
		b.WriteByte(0)
		pad()
		b.Write(e.data)
		pad()
	}
	for i, e := range entries {
		write(i+1, e)
	}
	write(0, newcEntry{name: "TRAILER!!!"})
	for b.Len()%512 != 0 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

var (
	initOnce sync.Mutex
	initBin  []byte
)

// testInitramfs is an uncompressed initramfs with the test /init; with
// noInit the archive lacks /init (negative control).
func testInitramfs(t *testing.T, noInit bool) []byte {
	t.Helper()
	initOnce.Lock()
	if initBin == nil {
		initBin = testutil.BuildStaticInit(t, testutil.TestInitPackage)
	}
	bin := initBin
	initOnce.Unlock()
	ents := []newcEntry{
		{name: "dev", mode: 0o040755},
		{name: "dev/console", mode: 0o020600, major: 5, minor: 1},
		{name: "proc", mode: 0o040755},
		{name: "sys", mode: 0o040755},
	}
	if !noInit {
		ents = append(ents, newcEntry{name: "init", mode: 0o100755, data: bin})
	} else {
		ents = append(ents, newcEntry{name: "notinit", mode: 0o100644, data: []byte("nothing to run\n")})
	}
	return newc(ents)
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
