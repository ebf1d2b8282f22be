package cloud

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tarGz packs data as disk.raw (old GNU header) into a .tar.gz.
func tarGz(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "disk.raw", Mode: 0o644, Size: int64(len(data)), Format: tar.FormatGNU}))
	_, err := tw.Write(data)
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	return b.Bytes()
}

// The spool keeps non-zero blocks within its budget, answers zeros for
// the rest below what it read, and fails (noting the miss) beyond.
func TestSpoolBudget(t *testing.T) {
	data := make([]byte, 1<<20)
	for i := 0; i < len(data); i += 64 << 10 {
		data[i+100] = byte(i>>16) + 1 // one non-zero byte per 64 KiB
	}
	arc := tarGz(t, data)

	s, err := spoolArchive(t.Context(), bytes.NewReader(arc), 1<<30)
	require.NoError(t, err)
	assert.Equal(t, "disk.raw", s.name)
	assert.Equal(t, int64(len(data)), s.size)
	assert.Len(t, s.blocks, 16, "only non-zero 4 KiB blocks are kept")
	got := make([]byte, len(data))
	n, err := s.ReadAt(got, 0)
	require.NoError(t, err)
	assert.Equal(t, len(data), n)
	assert.Equal(t, data, got)
	assert.False(t, s.missed())
	_, err = s.ReadAt(make([]byte, 10), int64(len(data))-5)
	assert.ErrorIs(t, err, io.EOF)

	// A budget of 4 blocks: the fifth non-zero block (at 256 KiB) and
	// everything after it are not spooled.
	s, err = spoolArchive(t.Context(), bytes.NewReader(arc), 4*spoolBlock)
	require.NoError(t, err)
	assert.Equal(t, int64(4<<16), s.known)
	b := make([]byte, 512)
	_, err = s.ReadAt(b, 3<<16)
	require.NoError(t, err)
	assert.Equal(t, data[3<<16:3<<16+512], b)
	_, err = s.ReadAt(b, 5<<16)
	assert.ErrorIs(t, err, errNotSpooled)
	assert.True(t, s.missed())
}

// A disk whose ESP lies beyond the spool is reported as unchecked, not
// as a finding.
func TestSpoolUnchecked(t *testing.T) {
	data := make([]byte, 2<<20)
	copy(data[512:], "EFI PART") // a GPT header signature: the boot check reads on
	data[510], data[511] = 0x55, 0xaa
	s := &spool{name: "disk.raw", size: int64(len(data)), known: 600, blocks: map[int64][]byte{0: data[:spoolBlock]}}
	c := &checker{ctx: t.Context(), t: GCP, pre: "gce", r: &recReader{r: bytes.NewReader(nil)}, rep: &Report{Findings: []Finding{}}}
	require.NoError(t, c.boot(&image{format: FormatGCE, disk: s, size: s.size}))
	assert.Empty(t, c.rep.Findings)
	require.Len(t, c.rep.Unchecked, 1)
	assert.Contains(t, c.rep.Unchecked[0], "64 MiB")
	assert.False(t, c.rep.OK())
}

func TestTarNumber(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"00000001750\x00", 1000, true},
		{"     1750 \x00", 1000, true},
		{"\x80\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00", 1 << 33, true},
		{"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 0, false},
		{"0000000175x\x00", 0, false},
		{"77777777777777777777777", 0, false},
	} {
		v, ok := tarNumber([]byte(tc.in))
		assert.Equal(t, tc.ok, ok, "%q", tc.in)
		if ok {
			assert.Equal(t, tc.want, v, "%q", tc.in)
		}
	}
}
