package ova

import (
	"bytes"
	"testing"
	"time"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/stretchr/testify/require"
)

// The exact bytes of a small signed OVA (fixed key, inputs and time) are
// pinned in testdata: any change to the layout, headers, manifest or .cert
// shows up here. Regenerate with `go test ./ova -run Golden -update` after
// checking the change.
func TestGolden(t *testing.T) {
	files := []File{
		vmdkFile("golden-disk1.vmdk", testutil.TextBytes(3, 3000)),
		vmdkFile("golden-disk2.vmdk", testutil.RandomBytes(4, 1025)),
	}
	var b bytes.Buffer
	_, err := Write(t.Context(), &b, testDescriptor("golden", files), files, &Options{
		Name: "golden", ModTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Signer: testSigner(t)})
	require.NoError(t, err)
	testutil.Golden(t, "golden.ova", b.Bytes())
	_, err = Verify(t.Context(), bytes.NewReader(b.Bytes()), nil)
	require.NoError(t, err)
}
