package ext4_test

import (
	"bytes"
	"crypto/sha256"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/ext4"
	"github.com/fogkit/fogkit/internal/testutil"
)

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testOpts() *ext4.Options {
	return &ext4.Options{Label: "fogkit-data", Seed: "demo", ModTime: testTime}
}

func TestFormatTwiceGivesTheSameBytes(t *testing.T) {
	for _, size := range []int64{ext4.MinSize, 150<<20 + 4095} {
		a, b := newMem(size), newMem(size)
		ia, err := ext4.Format(t.Context(), a, size, testOpts())
		require.NoError(t, err)
		ib, err := ext4.Format(t.Context(), b, size, testOpts())
		require.NoError(t, err)
		require.Equal(t, ia, ib)
		require.Equal(t, sha256.Sum256(a.b), sha256.Sum256(b.b))
		// Another seed or label is another file system.
		o := testOpts()
		o.Seed = "other"
		c := newMem(size)
		ic, err := ext4.Format(t.Context(), c, size, o)
		require.NoError(t, err)
		require.NotEqual(t, ia.UUID, ic.UUID)
		require.False(t, bytes.Equal(a.b, c.b))
	}
}

func TestFormatRefusesBadOptions(t *testing.T) {
	for name, tc := range map[string]struct {
		size int64
		o    *ext4.Options
	}{
		"too small":     {ext4.MinSize - 1, nil},
		"too large":     {ext4.MaxSize + 1, nil},
		"negative":      {-1, nil},
		"long label":    {ext4.MinSize, &ext4.Options{Label: "seventeen-bytes-x"}},
		"NUL in label":  {ext4.MinSize, &ext4.Options{Label: "a\x00b"}},
		"invalid UTF-8": {ext4.MinSize, &ext4.Options{Label: "\xff"}},
		"before 1970":   {ext4.MinSize, &ext4.Options{ModTime: time.Unix(-1, 0)}},
		"after 2106":    {ext4.MinSize, &ext4.Options{ModTime: time.Unix(1<<32, 0)}},
	} {
		t.Run(name, func(t *testing.T) {
			c := &counter{}
			_, err := ext4.Format(t.Context(), c, tc.size, tc.o)
			require.ErrorIs(t, err, ext4.ErrOptions)
			require.Zero(t, c.writes, "nothing may be written")
			_, err = ext4.Verify(t.Context(), newMem(0), tc.size, tc.o)
			require.ErrorIs(t, err, ext4.ErrOptions)
		})
	}
	_, err := ext4.Format(t.Context(), &counter{}, ext4.MinSize, &ext4.Options{Label: "sixteen-bytes-ok"})
	require.NoError(t, err)
}

func TestFormatUsesWholeBlocksAndDropsATinyLastGroup(t *testing.T) {
	for _, tc := range []struct{ size, want int64 }{
		{ext4.MinSize + 4095, ext4.MinSize},
		{(32768+400)*4096 + 17, (32768 + 400) * 4096}, // a small last group is kept
		{(32768 + 100) * 4096, 32768 * 4096},          // a tiny one is dropped
	} {
		info, err := ext4.Format(t.Context(), &counter{}, tc.size, nil)
		require.NoError(t, err)
		require.Equal(t, tc.want, info.Size, "size %d", tc.size)
	}
}

// e2fsckSizes are the sizes every interop check runs on: the minimum, an
// odd size, sizes with a small and a dropped last group, and larger disks
// as sparse files.
var e2fsckSizes = []struct {
	name string
	size int64
	long bool
}{
	{"minimum", ext4.MinSize, false},
	{"odd", 100<<20 + 1234, false},
	{"small-last-group", (32768+400)*4096 + 17, false},
	{"dropped-last-group", (32768 + 100) * 4096, false},
	{"17-groups", 17*32768*4096 + 600*4096, false},
	{"1GiB", 1 << 30, false},
	{"20GiB", 20 << 30, false},
	{"2TiB", 2 << 40, true},
}

func TestE2fsckFindsNothingToFix(t *testing.T) {
	e2fsck := testutil.RequireTool(t, "e2fsck")
	for _, tc := range e2fsckSizes {
		for _, notZeroed := range []bool{false, true} {
			name := tc.name
			if notZeroed {
				name += "-notzeroed"
			}
			t.Run(name, func(t *testing.T) {
				if tc.long && testing.Short() {
					t.Skip("large disk")
				}
				f := sparseFile(t, tc.size)
				o := testOpts()
				o.NotZeroed = notZeroed
				_, err := ext4.Format(t.Context(), f, tc.size, o)
				require.NoError(t, err)
				r := testutil.Run(t, "", nil, e2fsck, "-fn", f.Name())
				require.Zero(t, r.ExitCode, "e2fsck:\n%s%s", r.Stdout, r.Stderr)
				_, err = ext4.Verify(t.Context(), f, tc.size, o)
				require.NoError(t, err)
			})
		}
	}
}

// TestNotZeroedFormatsADirtyTarget formats over a target full of 0xFF
// bytes: with NotZeroed the result is clean, and without it Verify sees
// that the journal is not empty.
func TestNotZeroedFormatsADirtyTarget(t *testing.T) {
	const size = 64 << 20
	dirty := func() *mem { m := newMem(size); copy(m.b, bytes.Repeat([]byte{0xFF}, size)); return m }
	o := testOpts()
	m := dirty()
	_, err := ext4.Format(t.Context(), m, size, o)
	require.NoError(t, err)
	_, err = ext4.Verify(t.Context(), m, size, o)
	var me *ext4.MismatchError
	require.ErrorAs(t, err, &me)
	require.Contains(t, me.Region, "must read as zeros")

	o.NotZeroed = true
	m = dirty()
	_, err = ext4.Format(t.Context(), m, size, o)
	require.NoError(t, err)
	_, err = ext4.Verify(t.Context(), m, size, o)
	require.NoError(t, err)
	if e2fsck := testutil.RequireTool(t, "e2fsck"); e2fsck != "" {
		f := sparseFile(t, size)
		_, err = f.WriteAt(m.b, 0)
		require.NoError(t, err)
		r := testutil.Run(t, "", nil, e2fsck, "-fn", f.Name())
		require.Zero(t, r.ExitCode, "e2fsck:\n%s%s", r.Stdout, r.Stderr)
	}
}

func TestDumpe2fsAndDebugfsAgree(t *testing.T) {
	dumpe2fs := testutil.RequireTool(t, "dumpe2fs")
	debugfs := testutil.RequireTool(t, "debugfs")
	t.Setenv("TZ", "UTC")
	const size = 1 << 30
	f := sparseFile(t, size)
	info, err := ext4.Format(t.Context(), f, size, testOpts())
	require.NoError(t, err)
	out := string(testutil.MustRun(t, "", nil, dumpe2fs, "-h", f.Name()))
	field := func(name string) string {
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `:\s*(.*?)\s*$`).FindStringSubmatch(out)
		require.NotNil(t, m, "dumpe2fs has no %q:\n%s", name, out)
		return m[1]
	}
	require.Equal(t, "fogkit-data", field("Filesystem volume name"))
	require.Equal(t, info.UUID, field("Filesystem UUID"))
	require.Equal(t, "has_journal ext_attr dir_index filetype extent 64bit flex_bg sparse_super large_file huge_file dir_nlink extra_isize metadata_csum",
		field("Filesystem features"))
	require.Equal(t, "4096", field("Block size"))
	require.Equal(t, "262144", field("Block count"))
	require.Equal(t, "clean", field("Filesystem state"))
	require.Equal(t, "crc32c", field("Checksum type"))
	require.Equal(t, "Fri Jan  2 03:04:05 2026", field("Filesystem created"))
	require.Equal(t, "8192", field("Total journal blocks")) // 32 MiB for 1 GiB, as mke2fs

	ls := string(testutil.MustRun(t, "", nil, debugfs, "-R", "ls -l /", f.Name()))
	require.Regexp(t, `(?m)^\s*11\s+40700 \(2\)\s+0\s+0\s+16384 .* lost\+found\s*$`, ls)
	require.Regexp(t, `(?m)^\s*2\s+40755 \(2\)\s+0\s+0\s+4096 .* \.\.\s*$`, ls)
	st := string(testutil.MustRun(t, "", nil, debugfs, "-R", "stat /lost+found", f.Name()))
	require.Contains(t, st, "Links: 2")
	require.Contains(t, st, "Jan  2 03:04:05 2026")
	require.True(t, strings.Contains(st, "EXTENTS"), st)
}
