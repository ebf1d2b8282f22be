package vmdk_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/fogkit/fogkit/vmdk"
	"github.com/stretchr/testify/require"
)

// gdMarkerAt returns the offset of the grain-directory marker of a
// tinyStream: the footer's gdOffset names the sector after it.
func gdMarkerAt(v []byte) int {
	return int(binary.LittleEndian.Uint64(v[len(v)-1024+56:]))*512 - 512
}

// TestVerifyGDMarkerOverflow: a grain-directory marker whose sector count
// overflows when multiplied by 512 is rejected, not read as a short (or
// empty) directory.
func TestVerifyGDMarkerOverflow(t *testing.T) {
	v := tinyStream(tinyOpts{})
	at := gdMarkerAt(v)
	require.Equal(t, uint32(vmdk.MarkerGD), binary.LittleEndian.Uint32(v[at+12:]))
	for _, val := range []uint64{1 << 55, 1<<55 + 1, 1<<63 + 1, 1 << 20} {
		c := bytes.Clone(v)
		binary.LittleEndian.PutUint64(c[at:], val)
		_, err := vmdk.Verify(context.Background(), bytes.NewReader(c), nil)
		require.ErrorIs(t, err, vmdk.ErrCorrupt, "marker value %d", val)
	}
}

// TestVerifyCapacityClaimAllocation: what Verify allocates does not grow
// with the capacity a header claims. A stream of a few KiB whose header
// claims the largest capacity with small grains used to make Verify
// allocate a 32 MiB per-block table (8M blocks) at its first grain table.
func TestVerifyCapacityClaimAllocation(t *testing.T) {
	v := tinyStream(tinyOpts{GrainSectors: 16, GTEs: 1024, Grains: 3, Fill: []int{0, 2}})
	le := binary.LittleEndian
	const sectors = vmdk.MaxCapacity / vmdk.SectorSize
	le.PutUint64(v[12:], sectors)
	le.PutUint64(v[len(v)-1024+12:], sectors)
	alloc := func() uint64 {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.TotalAlloc
	}
	// The claim needs a 32 MiB directory, far beyond what this stream
	// holds: Verify must stop or report without allocating for it.
	before := alloc()
	rep, err := vmdk.Verify(context.Background(), bytes.NewReader(v), nil)
	used := alloc() - before
	require.NotNil(t, rep)
	if err != nil {
		require.ErrorIs(t, err, vmdk.ErrCorrupt)
	} else {
		require.False(t, rep.OK())
	}
	require.Less(t, used, uint64(4<<20), "Verify allocated %d bytes for a %d-byte stream", used, len(v))
}

// TestOpenDirectoryAllocation: Open holds the grain directory once; it
// used to read the raw bytes whole and decode them into a second copy.
func TestOpenDirectoryAllocation(t *testing.T) {
	const tables = 1 << 20 // a 4 MiB directory
	v := tinyStream(tinyOpts{Grains: 4 * tables, Fill: []int{1, 4*tables - 1}})
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	d, err := vmdk.Open(bytes.NewReader(v), int64(len(v)))
	runtime.ReadMemStats(&m1)
	require.NoError(t, err)
	used := m1.TotalAlloc - m0.TotalAlloc
	require.Less(t, used, uint64(tables*4+tables), "Open allocated %d bytes for a %d-byte directory", used, tables*4)
	raw := make([]byte, 2*4096)
	_, err = d.ReadAt(raw, int64(4*tables-2)*4096)
	require.NoError(t, err)
	require.Equal(t, tinyGrain(4*tables-1, 4096), raw[4096:])
}

// TestVerifyReusesReadBuffer: Verify pools its 256 KiB read buffer and
// its zlib reader, so inspecting many small streams does not allocate
// (and clear) them on every call.
func TestVerifyReusesReadBuffer(t *testing.T) {
	v := tinyStream(tinyOpts{})
	const calls = 50
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for range calls {
		_, err := vmdk.Verify(context.Background(), bytes.NewReader(v), nil)
		require.NoError(t, err)
	}
	runtime.ReadMemStats(&m1)
	per := (m1.TotalAlloc - m0.TotalAlloc) / calls
	require.Less(t, per, uint64(128<<10), "Verify allocated %d bytes per call of a %d-byte stream", per, len(v))
}
