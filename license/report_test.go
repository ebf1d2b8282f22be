package license_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/license"
)

func TestOutcome(t *testing.T) {
	for _, tc := range []struct {
		st   *license.Status
		err  error
		want string
	}{
		{&license.Status{Valid: true}, nil, "valid"},
		{&license.Status{Valid: true, InGrace: true}, nil, "grace"},
		{&license.Status{}, fmt.Errorf("x: %w", license.ErrExpired), "expired"},
		{&license.Status{}, license.ErrWrongProduct, "invalid"},
		{nil, errors.New("no file"), "invalid"},
	} {
		assert.Equal(t, tc.want, license.Outcome(tc.st, tc.err))
	}
}

func TestWriteStatus(t *testing.T) {
	issued := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	expires := issued.AddDate(1, 0, 0)
	l := &license.License{ID: "lic-1", Sequence: 2, Format: 1, Product: "P", Customer: license.Customer{ID: "C1", Name: "Acme"},
		IssuedAt: issued, NotBefore: issued, ExpiresAt: &expires, GracePeriod: license.Days(14), Seats: 5,
		Features: []string{"sso", "backup"}, Limits: map[string]int64{"nodes": 3, "gb": 10}, InstanceID: "i1", Trial: true,
		Metadata: map[string]string{"po": "PO-1"}}
	st := &license.Status{License: l, KeyID: "k1", Now: issued.AddDate(0, 6, 0), Valid: true,
		Remaining: 184 * 24 * time.Hour, GraceRemaining: 198 * 24 * time.Hour}
	var b bytes.Buffer
	require.NoError(t, license.WriteStatus(&b, st, license.Outcome(st, nil)))
	assert.Equal(t, `status:     valid
key:        k1
checked at: 2026-07-01T00:00:00Z
remaining:  184 days (4416h0m0s), with grace 4752h0m0s
license:    lic-1 (sequence 2, format 1)
product:    P
customer:   C1 (Acme)
issued:     2026-01-01T00:00:00Z
valid from: 2026-01-01T00:00:00Z
expires at: 2027-01-01T00:00:00Z (grace 14d)
updates:    all
seats:      5
features:   sso, backup
limit:      gb=10
limit:      nodes=3
instance:   i1
trial:      yes
meta:       po="PO-1"
`, b.String())

	// A perpetual license and a failing writer.
	st.Perpetual, l.ExpiresAt = true, nil
	b.Reset()
	require.NoError(t, license.WriteStatus(&b, st, "valid"))
	assert.Contains(t, b.String(), "expires:    never\n")
	assert.NotContains(t, b.String(), "remaining:")
	assert.ErrorIs(t, license.WriteStatus(failWriter{}, st, "valid"), errFail)
	assert.ErrorIs(t, license.WriteLicense(failWriter{}, l), errFail)
}

var errFail = errors.New("write failed")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errFail }
