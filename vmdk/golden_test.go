package vmdk_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/vmdk"
	"github.com/stretchr/testify/require"
)

// TestGolden pins the descriptor text and the digests of two small VMDKs,
// so any change of the output bytes is deliberate (go test -update).
func TestGolden(t *testing.T) {
	v, res := toVMDK(t, mixed(77, 1<<20+4096), nil)
	var empty bytes.Buffer
	eres, err := vmdk.WriteEmpty(t.Context(), &empty, 20<<30, &vmdk.Options{FileName: "data.vmdk"})
	require.NoError(t, err)
	desc := bytes.TrimRight(v[512:21*512], "\x00")
	testutil.Golden(t, "descriptor.txt", desc)
	testutil.Golden(t, "digests.txt", fmt.Appendf(nil, "mixed-1MiB+4KiB %d %s %s\nempty-20GiB %d %s %s\n",
		res.Size, res.SHA256, res.CID, eres.Size, eres.SHA256, eres.CID))
}
