package bsdiff

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/stretchr/testify/require"
)

// claimPatch is a well-formed 74-byte patch (header and three empty bzip2
// streams) whose header claims a new file of newSize bytes.
func claimPatch(t testing.TB, newSize int64) []byte {
	e := bz(t, nil)
	return craft(int64(len(e)), int64(len(e)), newSize, bytes.Repeat(e, 3))
}

// TestNegativeLimit: a negative new-size limit is an error, never "no
// limit". The patch claims 1 TiB; without the check PatchBytes allocates
// the claim, which the child's address-space limit turns into a crash.
func TestNegativeLimit(t *testing.T) {
	testutil.Bounded(t, testutil.Bounds{AddressSpace: 2 << 30, MaxRSS: 256 << 20, CPU: 30 * time.Second}, func(t *testing.T) {
		p := claimPatch(t, 1<<40)
		require.Len(t, p, 74)
		for _, limit := range []int64{-1, -(1 << 40), math.MinInt64} {
			out, err := PatchBytes(nil, p, limit)
			require.ErrorIs(t, err, ErrTooLarge, "PatchBytes, limit %d", limit)
			require.Nil(t, out)
			var pe *PatchError
			require.True(t, errors.As(err, &pe))
			out, err = Patch(nil, bytes.NewReader(p), limit)
			require.ErrorIs(t, err, ErrTooLarge, "Patch, limit %d", limit)
			require.Nil(t, out)
			_, err = ReadHeader(p, limit)
			require.ErrorIs(t, err, ErrTooLarge, "ReadHeader, limit %d", limit)
		}
		// A real limit below the claim is the ordinary ErrTooLarge.
		_, err := PatchBytes(nil, p, 1<<30)
		require.ErrorIs(t, err, ErrTooLarge)
	})
}

// TestMaxPatchSizeNoOverflow: the patch-size cap never wraps negative or
// shrinks as the limit grows, up to math.MaxInt64, and leaves room for
// Patch's one-byte look-past.
func TestMaxPatchSizeNoOverflow(t *testing.T) {
	limits := []int64{0, 1, 1 << 20, 1 << 40, math.MaxInt64/2 - 1<<20, math.MaxInt64/2 - 1<<19,
		math.MaxInt64 / 2, math.MaxInt64/2 + 1, 1 << 62, math.MaxInt64 - 1, math.MaxInt64}
	prev := int64(-1)
	for _, n := range limits {
		m := MaxPatchSize(n)
		require.GreaterOrEqual(t, m, prev, "MaxPatchSize(%d) = %d shrinks", n, m)
		require.GreaterOrEqual(t, m, min(n, math.MaxInt64-1), "MaxPatchSize(%d) = %d below the limit", n, m)
		require.Less(t, m, int64(math.MaxInt64), "MaxPatchSize(%d) leaves no room for limit+1", n)
		prev = m
	}
	require.Equal(t, int64(2<<20+1<<20), MaxPatchSize(1<<20))
	require.Equal(t, int64(0), MaxPatchSize(-1))
}

// TestPatchHugeLimit: a caller that passes a huge limit (it trusts the
// patch's size from elsewhere) still gets its patch applied; an
// overflowing cap used to reject every patch.
func TestPatchHugeLimit(t *testing.T) {
	old := testutil.TextBytes(31, 3000)
	want := append(bytes.Clone(old[:1000]), "a new tail"...)
	p, err := Diff(old, want)
	require.NoError(t, err)
	for _, limit := range []int64{math.MaxInt64/2 + 1, 1 << 62, math.MaxInt64} {
		got, err := Patch(old, bytes.NewReader(p), limit)
		require.NoError(t, err, "limit %d", limit)
		require.Equal(t, want, got)
	}
}

// slowHuffman is a 39-byte bzip2 stream the fuzzer found: a block whose
// Huffman tables are incomplete. The dsnet decoder canonicalises such a
// table by exploring every code up to 20 bits, which cost it well over
// 15 ms of CPU per stream; compress/bzip2 rejects it in about 2 ms.
const slowHuffman = "425a6839314159265359d6a0036600000260415844040044000100200021929ea7ea35a800d980"

// TestHostileHuffmanTables: decoding a patch's bzip2 blocks costs CPU in
// proportion to their size. 1000 patches with the stream above as their
// control block take about 2 s of CPU; with the dsnet decoder they passed
// the child's 15 s CPU limit and the kernel killed it.
func TestHostileHuffmanTables(t *testing.T) {
	testutil.Bounded(t, testutil.Bounds{MaxRSS: 512 << 20, CPU: 15 * time.Second}, func(t *testing.T) {
		ctrl, err := hex.DecodeString(slowHuffman)
		require.NoError(t, err)
		e := bz(t, nil)
		p := craft(int64(len(ctrl)), int64(len(e)), 100, append(append(ctrl, e...), e...))
		for range 1000 {
			_, err := PatchBytes(nil, p, 1<<16)
			require.ErrorIs(t, err, ErrCorrupt)
		}
	})
}
