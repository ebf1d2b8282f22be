package license

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fogkit/fogkit/sign"
	"github.com/stretchr/testify/require"
)

// Every single-byte change of a small license file, to every other value,
// must fail before the license is accepted.
func TestTamperEveryByte(t *testing.T) {
	s := seedKey(t, 1, sign.PurposeLicense)
	r := ring(t, s.Public(), seedKey(t, 2, sign.PurposeLicense).Public())
	data := mustEncode(t, smallLicense(), s)
	o := &VerifyOptions{Now: clock(t0.Add(time.Hour))}
	_, err := Verify(t.Context(), bytes.NewReader(data), r, "p", o)
	require.NoError(t, err)
	buf := make([]byte, len(data))
	tried := 0
	for i := range data {
		for v := 0; v < 256; v++ {
			if byte(v) == data[i] {
				continue
			}
			copy(buf, data)
			buf[i] = byte(v)
			st, err := Verify(t.Context(), bytes.NewReader(buf), r, "p", o)
			if err == nil || st != nil {
				t.Fatalf("byte %d changed from %q to %q: status %v, err %v", i, data[i], byte(v), st, err)
			}
			tried++
		}
	}
	t.Logf("%d-byte file, %d variants rejected", len(data), tried)
}

func TestEveryTruncationFails(t *testing.T) {
	s := seedKey(t, 1, sign.PurposeLicense)
	r := ring(t, s.Public())
	data := mustEncode(t, smallLicense(), s)
	o := &VerifyOptions{Now: clock(t0.Add(time.Hour))}
	for n := 0; n < len(data); n++ {
		st, err := Verify(t.Context(), bytes.NewReader(data[:n]), r, "p", o)
		require.Error(t, err, "truncated to %d bytes", n)
		require.Nil(t, st)
		require.ErrorIs(t, err, ErrMalformed, "truncated to %d bytes", n)
	}
}

func TestTrailingDataPolicy(t *testing.T) {
	s := seedKey(t, 1, sign.PurposeLicense)
	r := ring(t, s.Public())
	data := mustEncode(t, smallLicense(), s)
	o := &VerifyOptions{Now: clock(t0.Add(time.Hour))}
	for _, tail := range []string{"\n", "\r\n", "  \t\n\n", " "} {
		_, err := Verify(t.Context(), bytes.NewReader(append(bytes.Clone(data), tail...)), r, "p", o)
		require.NoError(t, err, "trailing %q is allowed", tail)
	}
	for _, tail := range []string{"x", "\n#", "\x00", "\n-----BEGIN FOGKIT LICENSE-----\n", "\v"} {
		_, err := Verify(t.Context(), bytes.NewReader(append(bytes.Clone(data), tail...)), r, "p", o)
		require.ErrorIs(t, err, ErrMalformed, "trailing %q", tail)
	}
	// CRLF line endings (a Windows editor) are accepted.
	crlf := bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n"))
	_, err := Verify(t.Context(), bytes.NewReader(crlf), r, "p", o)
	require.NoError(t, err)
	// Text before the first block is not.
	_, err = Verify(t.Context(), bytes.NewReader(append([]byte("license:\n"), data...)), r, "p", o)
	require.ErrorIs(t, err, ErrMalformed)
	// Neither is re-wrapped base64.
	rewrapped := bytes.Replace(data, []byte("\n"), nil, 1)
	rewrapped = bytes.Replace(rewrapped, []byte("-----"), []byte("-----\n"), 1)
	_, err = Verify(t.Context(), bytes.NewReader(rewrapped), r, "p", o)
	require.Error(t, err)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// infinite yields a valid license followed by endless whitespace-free junk.
type infinite struct{ prefix []byte }

func (f *infinite) Read(p []byte) (int, error) {
	n := copy(p, f.prefix)
	f.prefix = f.prefix[n:]
	for i := n; i < len(p); i++ {
		p[i] = 'A'
	}
	return len(p), nil
}

func TestSizeCap(t *testing.T) {
	s := seedKey(t, 1, sign.PurposeLicense)
	r := ring(t, s.Public())
	data := mustEncode(t, smallLicense(), s)
	for _, src := range []io.Reader{
		io.LimitReader(&infinite{prefix: data}, 10<<20),
		bytes.NewReader(bytes.Repeat([]byte("A"), 10<<20)),
	} {
		cr := &countingReader{r: src}
		st, err := Verify(t.Context(), cr, r, "p", nil)
		require.ErrorIs(t, err, ErrTooLarge)
		require.Nil(t, st)
		// The cap, plus the one probe byte that tells "exactly the cap"
		// from "more".
		require.LessOrEqual(t, cr.n, int64(DefaultMaxSize)+1)

		cr = &countingReader{r: io.LimitReader(&infinite{}, 10<<20)}
		_, err = InspectUnverified(cr)
		require.ErrorIs(t, err, ErrTooLarge)
		require.LessOrEqual(t, cr.n, int64(DefaultMaxSize)+1)
	}
	// A smaller cap applies too.
	cr := &countingReader{r: bytes.NewReader(data)}
	_, err := Verify(t.Context(), cr, r, "p", &VerifyOptions{MaxSize: 100})
	require.ErrorIs(t, err, ErrTooLarge)
	require.LessOrEqual(t, cr.n, int64(101))
}

// resign rebuilds a file with the given headers and signature.
func rebuild(t *testing.T, data []byte, keyID, alg string, sig []byte) []byte {
	t.Helper()
	u, err := InspectUnverified(bytes.NewReader(data))
	require.NoError(t, err)
	return writeFile(keyID, alg, u.Payload, sig)
}

func TestKeyFailures(t *testing.T) {
	signer := seedKey(t, 1, sign.PurposeLicense)
	other := seedKey(t, 2, sign.PurposeLicense)
	updSameKey := seedKey(t, 1, sign.PurposeUpdate)
	upd := seedKey(t, 3, sign.PurposeUpdate)
	data := mustEncode(t, smallLicense(), signer)
	u, err := InspectUnverified(bytes.NewReader(data))
	require.NoError(t, err)
	o := &VerifyOptions{Now: clock(t0.Add(time.Hour))}

	// Made with encode (no purpose check) by an update-purpose key.
	byUpdate, err := encode(t.Context(), smallLicense(), upd)
	require.NoError(t, err)
	// Same private key, but signed for the update purpose (other prefix).
	byUpdateSameKey, err := encode(t.Context(), smallLicense(), updSameKey)
	require.NoError(t, err)
	require.Equal(t, signer.KeyID(), updSameKey.KeyID())

	revokedRing := ring(t, signer.Public())
	revokedRing.Revoke(signer.KeyID())

	cases := []struct {
		name      string
		file      []byte
		ring      *sign.Keyring
		want      error
		wantSign  error
		wantKeyID string
	}{
		{"wrong key", data, ring(t, other.Public()), ErrUnknownKey, sign.ErrUnknownKey, signer.KeyID()},
		{"no keyring", data, nil, ErrUnknownKey, sign.ErrUnknownKey, signer.KeyID()},
		{"unknown key id", rebuild(t, data, "00112233445566778899aabbccddeeff", "ed25519", u.Signature),
			ring(t, signer.Public(), other.Public()), ErrUnknownKey, sign.ErrUnknownKey, "00112233445566778899aabbccddeeff"},
		{"key id swapped to another known key", rebuild(t, data, other.KeyID(), "ed25519", u.Signature),
			ring(t, signer.Public(), other.Public()), ErrBadSignature, sign.ErrBadSignature, other.KeyID()},
		{"signature without the prefix", rebuild(t, data, signer.KeyID(), "ed25519", ed25519.Sign(signer.PrivateKey(), u.Payload)),
			ring(t, signer.Public()), ErrBadSignature, sign.ErrBadSignature, signer.KeyID()},
		{"short signature", rebuild(t, data, signer.KeyID(), "ed25519", u.Signature[:63]),
			ring(t, signer.Public()), ErrBadSignature, sign.ErrBadSignature, signer.KeyID()},
		{"update-purpose key on the ring", byUpdate, ring(t, signer.Public(), upd.Public()), ErrWrongPurpose, sign.ErrWrongPurpose, upd.KeyID()},
		{"update-purpose key not on the ring", byUpdate, ring(t, signer.Public()), ErrUnknownKey, sign.ErrUnknownKey, upd.KeyID()},
		{"update-purpose signature, license key", byUpdateSameKey, ring(t, signer.Public()), ErrBadSignature, sign.ErrBadSignature, signer.KeyID()},
		{"revoked key", data, revokedRing, ErrRevoked, sign.ErrRevoked, signer.KeyID()},
		{"other algorithm", rebuild(t, data, signer.KeyID(), "x509", u.Signature), ring(t, signer.Public()), ErrUnsupported, sign.ErrUnsupported, signer.KeyID()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := Verify(t.Context(), bytes.NewReader(c.file), c.ring, "p", o)
			require.Nil(t, st)
			require.ErrorIs(t, err, c.want)
			require.ErrorIs(t, err, c.wantSign)
			var ke *KeyError
			require.ErrorAs(t, err, &ke)
			require.Equal(t, c.wantKeyID, ke.KeyID)
		})
	}

	// The two Key-Id headers must agree.
	mixed := strings.Replace(string(data), "Key-Id: "+signer.KeyID(), "Key-Id: "+other.KeyID(), 1)
	_, err = Verify(t.Context(), strings.NewReader(mixed), ring(t, signer.Public(), other.Public()), "p", o)
	require.ErrorIs(t, err, ErrMalformed)
}

func TestPayloadStrictness(t *testing.T) {
	s := seedKey(t, 1, sign.PurposeLicense)
	r := ring(t, s.Public())
	o := &VerifyOptions{Now: clock(t0.Add(time.Hour))}
	signed := func(payload string) []byte {
		sig, err := s.Sign(t.Context(), []byte(payload))
		require.NoError(t, err)
		return writeFile(s.KeyID(), "ed25519", []byte(payload), sig)
	}
	base := `"id":"l1","sequence":0,"product":"p","customer":{"id":"c","name":""},"issuedAt":"2026-01-01T00:00:00Z","notBefore":"2026-01-01T00:00:00Z","seats":0`
	// The same license in Encode's layout verifies; compact JSON does not.
	canonical, err := marshalPayload((&License{ID: "l1", Product: "p", Customer: Customer{ID: "c"}, IssuedAt: t0}).normalized())
	require.NoError(t, err)
	_, err = Verify(t.Context(), bytes.NewReader(signed(string(canonical))), r, "p", o)
	require.NoError(t, err)
	_, err = Verify(t.Context(), bytes.NewReader(signed(`{"format":1,`+base+`}`)), r, "p", o)
	require.ErrorIs(t, err, ErrMalformed)

	for name, c := range map[string]struct {
		payload string
		want    error
	}{
		"unknown field":   {`{"format":1,` + base + `,"admin":true}`, ErrMalformed},
		"format 2":        {`{"format":2,` + base + `}`, ErrUnsupported},
		"format 0":        {`{"format":0,` + base + `}`, ErrUnsupported},
		"no format":       {`{` + base + `}`, ErrMalformed},
		"trailing object": {`{"format":1,` + base + `}{}`, ErrMalformed},
		"trailing junk":   {`{"format":1,` + base + `} x`, ErrMalformed},
		"not an object":   {`[1]`, ErrMalformed},
		"null":            {`null`, ErrMalformed},
		"bad seats":       {`{"format":1,` + strings.Replace(base, `"seats":0`, `"seats":-1`, 1) + `}`, ErrMalformed},
		"bad grace":       {`{"format":1,` + base + `,"gracePeriod":5}`, ErrMalformed},
		"unsorted":        {`{"format":1,` + base + `,"features":["b","a"]}`, ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			st, err := Verify(t.Context(), bytes.NewReader(signed(c.payload)), r, "p", o)
			require.ErrorIs(t, err, c.want)
			require.Nil(t, st)
		})
	}
}

// check is a table of semantic outcomes at fixed clocks.
func TestSemanticChecks(t *testing.T) {
	s := seedKey(t, 1, sign.PurposeLicense)
	r := ring(t, s.Public())
	full := mustEncode(t, fullLicense(), s) // not before t0+1h, expires 2027-01-01, 14 days grace
	perpetual := fullLicense()
	perpetual.ExpiresAt = nil
	perp := mustEncode(t, perpetual, s)

	cases := []struct {
		name    string
		file    []byte
		product string
		o       *VerifyOptions
		want    error
		inGrace bool
	}{
		{"valid", full, "acme-appliance", opts(t0.Add(2 * time.Hour)), nil, false},
		{"perpetual far future", perp, "acme-appliance", opts(expires.AddDate(50, 0, 0)), nil, false},
		{"not yet valid", full, "acme-appliance", opts(t0), ErrNotYetValid, false},
		{"not before within skew", full, "acme-appliance", opts(t0.Add(time.Hour - 4*time.Minute)), nil, false},
		{"not before, no skew", full, "acme-appliance",
			&VerifyOptions{Now: clock(t0.Add(time.Hour - time.Second)), Skew: -1, InstanceID: "inst-7f3a"}, ErrNotYetValid, false},
		{"last second", full, "acme-appliance", opts(expires.Add(-time.Nanosecond)), nil, false},
		{"grace starts", full, "acme-appliance", opts(expires), nil, true},
		{"in grace", full, "acme-appliance", opts(expires.Add(13 * 24 * time.Hour)), nil, true},
		{"grace over", full, "acme-appliance", opts(expires.Add(14 * 24 * time.Hour)), ErrExpired, false},
		{"long expired", full, "acme-appliance", opts(expires.AddDate(3, 0, 0)), ErrExpired, false},
		{"wrong product", full, "other", opts(t0.Add(2 * time.Hour)), ErrWrongProduct, false},
		{"empty product", full, "", opts(t0.Add(2 * time.Hour)), ErrWrongProduct, false},
		{"wrong instance", full, "acme-appliance", &VerifyOptions{Now: clock(t0.Add(2 * time.Hour)), InstanceID: "inst-0000"}, ErrWrongInstance, false},
		{"no instance given", full, "acme-appliance", &VerifyOptions{Now: clock(t0.Add(2 * time.Hour))}, ErrWrongInstance, false},
		{"unbound license, any instance", mustEncode(t, smallLicense(), s), "p", &VerifyOptions{Now: clock(t0), InstanceID: "whatever"}, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := Verify(t.Context(), bytes.NewReader(c.file), r, c.product, c.o)
			require.NotNil(t, st, "an authentic license always gets a status")
			require.NotNil(t, st.License)
			require.Equal(t, s.KeyID(), st.KeyID)
			if c.want == nil {
				require.NoError(t, err)
				require.True(t, st.Valid)
			} else {
				require.ErrorIs(t, err, c.want)
				require.False(t, st.Valid)
			}
			require.Equal(t, c.inGrace, st.InGrace)
		})
	}

	// Error details.
	st, err := Verify(t.Context(), bytes.NewReader(full), r, "acme-appliance", opts(expires.AddDate(0, 1, 0)))
	var te *TimeError
	require.ErrorAs(t, err, &te)
	require.Equal(t, expires.Add(14*24*time.Hour), te.Bound)
	require.Equal(t, expires.AddDate(0, 1, 0), te.Now)
	days, ok := st.DaysUntilExpiry()
	require.True(t, ok)
	require.Equal(t, -31, days)
	require.Negative(t, st.Remaining)
	require.Negative(t, st.GraceRemaining)

	_, err = Verify(t.Context(), bytes.NewReader(full), r, "other", opts(t0.Add(2*time.Hour)))
	var pe *ProductError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, ProductError{Want: "other", Got: "acme-appliance"}, *pe)

	_, err = Verify(t.Context(), bytes.NewReader(full), r, "acme-appliance", &VerifyOptions{Now: clock(t0.Add(2 * time.Hour)), InstanceID: "i2"})
	var ie *InstanceError
	require.ErrorAs(t, err, &ie)
	require.Equal(t, InstanceError{Want: "i2", Got: "inst-7f3a"}, *ie)

	st, err = Verify(t.Context(), bytes.NewReader(perp), r, "acme-appliance", opts(t0.Add(2*time.Hour)))
	require.NoError(t, err)
	require.True(t, st.Perpetual)
	_, ok = st.DaysUntilExpiry()
	require.False(t, ok)
}

func TestStateGuards(t *testing.T) {
	s := seedKey(t, 1, sign.PurposeLicense)
	r := ring(t, s.Public())
	lic := func(seq uint64, id string) []byte {
		l := fullLicense()
		l.Sequence, l.ID = seq, id
		return mustEncode(t, l, s)
	}
	v := func(store Store, file []byte, now time.Time) (*Status, error) {
		o := opts(now)
		o.State = store
		return Verify(t.Context(), bytes.NewReader(file), r, "acme-appliance", o)
	}
	day := 24 * time.Hour
	now := t0.Add(10 * day)

	t.Run("records and never lowers", func(t *testing.T) {
		st := NewMemoryStore(State{})
		_, err := v(st, lic(5, "a"), now)
		require.NoError(t, err)
		got, _ := st.Load(t.Context())
		require.Equal(t, State{LastSeen: now, Sequences: map[string]uint64{"cust-42": 5}}, got)

		// Superseded: lower sequence, same customer.
		sts, err := v(st, lic(4, "b"), now.Add(day))
		require.ErrorIs(t, err, ErrSuperseded)
		var se *SequenceError
		require.ErrorAs(t, err, &se)
		require.Equal(t, SequenceError{Customer: "cust-42", Sequence: 4, Highest: 5}, *se)
		require.NotNil(t, sts)
		require.False(t, sts.Valid)
		// Same and higher sequences are fine; the higher one raises the mark.
		_, err = v(st, lic(5, "a"), now.Add(day))
		require.NoError(t, err)
		_, err = v(st, lic(9, "c"), now.Add(2*day))
		require.NoError(t, err)
		_, err = v(st, lic(5, "a"), now.Add(2*day))
		require.ErrorIs(t, err, ErrSuperseded)

		// Clock rollback beyond the skew.
		_, err = v(st, lic(9, "c"), now)
		require.ErrorIs(t, err, ErrClockRollback)
		var te *TimeError
		require.ErrorAs(t, err, &te)
		require.Equal(t, now.Add(2*day), te.Bound)
		// Within the skew: accepted, but the checks use the last time seen.
		sts, err = v(st, lic(9, "c"), now.Add(2*day-time.Minute))
		require.NoError(t, err)
		require.Equal(t, now.Add(2*day), sts.Now)

		got, _ = st.Load(t.Context())
		require.Equal(t, State{LastSeen: now.Add(2 * day), Sequences: map[string]uint64{"cust-42": 9}}, got,
			"failed and rolled-back verifications never lower the state")

		// Revoked ids.
		require.NoError(t, Revoke(t.Context(), st, "c"))
		_, err = v(st, lic(9, "c"), now.Add(3*day))
		require.ErrorIs(t, err, ErrRevoked)
		var re *RevokedError
		require.ErrorAs(t, err, &re)
		require.Equal(t, "c", re.LicenseID)
		_, err = v(st, lic(10, "d"), now.Add(3*day))
		require.NoError(t, err)
	})

	t.Run("rollback cannot revive an expired license", func(t *testing.T) {
		st := NewMemoryStore(State{})
		_, err := v(st, lic(1, "a"), expires.AddDate(0, 2, 0))
		require.ErrorIs(t, err, ErrExpired)
		_, err = v(st, lic(1, "a"), now)
		require.ErrorIs(t, err, ErrClockRollback)
	})

	t.Run("not-yet-valid renewal does not supersede the current license", func(t *testing.T) {
		st := NewMemoryStore(State{})
		renewal := fullLicense()
		renewal.Sequence, renewal.ID = 7, "renewal"
		renewal.NotBefore = expires
		e := expires.AddDate(1, 0, 0)
		renewal.ExpiresAt = &e
		_, err := v(st, mustEncode(t, renewal, s), now)
		require.ErrorIs(t, err, ErrNotYetValid)
		_, err = v(st, lic(3, "cur"), now)
		require.NoError(t, err)
	})

	t.Run("store failures", func(t *testing.T) {
		bad := failingStore{err: errors.New("disk on fire")}
		sts, err := v(bad, lic(1, "a"), now)
		require.ErrorIs(t, err, ErrState)
		require.NotNil(t, sts)
		require.False(t, sts.Valid)
	})
}

type failingStore struct{ err error }

func (f failingStore) Load(context.Context) (State, error)         { return State{}, f.err }
func (f failingStore) Merge(context.Context, State) (State, error) { return State{}, f.err }

func TestStateMerge(t *testing.T) {
	a := State{LastSeen: t0.Add(time.Hour), Sequences: map[string]uint64{"x": 3, "y": 1}, Revoked: []string{"r2"}}
	b := State{LastSeen: t0, Sequences: map[string]uint64{"x": 2, "z": 7}, Revoked: []string{"r1", "r2"}}
	want := State{LastSeen: t0.Add(time.Hour), Sequences: map[string]uint64{"x": 3, "y": 1, "z": 7}, Revoked: []string{"r1", "r2"}}
	require.Equal(t, want, a.Merge(b))
	require.Equal(t, want, b.Merge(a))
	require.Equal(t, State{LastSeen: t0.Add(time.Hour), Sequences: map[string]uint64{"x": 3, "y": 1}, Revoked: []string{"r2"}}, a, "inputs untouched")
	require.True(t, want.IsRevoked("r1"))
	require.False(t, want.IsRevoked("r3"))
}

func TestVerifyCanceled(t *testing.T) {
	s := seedKey(t, 1, sign.PurposeLicense)
	data := mustEncode(t, smallLicense(), s)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	st, err := Verify(ctx, bytes.NewReader(data), ring(t, s.Public()), "p", nil)
	require.ErrorIs(t, err, context.Canceled)
	require.Nil(t, st)
	require.ErrorIs(t, Encode(ctx, io.Discard, smallLicense(), s), context.Canceled)
}

// TestPayloadCanonical: a signed payload that encoding/json reads as a valid
// license but that is not the exact bytes Encode writes is refused, so no
// other JSON parser can read the signed bytes differently.
func TestPayloadCanonical(t *testing.T) {
	s := seedKey(t, 1, sign.PurposeLicense)
	r := ring(t, s.Public())
	o := &VerifyOptions{Now: clock(t0.Add(time.Hour))}
	signed := func(payload []byte) []byte {
		sig, err := s.Sign(t.Context(), payload)
		require.NoError(t, err)
		return writeFile(s.KeyID(), "ed25519", payload, sig)
	}
	canonical, err := marshalPayload(smallLicense().normalized())
	require.NoError(t, err)
	st, err := Verify(t.Context(), bytes.NewReader(signed(canonical)), r, "p", o)
	require.NoError(t, err)
	require.True(t, st.Valid)
	require.Contains(t, string(canonical), "\n  \"product\": \"p\",\n")

	for name, payload := range map[string]string{
		// encoding/json keeps the last of duplicate keys; other parsers
		// keep the first.
		"duplicate key": strings.Replace(string(canonical), "\n  \"product\": \"p\",", "\n  \"product\": \"other\",\n  \"product\": \"p\",", 1),
		// encoding/json matches keys case-insensitively.
		"case-variant key": strings.Replace(string(canonical), "\"product\":", "\"Product\":", 1),
		// \u0070 is "p": the same key to a decoder, other bytes to a
		// signature.
		"escaped key name": strings.Replace(string(canonical), "\"product\":", "\"\\u0070roduct\":", 1),
	} {
		t.Run(name, func(t *testing.T) {
			require.NotEqual(t, string(canonical), payload)
			st, err := Verify(t.Context(), bytes.NewReader(signed([]byte(payload))), r, "p", o)
			require.ErrorIs(t, err, ErrMalformed)
			require.Nil(t, st)
			require.Contains(t, err.Error(), "canonical")
			u, err := InspectUnverified(bytes.NewReader(signed([]byte(payload))))
			require.ErrorIs(t, err, ErrMalformed)
			require.Nil(t, u.License)
		})
	}
}
