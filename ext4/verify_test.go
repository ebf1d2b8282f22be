package ext4_test

import (
	"context"
	"errors"
	"io"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/ext4"
)

// TestVerifyCatchesAChangedByteInEachMetadataKind flips one byte in the
// middle of every region Format writes or relies on, one at a time, and
// requires Verify to name that region and offset. The size has two
// groups, so backups and a last group's bitmap are covered.
func TestVerifyCatchesAChangedByteInEachMetadataKind(t *testing.T) {
	const size = (32768 + 4000) * 4096
	o := testOpts()
	m := newMem(size)
	_, err := ext4.Format(t.Context(), m, size, o)
	require.NoError(t, err)
	_, err = ext4.Verify(t.Context(), m, size, o)
	require.NoError(t, err)
	regions, err := ext4.Regions(size, o)
	require.NoError(t, err)
	kinds := map[string]bool{}
	for _, r := range regions {
		kinds[regexp.MustCompile(` of group \d+`).ReplaceAllString(r.Name, "")] = true
		for _, at := range []int64{r.Off, r.Off + r.Len/2, r.Off + r.Len - 1} {
			m.b[at] ^= 0x5A
			_, err := ext4.Verify(t.Context(), m, size, o)
			m.b[at] ^= 0x5A
			var me *ext4.MismatchError
			require.ErrorAs(t, err, &me, "%s at %d", r.Name, at)
			require.ErrorIs(t, err, ext4.ErrMismatch)
			require.Equal(t, r.Name, me.Region)
			require.Equal(t, at, me.Offset)
		}
	}
	require.Equal(t, map[string]bool{
		"block bitmap": true, "inode bitmap": true, "inode table": true,
		"inode table (must read as zeros)": true, "root directory": true, "lost+found": true,
		"journal superblock": true, "journal (must read as zeros)": true,
		"superblock backup": true, "group descriptor backup": true,
		"group descriptors": true, "superblock": true,
	}, kinds)
	// Options are part of what Verify checks.
	for _, other := range []*ext4.Options{
		{Label: "other", Seed: o.Seed, ModTime: o.ModTime},
		{Label: o.Label, Seed: "other", ModTime: o.ModTime},
		{Label: o.Label, Seed: o.Seed},
		{Label: o.Label, Seed: o.Seed, ModTime: o.ModTime, NotZeroed: true},
	} {
		_, err := ext4.Verify(t.Context(), m, size, other)
		require.ErrorIs(t, err, ext4.ErrMismatch, "%+v", other)
	}
	_, err = ext4.Verify(t.Context(), m, size+32768*4096, o)
	require.ErrorIs(t, err, ext4.ErrMismatch, "another size")
	_, err = ext4.Verify(t.Context(), &mem{b: m.b[:size/2]}, size, o)
	require.ErrorIs(t, err, ext4.ErrMismatch, "a truncated image")
}

type failingReader struct{}

func (failingReader) ReadAt([]byte, int64) (int, error) { return 0, errors.New("disk on fire") }

func TestVerifyAndFormatStopOnErrorsAndCancellation(t *testing.T) {
	_, err := ext4.Verify(t.Context(), failingReader{}, ext4.MinSize, nil)
	require.ErrorContains(t, err, "disk on fire")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = ext4.Format(ctx, &counter{}, 1<<30, nil)
	require.ErrorIs(t, err, context.Canceled)
	_, err = ext4.Verify(ctx, newMem(0), 1<<30, nil)
	require.ErrorIs(t, err, context.Canceled)
	_, err = ext4.Format(t.Context(), &mem{b: make([]byte, 4096)}, ext4.MinSize, nil)
	require.ErrorIs(t, err, io.ErrShortWrite)
}

// failAt fails its n-th write and every one after it.
type failAt struct {
	m    *mem
	n, i int
}

func (f *failAt) WriteAt(p []byte, off int64) (int, error) {
	f.i++
	if f.i >= f.n {
		return 0, errors.New("power cut")
	}
	return f.m.WriteAt(p, off)
}

// TestInterruptedFormatIsNoFileSystem cuts Format short before its last
// write: the primary superblock goes last, so Probe must not find a file
// system (the appliance would otherwise mount a half-made data disk).
func TestInterruptedFormatIsNoFileSystem(t *testing.T) {
	c := &counter{}
	_, err := ext4.Format(t.Context(), c, 200<<20, testOpts())
	require.NoError(t, err)
	w := &failAt{m: newMem(200 << 20), n: int(c.writes)}
	_, err = ext4.Format(t.Context(), w, 200<<20, testOpts())
	require.ErrorContains(t, err, "power cut")
	_, err = ext4.Probe(w.m)
	require.ErrorIs(t, err, ext4.ErrNotExt4)
}
