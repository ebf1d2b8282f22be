package rootfs_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/stretchr/testify/require"
)

var epoch = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// The listings of real tools match golden files: types, modes, owners,
// sizes, mtime, rdev, link targets, nlink.
func TestListingsMatchGolden(t *testing.T) {
	t.Setenv("TZ", "UTC")
	t.Setenv("LC_ALL", "C")
	archive := buildSpec(t, &rootfs.Options{ModTime: epoch})
	path := filepath.Join(t.TempDir(), "spec.cpio")
	require.NoError(t, os.WriteFile(path, archive, 0o644))

	hs, _ := readAll(t, archive)
	testutil.Golden(t, "spec.list.golden", []byte(render(hs)))

	bsdtar := testutil.RequireTool(t, "bsdtar")
	testutil.Golden(t, "spec.bsdtar.golden", testutil.MustRun(t, "", nil, bsdtar, "-tvf", path))

	cpio := testutil.RequireTool(t, "cpio")
	archiveBytes, err := os.ReadFile(path)
	require.NoError(t, err)
	res := testutil.Run(t, "", archiveBytes, cpio, "-itv", "--numeric-uid-gid", "--quiet")
	require.Equal(t, 0, res.ExitCode, "cpio: %s", res.Stderr)
	testutil.Golden(t, "spec.cpio.golden", res.Stdout)
}
