package ovf

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRoundTrip: Parse∘Marshal is stable on our output, and the model
// survives the trip.
func TestRoundTrip(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			first, err := MarshalBytes(tc.vs(), tc.opts)
			require.NoError(t, err)
			env, err := Parse(bytes.NewReader(first), nil)
			require.NoError(t, err)
			require.NoError(t, env.Validate(tc.opts))
			vs, err := env.VirtualSystem()
			require.NoError(t, err)
			second, err := MarshalBytes(vs, tc.opts)
			require.NoError(t, err)
			assert.Equal(t, string(first), string(second))

			want := tc.vs().normalized(tc.opts)
			got := vs.normalized(tc.opts)
			assert.Equal(t, want.Name, got.Name)
			assert.Equal(t, want.OS, got.OS)
			assert.Equal(t, want.Disks, got.Disks)
			assert.Equal(t, want.NICs, got.NICs)
			assert.Equal(t, want.Firmware, got.Firmware)
			assert.Equal(t, want.Controller, got.Controller)
			assert.Equal(t, want.EULAs, got.EULAs)
			assert.Equal(t, want.Annotation, got.Annotation)
			if want.Product != nil {
				assert.Equal(t, want.Product.Properties, got.Product.Properties)
			}
		})
	}
}

// TestRoundTripText: free text survives escaping exactly, including CR,
// tabs, markup characters and non-ASCII.
func TestRoundTripText(t *testing.T) {
	vs := propertiesCase()
	vs.Annotation = "CRLF\r\nline\ttab <b>&amp;</b> \"q\" 'a' ]]> é 🚀 "
	vs.EULAs = []string{"  leading and trailing  \n"}
	vs.Product.Properties[0].Description = "multi\r\nline"
	vs.Product.Properties[0].Default = "a\tb\nc\"<>&"
	out, err := MarshalBytes(vs, nil)
	require.NoError(t, err)
	require.NotContains(t, string(out), "\r")
	env, err := Parse(bytes.NewReader(out), nil)
	require.NoError(t, err)
	got, err := env.VirtualSystem()
	require.NoError(t, err)
	assert.Equal(t, vs.Annotation, got.Annotation)
	assert.Equal(t, vs.EULAs, got.EULAs)
	assert.Equal(t, vs.Product.Properties[0], got.Product.Properties[0])
}
