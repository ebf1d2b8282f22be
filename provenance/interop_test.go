package provenance_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"testing"
	"time"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	attestation "github.com/in-toto/attestation/go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/fogkit/fogkit/provenance"
	"github.com/fogkit/fogkit/sign"
)

// The in-toto attestation library's own protobuf types read our statement
// strictly (protojson refuses unknown fields) and its validators accept
// the Statement and the SLSA Provenance v1 predicate.
func TestInteropInTotoAttestation(t *testing.T) {
	st, err := provenance.Statement(testInput(testOutputs()))
	require.NoError(t, err)

	var s attestation.Statement
	require.NoError(t, protojson.Unmarshal(st, &s))
	require.NoError(t, s.Validate())
	assert.Equal(t, provenance.StatementType, s.GetType())
	assert.Equal(t, provenance.PredicateType, s.GetPredicateType())
	require.Len(t, s.GetSubject(), 4)
	for _, sub := range s.GetSubject() {
		f, ok := testOutputs()[sub.GetName()]
		require.True(t, ok, sub.GetName())
		assert.Equal(t, sha(f.Data), sub.GetDigest())
	}

	pj, err := protojson.Marshal(s.GetPredicate())
	require.NoError(t, err)
	var p slsa.Provenance
	require.NoError(t, protojson.Unmarshal(pj, &p))
	require.NoError(t, p.Validate())
	bd, rd := p.GetBuildDefinition(), p.GetRunDetails()
	assert.Equal(t, provenance.ApplianceBuildType, bd.GetBuildType())
	assert.Equal(t, "1.2.3", bd.GetExternalParameters().GetFields()["parameters"].GetStructValue().GetFields()["version"].GetStringValue())
	assert.Equal(t, "gzip", bd.GetInternalParameters().GetFields()["compression"].GetStringValue())
	var deps []string
	for _, d := range bd.GetResolvedDependencies() {
		require.NoError(t, d.Validate())
		deps = append(deps, d.GetName())
	}
	assert.Equal(t, []string{"app", "init", "kernel", "loader"}, deps)
	assert.Equal(t, "file:///assets/vmlinuz", bd.GetResolvedDependencies()[2].GetUri())
	assert.Equal(t, "https://fogkit.dev/fogkit@v0.9.0", rd.GetBuilder().GetId())
	assert.Equal(t, "build-42", rd.GetMetadata().GetInvocationId())
	assert.Equal(t, time.Unix(1_700_000_000, 0).UTC(), rd.GetMetadata().GetStartedOn().AsTime())
	assert.Equal(t, time.Unix(1_700_000_000, 0).UTC(), rd.GetMetadata().GetFinishedOn().AsTime())
}

// ed25519Verifier is a dsse.Verifier over a bare Ed25519 public key, as a
// third party would write it: a plain signature over the PAE bytes the
// library hands it.
type ed25519Verifier struct {
	pub   ed25519.PublicKey
	keyID string
}

func (v ed25519Verifier) Verify(_ context.Context, data, sig []byte) error {
	if !ed25519.Verify(v.pub, data, sig) {
		return errors.New("ed25519: bad signature")
	}
	return nil
}
func (v ed25519Verifier) KeyID() (string, error)   { return v.keyID, nil }
func (v ed25519Verifier) Public() crypto.PublicKey { return v.pub }

type ed25519Signer struct {
	ed25519Verifier
	priv ed25519.PrivateKey
}

func (s ed25519Signer) Sign(_ context.Context, data []byte) ([]byte, error) {
	return ed25519.Sign(s.priv, data), nil
}

// The DSSE reference library verifies our envelope with nothing but the
// public key and its fogkit key id (the library matches the envelope's
// keyid against the verifier's), and an envelope it signs itself is byte
// for byte ours.
func TestInteropDSSE(t *testing.T) {
	ctx := t.Context()
	key := testKey(t, 1)
	env := testEnvelope(t, key)

	var e dsse.Envelope
	require.NoError(t, json.Unmarshal(env, &e))
	ev, err := dsse.NewEnvelopeVerifier(ed25519Verifier{pub: key.Public().Key(), keyID: key.KeyID()})
	require.NoError(t, err)
	accepted, err := ev.Verify(ctx, &e)
	require.NoError(t, err)
	require.Len(t, accepted, 1)
	assert.Equal(t, key.KeyID(), accepted[0].KeyID)
	assert.Equal(t, provenance.PayloadType, e.PayloadType)

	// Another key fails there too, with or without our key id.
	other := testKey(t, 2)
	ev, err = dsse.NewEnvelopeVerifier(ed25519Verifier{pub: other.Public().Key(), keyID: key.KeyID()})
	require.NoError(t, err)
	_, err = ev.Verify(ctx, &e)
	require.Error(t, err)
	ev, err = dsse.NewEnvelopeVerifier(ed25519Verifier{pub: other.Public().Key()})
	require.NoError(t, err)
	_, err = ev.Verify(ctx, &e)
	require.Error(t, err)

	// The library's signer with the same raw key makes the same envelope.
	st, err := provenance.Statement(testInput(testOutputs()))
	require.NoError(t, err)
	es, err := dsse.NewEnvelopeSigner(ed25519Signer{ed25519Verifier{key.Public().Key(), key.KeyID()}, key.PrivateKey()})
	require.NoError(t, err)
	theirs, err := es.SignPayload(ctx, provenance.PayloadType, st)
	require.NoError(t, err)
	b, err := json.Marshal(theirs)
	require.NoError(t, err)
	assert.Equal(t, string(bytes.TrimSuffix(env, []byte("\n"))), string(b))
	p, err := provenance.Verify(ctx, bytes.NewReader(b), testRing(t, key), nil)
	require.NoError(t, err)
	assert.Equal(t, key.KeyID(), p.KeyID)

	// sign.PAE is the library's PAE.
	assert.Equal(t, dsse.PAE(provenance.PayloadType, st), sign.PAE(provenance.PayloadType, st))
}
