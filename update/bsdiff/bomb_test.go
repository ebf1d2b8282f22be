package bsdiff

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTripleBombs: control triples that produce (almost) nothing are
// bounded, so a tiny patch cannot make Patch spin.
func TestTripleBombs(t *testing.T) {
	// A run of empty triples before a genuine one.
	empties := append(make([][3]int64, 2000), [3]int64{10, 0, 0})
	_, err := Patch(make([]byte, 10), bytes.NewReader(craftTriples(t, 10, empties)), 10)
	require.ErrorIs(t, err, ErrCorrupt)
	var pe *PatchError
	require.True(t, errors.As(err, &pe))

	// One byte per triple: far more triples than bsdiff ever needs.
	const n = 200000
	ones := make([][3]int64, n)
	for i := range ones {
		ones[i] = [3]int64{1, 0, 0}
	}
	_, err = Patch(make([]byte, n), bytes.NewReader(craftTriples(t, n, ones)), n)
	require.ErrorIs(t, err, ErrCorrupt)

	// A tiny patch declaring 64 MiB of output made of empty triples fails
	// after a bounded number of them, well before the stream ends.
	bomb := craftTriples(t, 64<<20, make([][3]int64, 100000))
	_, err = Patch(nil, bytes.NewReader(bomb), 64<<20)
	require.ErrorIs(t, err, ErrCorrupt)
	require.True(t, errors.As(err, &pe))
	require.Contains(t, pe.Reason, "empty control triples")
}
