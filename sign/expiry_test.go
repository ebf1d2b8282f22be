package sign

import (
	"bytes"
	"crypto"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpenPGPClock: without a clock, an OpenPGP key's validity is judged at
// the signature's time only, so a signature backdated into an expired key's
// lifetime verifies; WithClock refuses keys expired by the clock's time and
// checks a signature's own expiry against it.
func TestOpenPGPClock(t *testing.T) {
	ctx := t.Context()
	msg := []byte("manifest")
	s, err := GenerateOpenPGP("exp", "exp@example.com", PurposeUpdate, &OpenPGPOptions{Time: testTime, Lifetime: 24 * time.Hour, Rand: seeded(42)})
	require.NoError(t, err)
	backdated := signPGPAt(t, s, msg, testTime.Add(time.Hour))
	at := func(d time.Duration) func() time.Time { return func() time.Time { return testTime.Add(d) } }

	_, err = s.Public().Verify(ctx, msg, backdated)
	require.NoError(t, err, "judged at signature time")
	_, err = s.Public().WithClock(at(2*time.Hour)).Verify(ctx, msg, backdated)
	require.NoError(t, err, "clock inside the lifetime")
	_, err = s.Public().WithClock(at(25*time.Hour)).Verify(ctx, msg, backdated)
	require.ErrorIs(t, err, ErrExpired)
	assert.Contains(t, err.Error(), "by the verifier's clock")
	_, err = s.Public().WithClock(time.Now).Verify(ctx, msg, backdated)
	require.ErrorIs(t, err, ErrExpired)
	_, err = s.Public().WithClock(at(25*time.Hour)).WithClock(nil).Verify(ctx, msg, backdated)
	require.NoError(t, err, "WithClock(nil) removes the clock")
	_, err = s.Public().WithClock(func() time.Time { return time.Time{} }).Verify(ctx, msg, backdated)
	require.ErrorIs(t, err, ErrMalformed, "a zero clock is a caller bug, not 'no clock'")
	ring, err := NewKeyring(s.Public().WithClock(at(25 * time.Hour)))
	require.NoError(t, err)
	_, err = ring.Verify(ctx, PurposeUpdate, msg, backdated)
	require.ErrorIs(t, err, ErrExpired)

	// A signature with its own one-hour expiry: only a clock can tell it
	// has expired.
	never := testPGP(t, 43, PurposeUpdate)
	pk := never.entity.PrimaryKey
	life := uint32(3600)
	sig := &packet.Signature{
		Version: pk.Version, SigType: packet.SigTypeBinary, PubKeyAlgo: pk.PubKeyAlgo, Hash: crypto.SHA256,
		CreationTime: testTime, SigLifetimeSecs: &life, IssuerKeyId: &pk.KeyId, IssuerFingerprint: pk.Fingerprint,
	}
	cfg := pgpConfig(testTime, false, nil)
	h, err := sig.PrepareSign(cfg)
	require.NoError(t, err)
	h.Write(msg)
	require.NoError(t, sig.Sign(h, never.entity.PrivateKey, cfg))
	var b bytes.Buffer
	w, err := armor.Encode(&b, pgpSignatureBlock, nil)
	require.NoError(t, err)
	require.NoError(t, sig.Serialize(w))
	require.NoError(t, w.Close())
	_, err = never.Public().Verify(ctx, msg, b.Bytes())
	require.NoError(t, err, "no clock: nothing depends on the verifier's time")
	_, err = never.Public().WithClock(func() time.Time { return testTime.Add(time.Minute) }).Verify(ctx, msg, b.Bytes())
	require.NoError(t, err)
	_, err = never.Public().WithClock(func() time.Time { return testTime.Add(2 * time.Hour) }).Verify(ctx, msg, b.Bytes())
	require.ErrorIs(t, err, ErrExpired)
}
