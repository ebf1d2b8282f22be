package sign_test

import (
	"context"
	"crypto/ed25519"
	"fmt"

	"github.com/fogkit/fogkit/sign"
)

// A provenance key signs DSSE envelopes: a plain Ed25519 signature over
// PAE, which any DSSE verifier checks with the bare public key.
func ExampleEd25519Signer_SignDSSE() {
	ctx := context.Background()
	key, _ := sign.NewEd25519Signer(ed25519.NewKeyFromSeed(make([]byte, 32)), sign.PurposeProvenance)
	payload := []byte(`{"_type":"https://in-toto.io/Statement/v1"}`)
	sig, _ := key.SignDSSE(ctx, "application/vnd.in-toto+json", payload)

	fmt.Printf("%s\n", sign.PAE("application/vnd.in-toto+json", payload))
	fmt.Println("plain ed25519:", ed25519.Verify(key.Public().Key(), sign.PAE("application/vnd.in-toto+json", payload), sig))
	ring, _ := sign.NewKeyring(key.Public())
	fmt.Println("keyring:", ring.VerifyDSSE(ctx, sign.PurposeProvenance, key.KeyID(), "application/vnd.in-toto+json", payload, sig))
	// Output:
	// DSSEv1 28 application/vnd.in-toto+json 43 {"_type":"https://in-toto.io/Statement/v1"}
	// plain ed25519: true
	// keyring: <nil>
}
