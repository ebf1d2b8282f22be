package testutil

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRandomBytesDeterministic(t *testing.T) {
	require.Equal(t, RandomBytes(7, 1001), RandomBytes(7, 1001))
	require.NotEqual(t, RandomBytes(7, 64), RandomBytes(8, 64))
	require.Len(t, TextBytes(1, 333), 333)
}

func TestDiskBytes(t *testing.T) {
	b := DiskBytes(5, 1<<20, 100<<10)
	require.Len(t, b, 1<<20)
	require.Equal(t, b, DiskBytes(5, 1<<20, 100<<10))
	require.NotEqual(t, b, DiskBytes(6, 1<<20, 100<<10))
	// The first stretch is text, the second random, the third zeros.
	first := 40<<10 + 5%(100<<10)
	require.Equal(t, TextBytes(5, first), b[:first])
	require.Contains(t, string(b), string(make([]byte, 40<<10)))
	require.Len(t, DiskBytes(1, 1000, 300<<10), 1000)
}

func TestRunEnv(t *testing.T) {
	sh := RequireTool(t, "sh")
	if sh == "" {
		return
	}
	r := RunEnv(t, t.TempDir(), []string{"FOGKIT_TEST_X=42"}, sh, "-c", `echo "$FOGKIT_TEST_X"; echo err >&2; exit 3`)
	require.Equal(t, "42\n", string(r.Stdout))
	require.Equal(t, "err\n", string(r.Stderr))
	require.Equal(t, 3, r.ExitCode)
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := WriteFile(t, dir, "x.bin", []byte("abc"))
	require.Equal(t, filepath.Join(dir, "x.bin"), p)
	got, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, "abc", string(got))
}

func TestTreeDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	fa := Tree(t, a, 3, &TreeOptions{Files: 20})
	fb := Tree(t, b, 3, &TreeOptions{Files: 20})
	require.Equal(t, fa, fb)
	for _, f := range fa {
		x, err := os.ReadFile(filepath.Join(a, f))
		require.NoError(t, err)
		y, err := os.ReadFile(filepath.Join(b, f))
		require.NoError(t, err)
		require.True(t, bytes.Equal(x, y), f)
	}
}

func TestBootNeedsMarker(t *testing.T) {
	_, err := BootE(t.Context(), "qemu-system-x86_64", t.TempDir(), BootOptions{})
	require.ErrorIs(t, err, ErrBootFailed)
}

// TestBootHarness proves the harness itself with an initramfs packed by GNU
// cpio, so that a failing rootfs boot test points at rootfs, not here.
func TestBootHarness(t *testing.T) {
	cpio := RequireTool(t, "cpio")
	kernel := TestKernel(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "dev"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "init"), BuildStaticInit(t, TestInitPackage), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "hello"), []byte("hi"), 0o644))
	list := "init\nhello\ndev\n"
	img := MustRun(t, root, []byte(list), cpio, "-o", "-H", "newc", "--quiet")
	initrd := filepath.Join(dir, "initrd")
	require.NoError(t, os.WriteFile(initrd, img, 0o644))

	nonce := NewNonce()
	res := Boot(t, BootOptions{Kernel: kernel, Initrd: initrd, Timeout: 180 * time.Second,
		Append: "rdinit=/init fogkit.nonce=" + nonce + " fogkit.cat=/hello fogkit.stat=/init",
		Marker: BootMarker(nonce)})
	require.Contains(t, res.Console, "CAT /hello hi")
	require.True(t, strings.Contains(res.Console, "STAT /init mode=100755"), res.Console)

	// A kernel panic (no /init at all) must end the boot early with the
	// console pattern, not by timeout.
	empty := MustRun(t, root, []byte("hello\n"), cpio, "-o", "-H", "newc", "--quiet")
	require.NoError(t, os.WriteFile(initrd, empty, 0o644))
	qemu := RequireTool(t, "qemu-system-x86_64")
	_, err := BootE(t.Context(), qemu, t.TempDir(), BootOptions{Kernel: kernel, Initrd: initrd,
		Append: "rdinit=/init", Marker: BootMarker(nonce), Timeout: 180 * time.Second})
	require.ErrorIs(t, err, ErrBootFailed)
	require.Contains(t, err.Error(), "Kernel panic")
}

// fakeQemu writes a script that ignores qemu's arguments and prints script
// output, so the harness's console handling is tested without a VM.
func fakeQemu(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "qemu")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755))
	return p
}

func TestBootPromptWithoutNewline(t *testing.T) {
	// OVMF's shell prompt ends without a newline; the harness must still
	// fail fast on it rather than wait for the timeout.
	qemu := fakeQemu(t, `printf 'UEFI Interactive Shell v2.2\nShell> '; sleep 60`)
	res, err := BootE(t.Context(), qemu, t.TempDir(), BootOptions{Kernel: "k", Initrd: "i", Marker: "never", Timeout: 50 * time.Second})
	require.ErrorIs(t, err, ErrBootFailed)
	require.Contains(t, err.Error(), `"Shell>"`)
	require.Less(t, res.Duration, 40*time.Second, "failed by timeout, not by the prompt")
}

func TestBootMarkerSplitAcrossReads(t *testing.T) {
	qemu := fakeQemu(t, `printf 'booting\nFOGKIT-BOOT-'; sleep 0.3; printf 'OK abc\n'; sleep 60`)
	res, err := BootE(t.Context(), qemu, t.TempDir(), BootOptions{Kernel: "k", Initrd: "i", Marker: BootMarker("abc"), Timeout: 50 * time.Second})
	require.NoError(t, err)
	require.Contains(t, res.Console, "FOGKIT-BOOT-OK abc")
}

func TestBootExitWithoutMarker(t *testing.T) {
	qemu := fakeQemu(t, `echo hello; exit 0`)
	res, err := BootE(t.Context(), qemu, t.TempDir(), BootOptions{Kernel: "k", Initrd: "i", Marker: "never", Timeout: 50 * time.Second})
	require.ErrorIs(t, err, ErrBootFailed)
	require.Contains(t, err.Error(), "without the marker")
	require.Contains(t, res.Console, "hello")
}

func TestBoundedCatchesRunawayAllocation(t *testing.T) {
	if os.Getenv(boundedEnv) == "" {
		// The parent checks that a child that allocates past its address
		// space fails, so Bounded really enforces the limit.
		cmd := exec.Command(os.Args[0], "-test.run=^TestBoundedHelperAllocates$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "FOGKIT_BOUNDED_SELFTEST=1")
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "bounded child failed") {
			t.Fatalf("a child allocating 8 GiB under a 1 GiB cap passed (err %v):\n%s", err, out)
		}
	}
}

func TestBoundedHelperAllocates(t *testing.T) {
	if os.Getenv("FOGKIT_BOUNDED_SELFTEST") == "" {
		return // run only as TestBoundedCatchesRunawayAllocation's child
	}
	Bounded(t, Bounds{AddressSpace: 1 << 30, MaxRSS: 512 << 20, CPU: 20 * time.Second}, func(t *testing.T) {
		b := make([]byte, 8<<30)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		t.Log(len(b))
	})
}

func TestBoundedPasses(t *testing.T) {
	Bounded(t, Bounds{}, func(t *testing.T) {
		b := make([]byte, 16<<20)
		t.Log(len(b))
	})
}
