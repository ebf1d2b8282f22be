package update

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSummaries(t *testing.T) {
	m := &Manifest{Vendor: "acme", Product: "app", Channel: "stable", Version: "2.0", Sequence: 2, Kind: KindDiff, Tree: "sha256:ab"}
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer) error
		want  string
	}{
		{"build", func(b *bytes.Buffer) error {
			return WriteBuildSummary(b, "p.fup", &BuildReport{Manifest: m, Size: 10, Whole: 1, Patched: 2, Kept: 3, Deleted: 4})
		}, "p.fup: diff app 2.0 seq 2, 10 bytes (1 whole, 2 patched, 3 kept, 4 deleted)\n"},
		{"build larger than full", func(b *bytes.Buffer) error {
			return WriteBuildSummary(b, "p.fup", &BuildReport{Manifest: m, Size: 10, FullSize: 8, LargerThanFull: true})
		}, "p.fup: diff app 2.0 seq 2, 10 bytes (0 whole, 0 patched, 0 kept, 0 deleted)\n" +
			"note: the diff payload is larger than a full package's 8 bytes (build a full one instead)\n"},
		{"verify encrypted", func(b *bytes.Buffer) error {
			return WriteVerifySummary(b, &Report{Manifest: m, KeyIDs: []string{"k1", "k2"}})
		}, "OK acme app/stable 2.0 seq 2 kind diff tree sha256:ab signed by k1,k2, payload digest verified, content encrypted (the decryption key checks it)\n"},
		{"apply", func(b *bytes.Buffer) error {
			return WriteApplySummary(b, &ApplyReport{From: &Slot{Version: "1.0"}, To: Slot{Name: "2-ab", Version: "2.0"}, Written: 1, Patched: 2, Reused: 3, Copied: 4})
		}, "applied 1.0 -> 2.0 (slot 2-ab, pending until confirmed): 1 written, 2 patched, 3 reused, 4 copied\n"},
		{"already installed", func(b *bytes.Buffer) error {
			return WriteApplySummary(b, &ApplyReport{AlreadyInstalled: true, To: Slot{Version: "2.0", Sequence: 2}})
		}, "already installed: 2.0 seq 2\n"},
		{"state confirmed", func(b *bytes.Buffer) error {
			return WriteStateSummary(b, &State{Product: "app", Current: Slot{Name: "2-ab", Version: "2.0", Sequence: 2}})
		}, "app 2.0 seq 2 in " + SlotsDir + "/2-ab: confirmed\n"},
		{"state pending", func(b *bytes.Buffer) error {
			return WriteStateSummary(b, &State{Product: "app", Current: Slot{Name: "2-ab", Version: "2.0", Sequence: 2}, Pending: true, Attempts: 1, MaxAttempts: 3})
		}, "app 2.0 seq 2 in " + SlotsDir + "/2-ab: pending (1/3 boot attempts)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, tc.write(&b))
			assert.Equal(t, tc.want, b.String())
		})
	}
}
