package provenance_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/provenance"
	"github.com/fogkit/fogkit/sign"
)

// testKey is a provenance key from a fixed seed, so envelopes in tests
// and examples are the same bytes every run.
func testKey(t testing.TB, seed byte) *sign.Ed25519Signer {
	t.Helper()
	s, err := sign.NewEd25519Signer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)), sign.PurposeProvenance)
	require.NoError(t, err)
	return s
}

func testRing(t testing.TB, keys ...*sign.Ed25519Signer) *sign.Keyring {
	t.Helper()
	var pubs []sign.PublicKey
	for _, k := range keys {
		pubs = append(pubs, k.Public())
	}
	ring, err := sign.NewKeyring(pubs...)
	require.NoError(t, err)
	return ring
}

func sha(b []byte) map[string]string {
	s := sha256.Sum256(b)
	return map[string]string{"sha256": hex.EncodeToString(s[:])}
}

// testOutputs is a small build directory.
func testOutputs() fstest.MapFS {
	return fstest.MapFS{
		"acme.ova":        {Data: []byte("ova bytes")},
		"acme-disk1.vmdk": {Data: bytes.Repeat([]byte("disk"), 300_000)},
		"sbom.spdx.json":  {Data: []byte(`{"spdxVersion":"SPDX-2.3"}`)},
		"nested/acme.iso": {Data: []byte("iso")},
	}
}

func testInput(fsys fstest.MapFS) *provenance.Input {
	in := &provenance.Input{
		BuildType: provenance.ApplianceBuildType,
		BuilderID: "https://fogkit.dev/fogkit@v0.9.0",
		ExternalParameters: map[string]any{
			"spec":       map[string]any{"name": "appliance.yaml", "digest": sha([]byte("spec"))},
			"parameters": map[string]any{"name": "acme", "version": "1.2.3", "cpus": 2, "memoryMiB": 2048, "formats": []string{"ova", "iso"}},
		},
		InternalParameters: struct {
			Compression string `json:"compression"`
			Workers     int    `json:"workers"`
		}{"gzip", 0},
		Dependencies: []provenance.Dependency{
			{Name: "kernel", URI: "file:///assets/vmlinuz", Digest: sha([]byte("kernel"))},
			{Name: "loader", Digest: sha([]byte("loader"))},
			{Name: "app", Digest: sha([]byte("app tree"))},
			{Name: "init", Digest: sha([]byte("init"))},
		},
		StartedOn:    time.Unix(1_700_000_000, 0),
		FinishedOn:   time.Unix(1_700_000_000, 0),
		InvocationID: "build-42",
	}
	for name, f := range fsys {
		in.Subjects = append(in.Subjects, provenance.Subject{Name: name, Digest: sha(f.Data)})
	}
	return in
}

// testEnvelope returns a signed envelope over testInput(testOutputs()).
func testEnvelope(t testing.TB, key *sign.Ed25519Signer) []byte {
	t.Helper()
	st, err := provenance.Statement(testInput(testOutputs()))
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, provenance.Sign(t.Context(), &buf, st, key, nil))
	return buf.Bytes()
}
