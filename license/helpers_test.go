package license

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/fogkit/fogkit/sign"
	"github.com/stretchr/testify/require"
)

// Fixed test keys: seeds, not secrets.
func seedKey(t testing.TB, seed byte, purpose sign.Purpose) *sign.Ed25519Signer {
	t.Helper()
	s, err := sign.NewEd25519Signer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)), purpose)
	require.NoError(t, err)
	return s
}

func ring(t testing.TB, keys ...sign.PublicKey) *sign.Keyring {
	t.Helper()
	r, err := sign.NewKeyring(keys...)
	require.NoError(t, err)
	return r
}

var (
	t0      = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	expires = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	updates = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
)

// fullLicense sets every field.
func fullLicense() *License {
	exp, upd := expires, updates
	return &License{
		Format:       FormatVersion,
		ID:           "lic-0001",
		Sequence:     3,
		Product:      "acme-appliance",
		Customer:     Customer{ID: "cust-42", Name: "Example Corp <ops> & \"friends\" ✓"},
		IssuedAt:     t0,
		NotBefore:    t0.Add(time.Hour),
		ExpiresAt:    &exp,
		GracePeriod:  Days(14),
		UpdatesUntil: &upd,
		Trial:        true,
		Seats:        25,
		Features:     []string{"backup", "ha", "sso"},
		Limits:       map[string]int64{"nodes": 5, "storage_gib": 2048},
		InstanceID:   "inst-7f3a",
		Metadata:     map[string]string{"order": "PO-1234", "note": "multi\nline"},
	}
}

// smallLicense is minimal, for exhaustive tampering.
func smallLicense() *License {
	exp := expires
	return &License{ID: "l1", Product: "p", Customer: Customer{ID: "c"}, IssuedAt: t0, ExpiresAt: &exp}
}

func mustEncode(t testing.TB, l *License, s sign.Signer) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, Encode(context.Background(), &b, l, s))
	return b.Bytes()
}

func clock(t time.Time) func() time.Time { return func() time.Time { return t } }

func opts(now time.Time) *VerifyOptions {
	return &VerifyOptions{Now: clock(now), InstanceID: "inst-7f3a"}
}
