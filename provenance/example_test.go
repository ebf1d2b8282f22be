package provenance_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"testing/fstest"
	"time"

	"github.com/fogkit/fogkit/provenance"
	"github.com/fogkit/fogkit/sign"
)

// A build records its outputs and inputs, signs the statement with the
// provenance key of its key directory (sign.KeySet.Provenance), and a
// customer verifies the envelope and the files against it.
func Example() {
	ctx := context.Background()
	// A fixed key for the example; a build uses sign.LoadKeyDir(dir).Provenance.
	key, _ := sign.NewEd25519Signer(ed25519.NewKeyFromSeed(make([]byte, 32)), sign.PurposeProvenance)

	outputs := fstest.MapFS{
		"acme.ova":       {Data: []byte("the appliance")},
		"sbom.spdx.json": {Data: []byte(`{"spdxVersion":"SPDX-2.3"}`)},
	}
	digest := func(b []byte) map[string]string {
		s := sha256.Sum256(b)
		return map[string]string{"sha256": hex.EncodeToString(s[:])}
	}
	epoch := time.Unix(1_700_000_000, 0)
	st, err := provenance.Statement(&provenance.Input{
		BuildType:          provenance.ApplianceBuildType,
		BuilderID:          "https://fogkit.dev/fogkit@v1",
		ExternalParameters: map[string]any{"spec": digest([]byte("appliance.yaml")), "name": "acme"},
		Dependencies:       []provenance.Dependency{{Name: "kernel", Digest: digest([]byte("vmlinuz"))}},
		Subjects: []provenance.Subject{
			{Name: "sbom.spdx.json", Digest: digest(outputs["sbom.spdx.json"].Data)},
			{Name: "acme.ova", Digest: digest(outputs["acme.ova"].Data)},
		},
		StartedOn:  epoch,
		FinishedOn: epoch,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var envelope bytes.Buffer
	if err := provenance.Sign(ctx, &envelope, st, key, nil); err != nil {
		fmt.Println(err)
		return
	}

	// The customer's side: the vendor's provenance.pub on a keyring.
	ring, _ := sign.NewKeyring(key.Public())
	p, err := provenance.Verify(ctx, &envelope, ring, &provenance.VerifyOptions{BuildType: provenance.ApplianceBuildType})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("signed by", p.KeyID, "with builder", p.BuilderID, "on", p.FinishedOn.Format(time.DateOnly))
	for _, s := range p.Subjects {
		fmt.Println("subject", s.Name)
	}
	fmt.Println("outputs:", p.CheckSubjects(ctx, outputs, nil))

	outputs["acme.ova"].Data[0] ^= 1
	err = p.CheckSubjects(ctx, outputs, nil)
	var se *provenance.SubjectError
	if errors.As(err, &se) {
		fmt.Println("tampered:", se.Name, errors.Is(err, provenance.ErrSubject))
	}
	// Output:
	// signed by 339e2ff917630507b6a423b5ce084e28 with builder https://fogkit.dev/fogkit@v1 on 2023-11-14
	// subject acme.ova
	// subject sbom.spdx.json
	// outputs: <nil>
	// tampered: acme.ova true
}

// Statement is canonical JSON: the same input gives the same bytes.
func ExampleStatement() {
	st, _ := provenance.Statement(&provenance.Input{
		BuildType:          provenance.ApplianceBuildType,
		BuilderID:          "https://fogkit.dev/fogkit@v1",
		ExternalParameters: map[string]any{"name": "acme"},
		Subjects:           []provenance.Subject{{Name: "acme.ova", Digest: map[string]string{"sha256": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}}},
	})
	fmt.Println(string(st))
	// Output:
	// {"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"acme.ova","digest":{"sha256":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"https://fogkit.dev/appliance-build/v1","externalParameters":{"name":"acme"}},"runDetails":{"builder":{"id":"https://fogkit.dev/fogkit@v1"}}}}
}
