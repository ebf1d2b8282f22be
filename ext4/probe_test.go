package ext4_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/ext4"
	"github.com/fogkit/fogkit/internal/testutil"
)

func TestProbeReadsWhatFormatWrote(t *testing.T) {
	const size = 100<<20 + 1234
	m := newMem(size)
	want, err := ext4.Format(t.Context(), m, size, testOpts())
	require.NoError(t, err)
	got, err := ext4.Probe(m)
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Equal(t, &ext4.Info{Label: "fogkit-data", UUID: want.UUID, Size: 100 << 20, BlockSize: 4096}, got)
}

func TestProbeReadsMke2fsOutput(t *testing.T) {
	mke2fs := testutil.RequireTool(t, "mke2fs")
	for _, tc := range []struct {
		args []string
		bs   int
	}{
		{[]string{"-t", "ext4", "-b", "4096"}, 4096},
		{[]string{"-t", "ext4", "-b", "1024"}, 1024},
		{[]string{"-t", "ext3", "-b", "4096"}, 4096},
		{[]string{"-t", "ext2", "-b", "2048"}, 2048},
		{[]string{"-t", "ext4", "-b", "4096", "-O", "^metadata_csum,^64bit"}, 4096},
	} {
		f := sparseFile(t, 64<<20)
		args := append(append([]string{"-q", "-F", "-L", "vendor-data", "-U", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}, tc.args...), f.Name())
		testutil.MustRun(t, "", nil, mke2fs, args...)
		info, err := ext4.Probe(f)
		require.NoError(t, err, "%v", tc.args)
		require.Equal(t, &ext4.Info{Label: "vendor-data", UUID: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", Size: 64 << 20, BlockSize: tc.bs}, info, "%v", tc.args)
	}
	// mkfs.ext4 with its own defaults, as a vendor would run it.
	mkfs := testutil.RequireTool(t, "mkfs.ext4")
	f := sparseFile(t, 1<<30)
	testutil.MustRun(t, "", nil, mkfs, "-q", "-F", "-L", "customer", f.Name())
	info, err := ext4.Probe(f)
	require.NoError(t, err)
	require.Equal(t, "customer", info.Label)
	require.Equal(t, int64(1<<30), info.Size)
}

func TestProbeRefusesWhatIsNotExt4(t *testing.T) {
	good := newMem(ext4.MinSize)
	_, err := ext4.Format(t.Context(), good, ext4.MinSize, testOpts())
	require.NoError(t, err)
	sb := func(mutate func(p []byte)) *mem {
		p := bytes.Clone(good.b[:4096])
		mutate(p[1024:2048])
		return &mem{b: p}
	}
	for name, r := range map[string]*mem{
		"empty":           {},
		"short":           {b: good.b[:1500]},
		"zeros":           newMem(4096),
		"bad magic":       sb(func(p []byte) { p[0x38] = 0 }),
		"bad checksum":    sb(func(p []byte) { p[0x78] ^= 1 }),
		"huge block size": sb(func(p []byte) { p[0x18] = 7 }),
		"no inodes/group": sb(func(p []byte) { clear(p[0x28:0x2C]) }),
		"no blocks":       sb(func(p []byte) { clear(p[0x04:0x08]); clear(p[0x150:0x154]) }),
	} {
		_, err := ext4.Probe(r)
		require.ErrorIs(t, err, ext4.ErrNotExt4, name)
	}
}
