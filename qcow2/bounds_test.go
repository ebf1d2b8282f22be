package qcow2_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/qcow2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A 1 TiB sparse disk with a few islands: holes are never read, memory
// stays small, qemu accepts the image and Open returns the islands.
func TestHugeSparseDisk(t *testing.T) {
	testutil.Bounded(t, testutil.Bounds{MaxRSS: 128 << 20, CPU: 60 * time.Second}, func(t *testing.T) {
		dir := t.TempDir()
		size := int64(1) << 40
		p := filepath.Join(dir, "huge.raw")
		f, err := os.Create(p)
		require.NoError(t, err)
		require.NoError(t, f.Truncate(size))
		islands := map[int64][]byte{0: mixed(50, 1<<20), 300 << 30: mixed(51, 3<<20), size - 4096: mixed(52, 4096)}
		for off, d := range islands {
			_, err := f.WriteAt(d, off)
			require.NoError(t, err)
		}
		for _, comp := range []string{"", "zlib"} {
			out := filepath.Join(dir, "huge-"+comp+".qcow2")
			o, err := os.Create(out)
			require.NoError(t, err)
			res, err := qcow2.Write(t.Context(), o, f, size, &qcow2.Options{Compression: comp, TempDir: dir})
			require.NoError(t, err)
			require.NoError(t, o.Close())
			assert.Less(t, res.Size, int64(16<<20))
			q, err := os.Open(out)
			require.NoError(t, err)
			im, err := qcow2.Open(q, res.Size)
			require.NoError(t, err)
			assert.Equal(t, size, im.Size())
			for off, d := range islands {
				got := make([]byte, len(d)+512)
				start := max(0, off-512)
				_, err := im.ReadAt(got[:min(int64(len(got)), size-start)], start)
				require.NoError(t, err)
				assert.True(t, bytes.Equal(d, got[off-start:off-start+int64(len(d))]), "island at %d", off)
			}
			rep, err := qcow2.Inspect(t.Context(), q, res.Size)
			require.NoError(t, err)
			assert.Empty(t, rep.Findings)
			if testutil.InteropRequired() {
				qemu := testutil.RequireTool(t, "qemu-img")
				r := testutil.Run(t, dir, nil, qemu, "check", "-f", "qcow2", out)
				assert.Equal(t, 0, r.ExitCode, "%s %s", r.Stdout, r.Stderr)
			}
			q.Close()
		}
		f.Close()
	})
}

// The largest L1 table qemu allows (32 MiB, a 2 PiB disk) in a file just
// big enough for it: Open allocates in proportion to the file, reads the
// holes as zeros, and Inspect reports the overlapping tables.
func TestHostileSizesBounded(t *testing.T) {
	testutil.Bounded(t, testutil.Bounds{MaxRSS: 256 << 20, CPU: 60 * time.Second}, func(t *testing.T) {
		const cs = 1 << 16
		l1 := uint32(32 << 20 / 8)
		b := make([]byte, cs+int(l1)*8)
		be := binary.BigEndian
		be.PutUint32(b[0:], 0x514649fb)
		be.PutUint32(b[4:], 3)
		be.PutUint32(b[20:], 16)
		be.PutUint64(b[24:], uint64(l1)*cs*cs/8)
		be.PutUint32(b[36:], l1)
		be.PutUint64(b[40:], cs)
		be.PutUint64(b[48:], cs)
		be.PutUint32(b[56:], 128)
		be.PutUint32(b[96:], 4)
		be.PutUint32(b[100:], 112)
		im, err := qcow2.Open(bytes.NewReader(b), int64(len(b)))
		require.NoError(t, err)
		buf := make([]byte, 1<<20)
		_, err = im.ReadAt(buf, im.Size()-int64(len(buf)))
		require.NoError(t, err)
		assert.Equal(t, make([]byte, len(buf)), buf)
		rep, err := qcow2.Inspect(t.Context(), bytes.NewReader(b), int64(len(b)))
		require.NoError(t, err)
		require.NotEmpty(t, rep.Findings)
		assert.Equal(t, "overlap", rep.Findings[0].Rule)
	})
}
