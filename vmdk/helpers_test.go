package vmdk_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"strconv"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/vmdk"
	"github.com/stretchr/testify/require"
)

// mixed returns n bytes of disk-like content: text, random and zero
// stretches, deterministic from seed.
func mixed(seed uint64, n int) []byte { return testutil.DiskBytes(seed, n, 100<<10) }

// toVMDK converts raw bytes with Write.
func toVMDK(t testing.TB, raw []byte, opts *vmdk.Options) ([]byte, *vmdk.Result) {
	t.Helper()
	var out bytes.Buffer
	res, err := vmdk.Write(context.Background(), &out, bytes.NewReader(raw), int64(len(raw)), opts)
	require.NoError(t, err)
	require.Equal(t, int64(out.Len()), res.Size)
	return out.Bytes(), res
}

// readAll opens a VMDK and returns its raw disk.
func readAll(t testing.TB, v []byte) []byte {
	t.Helper()
	d, err := vmdk.Open(bytes.NewReader(v), int64(len(v)))
	require.NoError(t, err)
	raw := make([]byte, d.Size())
	n, err := d.ReadAt(raw, 0)
	require.NoError(t, err)
	require.Equal(t, len(raw), n)
	return raw
}

// verifyOK runs Verify and requires no finding.
func verifyOK(t testing.TB, v []byte) *vmdk.Report {
	t.Helper()
	rep, err := vmdk.Verify(context.Background(), bytes.NewReader(v), nil)
	require.NoError(t, err)
	require.Empty(t, rep.Findings, "findings: %v", rep.Findings)
	require.True(t, rep.OK())
	return rep
}

func u32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
func u64(b []byte, off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }

func strconvU(v uint64) string { return strconv.FormatUint(v, 10) }
