package license

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/sign"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoundTripEveryField(t *testing.T) {
	s := seedKey(t, 1, sign.PurposeLicense)
	in := fullLicense()
	data := mustEncode(t, in, s)
	st, err := Verify(t.Context(), bytes.NewReader(data), ring(t, s.Public()), "acme-appliance", opts(t0.Add(48*time.Hour)))
	require.NoError(t, err)
	require.Equal(t, in, st.License)
	require.Equal(t, s.KeyID(), st.KeyID)
	require.True(t, st.Valid)
	require.False(t, st.InGrace)
	require.False(t, st.Perpetual)
	require.Equal(t, expires.Sub(t0.Add(48*time.Hour)), st.Remaining)
	require.Equal(t, expires.Add(14*24*time.Hour).Sub(t0.Add(48*time.Hour)), st.GraceRemaining)
	days, ok := st.DaysUntilExpiry()
	require.True(t, ok)
	require.Equal(t, 363, days)

	u, err := InspectUnverified(bytes.NewReader(data))
	require.NoError(t, err)
	require.Equal(t, in, u.License)
	require.Equal(t, s.KeyID(), u.KeyID)
	require.Equal(t, "ed25519", u.Algorithm)
	require.Len(t, u.Signature, 64)

	// The payload is plain, human-readable JSON.
	require.Contains(t, string(u.Payload), `"name": "Example Corp <ops> & \"friends\" ✓"`)
	require.Contains(t, string(u.Payload), `"gracePeriod": "14d"`)
}

func TestEncodeNormalizes(t *testing.T) {
	s := seedKey(t, 1, sign.PurposeLicense)
	paris := time.FixedZone("CET", 3600)
	in := &License{ID: "x", Product: "p", Customer: Customer{ID: "c"},
		IssuedAt: t0.In(paris), Features: []string{"b", "a", "b"}}
	before := *in
	data := mustEncode(t, in, s)
	require.Equal(t, before, *in, "Encode must not modify its input")
	u, err := InspectUnverified(bytes.NewReader(data))
	require.NoError(t, err)
	require.Equal(t, FormatVersion, u.License.Format)
	require.Equal(t, t0, u.License.IssuedAt)
	require.Equal(t, t0, u.License.NotBefore)
	require.Equal(t, []string{"a", "b"}, u.License.Features)
}

func TestEncodeDeterministic(t *testing.T) {
	s := seedKey(t, 1, sign.PurposeLicense)
	a := mustEncode(t, fullLicense(), s)
	b := mustEncode(t, fullLicense(), s)
	require.Equal(t, a, b)
}

func TestEncodeRefuses(t *testing.T) {
	lic := seedKey(t, 1, sign.PurposeLicense)
	upd := seedKey(t, 1, sign.PurposeUpdate)
	var b bytes.Buffer
	err := Encode(t.Context(), &b, fullLicense(), upd)
	require.ErrorIs(t, err, ErrWrongPurpose)
	require.ErrorIs(t, err, sign.ErrWrongPurpose)
	var ke *KeyError
	require.ErrorAs(t, err, &ke)
	require.Equal(t, upd.KeyID(), ke.KeyID)
	require.Zero(t, b.Len())

	require.ErrorIs(t, Encode(t.Context(), &b, fullLicense(), nil), ErrUnknownKey)
	require.ErrorIs(t, Encode(t.Context(), &b, nil, lic), ErrInvalid)

	bad := map[string]func(l *License){
		"format":      func(l *License) { l.Format = 2 },
		"id":          func(l *License) { l.ID = "" },
		"id space":    func(l *License) { l.ID = " x" },
		"product":     func(l *License) { l.Product = "" },
		"customer":    func(l *License) { l.Customer.ID = "" },
		"name utf8":   func(l *License) { l.Customer.Name = "\xff" },
		"name ctrl":   func(l *License) { l.Customer.Name = "a\x00b" },
		"issued":      func(l *License) { l.IssuedAt = time.Time{} },
		"expires":     func(l *License) { e := l.NotBefore; l.ExpiresAt = &e },
		"grace":       func(l *License) { l.GracePeriod = -1 },
		"seats":       func(l *License) { l.Seats = -1 },
		"feature":     func(l *License) { l.Features = []string{""} },
		"limit":       func(l *License) { l.Limits = map[string]int64{"": 1} },
		"meta key":    func(l *License) { l.Metadata = map[string]string{"": "x"} },
		"long id":     func(l *License) { l.ID = strings.Repeat("x", 257) },
		"instance sp": func(l *License) { l.InstanceID = "a " },
	}
	for name, mutate := range bad {
		t.Run(name, func(t *testing.T) {
			l := fullLicense()
			mutate(l)
			var b bytes.Buffer
			err := Encode(t.Context(), &b, l, lic)
			require.ErrorIs(t, err, ErrInvalid)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			require.Zero(t, b.Len())
		})
	}

	huge := fullLicense()
	huge.Metadata = map[string]string{"blob": strings.Repeat("x", DefaultMaxSize)}
	require.ErrorIs(t, Encode(t.Context(), &b, huge, lic), ErrTooLarge)
}

func TestHelpers(t *testing.T) {
	l := fullLicense()
	require.True(t, l.HasFeature("ha"))
	require.False(t, l.HasFeature("HA"))
	n, ok := l.Limit("nodes")
	require.True(t, ok)
	require.EqualValues(t, 5, n)
	_, ok = l.Limit("cpus")
	require.False(t, ok)

	require.NoError(t, l.CheckSeat(0))
	require.NoError(t, l.CheckSeat(24))
	err := l.CheckSeat(25)
	require.ErrorIs(t, err, ErrSeatLimit)
	var se *SeatError
	require.ErrorAs(t, err, &se)
	require.Equal(t, SeatError{Seats: 25, InUse: 25}, *se)
	l.Seats = 0
	require.NoError(t, l.CheckSeat(1_000_000), "0 seats means unlimited")

	require.True(t, l.CoversUpdate(updates))
	require.True(t, l.CoversUpdate(updates.Add(-time.Second)))
	require.False(t, l.CoversUpdate(updates.Add(time.Second)))
	l.UpdatesUntil = nil
	require.True(t, l.CoversUpdate(expires.AddDate(10, 0, 0)))

	for _, c := range []struct {
		now  time.Time
		days int
	}{
		{expires.Add(-48 * time.Hour), 2},
		{expires.Add(-36 * time.Hour), 1},
		{expires.Add(-time.Second), 0},
		{expires, 0},
		{expires.Add(time.Second), -1},
		{expires.Add(24 * time.Hour), -1},
		{expires.Add(25 * time.Hour), -2},
	} {
		d, ok := l.DaysUntilExpiry(c.now)
		require.True(t, ok)
		require.Equal(t, c.days, d, "at %s", c.now)
	}
	l.ExpiresAt = nil
	_, ok = l.DaysUntilExpiry(t0)
	require.False(t, ok)
	_, ok = l.GraceEnd()
	require.False(t, ok)
}

func TestDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"14d": 14 * 24 * time.Hour, "0d": 0, "36h": 36 * time.Hour, "90m": 90 * time.Minute, "1h30m": 90 * time.Minute,
	} {
		d, err := ParseDuration(in)
		require.NoError(t, err, in)
		require.Equal(t, want, time.Duration(d), in)
	}
	for _, in := range []string{"", "d", "1.5d", "+1d", "x", "14 d", "99999999999999d"} {
		_, err := ParseDuration(in)
		require.Error(t, err, in)
	}
	require.Equal(t, "14d", Days(14).String())
	require.Equal(t, "36h0m0s", Duration(36*time.Hour).String())
	require.Equal(t, "0s", Duration(0).String())

	var d Duration
	require.NoError(t, json.Unmarshal([]byte(`"2d"`), &d))
	require.Equal(t, Days(2), d)
	for _, bad := range []string{`2`, `null`, `"2x"`, `'2d'`} {
		require.Error(t, json.Unmarshal([]byte(bad), &d), bad)
	}
}

// The golden license was made from fixed seeds with -update; it must keep
// verifying with the committed public key, and encoding must keep making
// the same bytes.
func TestGolden(t *testing.T) {
	s := seedKey(t, 1, sign.PurposeLicense)
	testutil.Golden(t, "golden.lic", mustEncode(t, fullLicense(), s))
	der, err := x509.MarshalPKIXPublicKey(s.Public().Key())
	require.NoError(t, err)
	testutil.Golden(t, "license-pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))

	pubPEM, err := os.ReadFile(filepath.Join("testdata", "license-pub.pem"))
	require.NoError(t, err)
	key, err := sign.LoadPublicKey(pubPEM, sign.PurposeLicense)
	require.NoError(t, err)
	require.Equal(t, s.KeyID(), key.KeyID())
	f, err := os.Open(filepath.Join("testdata", "golden.lic"))
	require.NoError(t, err)
	defer f.Close()
	st, err := Verify(context.Background(), f, ring(t, key), "acme-appliance", opts(t0.Add(24*time.Hour)))
	require.NoError(t, err)
	assert.Equal(t, fullLicense(), st.License)
}

// TestEncodeTypedNilSigner: a typed nil signer is refused, not a panic.
func TestEncodeTypedNilSigner(t *testing.T) {
	var s *sign.Ed25519Signer
	require.NotPanics(t, func() {
		err := Encode(t.Context(), new(bytes.Buffer), &License{ID: "x", Product: "p",
			Customer: Customer{ID: "c", Name: "n"}, IssuedAt: time.Unix(1, 0)}, s)
		require.Error(t, err)
	})
}
