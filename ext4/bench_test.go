package ext4_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/ext4"
)

// BenchmarkFormat formats sparse files and reports the bytes written.
func BenchmarkFormat(b *testing.B) {
	for _, tc := range []struct {
		name string
		size int64
	}{{"20GiB", 20 << 30}, {"2TiB", 2 << 40}} {
		b.Run(tc.name, func(b *testing.B) {
			f := sparseFile(b, tc.size)
			var c counter
			for b.Loop() {
				c = counter{w: f}
				_, err := ext4.Format(b.Context(), &c, tc.size, nil)
				require.NoError(b, err)
			}
			b.ReportMetric(float64(c.bytes), "written-bytes")
			b.ReportMetric(float64(c.writes), "writes")
		})
	}
}

// TestFormatWritesOnlyMetadata pins the order of magnitude the package
// promises: a 20 GiB format writes under a MiB, a 2 TiB one tens of MiB
// and 16 TiB (the largest a 4 KiB-block host file system can hold as a
// file) hundreds, not GiBs.
func TestFormatWritesOnlyMetadata(t *testing.T) {
	for _, tc := range []struct{ size, max int64 }{{20 << 30, 1 << 20}, {2 << 40, 32 << 20}, {16 << 40, 256 << 20}} {
		if tc.size > 2<<40 && testing.Short() {
			continue
		}
		c := &counter{}
		_, err := ext4.Format(t.Context(), c, tc.size, nil)
		require.NoError(t, err)
		require.Less(t, c.bytes, tc.max, "size %d", tc.size)
		t.Logf("%d GiB: %d bytes in %d writes", tc.size>>30, c.bytes, c.writes)
	}
}

// TestProgressCountsGroups checks the events Format reports.
func TestProgressCountsGroups(t *testing.T) {
	var evs []ext4.Event
	o := &ext4.Options{NotZeroed: true, Progress: func(e ext4.Event) { evs = append(evs, e) }}
	_, err := ext4.Format(t.Context(), &counter{}, 20<<30, o)
	require.NoError(t, err)
	require.Equal(t, ext4.Event{Stage: "metadata", Done: 160, Total: 160}, evs[len(evs)-1])
	var journal bool
	for _, e := range evs {
		journal = journal || (e.Stage == "journal" && e.Done == e.Total && e.Total == 128<<20-4096)
	}
	require.True(t, journal, "%v", evs)
}

// BenchmarkVerify verifies sparse files Format wrote.
func BenchmarkVerify(b *testing.B) {
	for _, tc := range []struct {
		name string
		size int64
	}{{"20GiB", 20 << 30}, {"2TiB", 2 << 40}} {
		b.Run(tc.name, func(b *testing.B) {
			f := sparseFile(b, tc.size)
			_, err := ext4.Format(b.Context(), f, tc.size, nil)
			require.NoError(b, err)
			for b.Loop() {
				_, err := ext4.Verify(b.Context(), f, tc.size, nil)
				require.NoError(b, err)
			}
		})
	}
}
