package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type mountCall struct{ source, target, fstype, data string }

func recordMounts(calls *[]mountCall, fail string) mounter {
	return func(source, target, fstype string, flags uintptr, data string) error {
		if fstype == "tmpfs" && (flags&msNosuid == 0 || flags&msNodev == 0 || strings.Contains(data, "nosuid")) {
			return errors.New("tmpfs takes nosuid and nodev as flags, and refuses them as options")
		}
		*calls = append(*calls, mountCall{source, target, fstype, data})
		if fstype == fail {
			return errors.New("no such device")
		}
		return nil
	}
}

func TestMountSystemMountsAllOnABareRoot(t *testing.T) {
	root := t.TempDir()
	var calls []mountCall
	require.NoError(t, mountSystem(root, recordMounts(&calls, "")))
	var targets []string
	for _, c := range calls {
		targets = append(targets, c.target)
		require.DirExists(t, c.target)
	}
	j := func(p string) string { return filepath.Join(root, p) }
	require.Equal(t, []string{j("proc"), j("sys"), j("dev"), j("run"), j("tmp")}, targets)
	require.Equal(t, "devtmpfs", calls[2].fstype)
	require.Equal(t, "tmpfs", calls[3].fstype)
}

// Already mounted file systems are left alone: proc (its mountinfo is
// there), and whatever mountinfo lists, with escaped paths.
func TestMountSystemIsIdempotent(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "proc", "self"), 0o755))
	info := "22 1 0:21 / " + filepath.Join(root, "sys") + " rw,nosuid shared:7 - sysfs sysfs rw\n" +
		"23 1 0:5 / " + filepath.Join(root, "dev") + " rw - devtmpfs udev rw,size=1k\n" +
		"24 1 0:6 / /some\\040place rw - tmpfs tmpfs rw\n" +
		"garbage line\n"
	require.NoError(t, os.WriteFile(filepath.Join(root, "proc", "self", "mountinfo"), []byte(info), 0o644))
	var calls []mountCall
	require.NoError(t, mountSystem(root, recordMounts(&calls, "")))
	require.Equal(t, []mountCall{
		{"tmpfs", filepath.Join(root, "run"), "tmpfs", "mode=0755"},
		{"tmpfs", filepath.Join(root, "tmp"), "tmpfs", "mode=1777"},
	}, calls)
	m, err := mountPoints(filepath.Join(root, "proc", "self", "mountinfo"))
	require.NoError(t, err)
	require.True(t, m["/some place"], "octal escapes undone")
}

func TestMountSystemReportsEachFailureAndGoesOn(t *testing.T) {
	var calls []mountCall
	err := mountSystem(t.TempDir(), recordMounts(&calls, "tmpfs"))
	require.ErrorIs(t, err, ErrMount)
	var me *MountError
	require.ErrorAs(t, err, &me)
	require.Equal(t, "tmpfs", me.FSType)
	require.Len(t, calls, 5, "a failure does not stop the other mounts")
}
