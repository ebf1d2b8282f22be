package appliance_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/appliance"
	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/rootfs"
)

// TestDefaultModulesClosureGolden pins what DefaultModules bring into the
// initramfs from Debian's 6.1 generic kernel: the named drivers and
// everything they depend on, in load order. A new 6.1 point release keeps
// the same list; a change means a driver gained or lost a dependency, which
// deserves a look (regenerate with -update).
func TestDefaultModulesClosureGolden(t *testing.T) {
	kernel, modDir, release := testutil.DriverKernel(t)
	if kernel == "" {
		return
	}
	if !strings.HasPrefix(release, "6.1.") {
		t.Skipf("the golden list is for Debian's 6.1 kernels, not %s", release)
	}
	mods, err := rootfs.New(&rootfs.Options{AllowNoInit: true}).AddModules(context.Background(), os.DirFS(modDir),
		appliance.DefaultModules, &rootfs.ModuleOptions{Release: release})
	require.NoError(t, err)
	var b strings.Builder
	for _, m := range mods {
		b.WriteString(m.Name + "\n")
	}
	testutil.Golden(t, "default-modules-6.1.golden", []byte(b.String()))
}
