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
