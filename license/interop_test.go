package license

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/sign"
	"github.com/stretchr/testify/require"
)

// extract pulls the payload and signature out of x.lic with awk, sed and
// base64 -d alone, builds prefix ‖ payload with printf and cat, and lets
// openssl verify it.
const extractScript = `set -e
block() { awk -v b="-----BEGIN $1-----" -v e="-----END $1-----" '$0==e{p=0} p{print} $0==b{p=1}' x.lic | sed '1,/^$/d'; }
block 'FOGKIT LICENSE' | base64 -d > payload.json
block 'FOGKIT LICENSE SIGNATURE' | base64 -d > sig.bin
printf 'fogkit-license-v1\000' > msg.bin
cat payload.json >> msg.bin
openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in msg.bin -sigfile sig.bin
`

func TestOpenSSLVerifiesOurSignature(t *testing.T) {
	sh := testutil.RequireTool(t, "sh")
	testutil.RequireTool(t, "openssl")
	testutil.RequireTool(t, "base64")
	testutil.RequireTool(t, "awk")
	dir := t.TempDir()
	s := seedKey(t, 1, sign.PurposeLicense)
	data := mustEncode(t, fullLicense(), s)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x.lic"), data, 0o644))
	der, err := x509.MarshalPKIXPublicKey(s.Public().Key())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pub.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644))

	out := testutil.MustRun(t, dir, nil, sh, "-c", extractScript)
	require.Contains(t, string(out), "Signature Verified Successfully")

	// The shell extracted exactly the signed payload: readable JSON.
	u, err := InspectUnverified(bytes.NewReader(data))
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(dir, "payload.json"))
	require.NoError(t, err)
	require.Equal(t, u.Payload, got)
	require.Contains(t, string(got), `"customer": {`)

	// Without the prefix, openssl rejects the signature too.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "msg.bin"), got, 0o644))
	r := testutil.Run(t, dir, nil, "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg.bin", "-sigfile", "sig.bin")
	require.NotEqual(t, 0, r.ExitCode)
	require.Contains(t, string(r.Stdout)+string(r.Stderr), "Signature Verification Failure")

	// A tampered file fails in openssl as in Verify.
	tampered := strings.Replace(string(data), "ewogICJmb3JtYXQiOiAxLAogICJpZCI6ICJsaWMtMDAw", "ewogICJmb3JtYXQiOiAxLAogICJpZCI6ICJsaWMtMDAx", 1)
	require.NotEqual(t, string(data), tampered)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x.lic"), []byte(tampered), 0o644))
	r = testutil.Run(t, dir, nil, sh, "-c", extractScript)
	require.NotEqual(t, 0, r.ExitCode)
}

// The other direction: openssl makes the key and the signature over
// prefix ‖ payload; Verify accepts the file built from them.
func TestVerifyOpenSSLSignature(t *testing.T) {
	testutil.RequireTool(t, "openssl")
	dir := t.TempDir()
	testutil.MustRun(t, dir, nil, "openssl", "genpkey", "-algorithm", "ed25519", "-out", "key.pem")
	testutil.MustRun(t, dir, nil, "openssl", "pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem")

	payload, err := marshalPayload(fullLicense().normalized())
	require.NoError(t, err)
	msg := append(sign.PurposeLicense.Prefix(), payload...)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "msg.bin"), msg, 0o644))
	testutil.MustRun(t, dir, nil, "openssl", "pkeyutl", "-sign", "-inkey", "key.pem", "-rawin", "-in", "msg.bin", "-out", "sig.bin")
	sig, err := os.ReadFile(filepath.Join(dir, "sig.bin"))
	require.NoError(t, err)

	pubPEM, err := os.ReadFile(filepath.Join(dir, "pub.pem"))
	require.NoError(t, err)
	blk, _ := pem.Decode(pubPEM)
	require.NotNil(t, blk)
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	require.NoError(t, err)
	key, err := sign.NewEd25519PublicKey(pub.(ed25519.PublicKey), sign.PurposeLicense)
	require.NoError(t, err)

	file := writeFile(key.KeyID(), "ed25519", payload, sig)
	st, err := Verify(t.Context(), bytes.NewReader(file), ring(t, key), "acme-appliance", opts(t0.Add(2*time.Hour)))
	require.NoError(t, err)
	require.Equal(t, fullLicense(), st.License)
}
