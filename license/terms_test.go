package license_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/license"
)

func TestParseTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2027-12-31", time.Date(2027, 12, 31, 0, 0, 0, 0, time.UTC)},
		{"2027-12-31T10:00:00+02:00", time.Date(2027, 12, 31, 8, 0, 0, 0, time.UTC)},
		{"1767225600", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		got, err := license.ParseTime(tc.in)
		require.NoError(t, err, tc.in)
		assert.True(t, tc.want.Equal(got), "%s: %v", tc.in, got)
		assert.Equal(t, time.UTC, got.Location(), tc.in)
	}
	for _, bad := range []string{"", "yesterday", "2027-13-01", "31.12.2027", "-9223372036854775808", "253402300800"} {
		_, err := license.ParseTime(bad)
		assert.Error(t, err, bad)
	}
}

func TestParseFeaturesLimitsMetadata(t *testing.T) {
	assert.Equal(t, []string{"sso", "backup"}, license.ParseFeatures(" sso, ,backup,"))
	assert.Nil(t, license.ParseFeatures(""))

	limits, err := license.ParseLimits([]string{"nodes=3", "gb=-1"})
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"nodes": 3, "gb": -1}, limits)
	limits, err = license.ParseLimits(nil)
	require.NoError(t, err)
	assert.Nil(t, limits)
	for _, bad := range []string{"nodes", "nodes=", "nodes=three"} {
		_, err := license.ParseLimits([]string{bad})
		assert.ErrorContains(t, err, "want name=integer", bad)
	}

	meta, err := license.ParseMetadata([]string{"po=PO-1", "note=a=b"})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"po": "PO-1", "note": "a=b"}, meta)
	_, err = license.ParseMetadata([]string{"po"})
	assert.ErrorContains(t, err, "want key=value")
}

func TestDerivedID(t *testing.T) {
	l := &license.License{Product: "P", Customer: license.Customer{ID: "C1"}, Sequence: 1, IssuedAt: time.Unix(1767225600, 0)}
	id := l.DerivedID()
	assert.Regexp(t, `^lic-[0-9a-f]{16}$`, id)
	assert.Equal(t, id, l.DerivedID(), "deterministic")
	l.Sequence = 2
	assert.NotEqual(t, id, l.DerivedID())
}
