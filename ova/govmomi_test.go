package ova

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmware/govmomi/vapi/library"
)

// govmomi's manifest reader (what govc uses to check OVF/OVA manifests
// against vSphere's upload checksums) reads every line of our .mf with the
// digests Write computed.
func TestGovmomiReadsManifest(t *testing.T) {
	_, res := buildOVA(t, nil)
	sums, err := library.ReadManifest(bytes.NewReader(res.Manifest))
	require.NoError(t, err)
	n := 0
	for _, e := range res.Entries {
		if e.Kind != KindFile && e.Kind != KindDescriptor {
			continue
		}
		n++
		require.Contains(t, sums, e.Name)
		assert.Equal(t, "SHA256", sums[e.Name].Algorithm)
		assert.Equal(t, e.Digest, sums[e.Name].Checksum, e.Name)
	}
	assert.Len(t, sums, n)
}
