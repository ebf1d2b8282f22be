package update

import (
	"bytes"
	"strings"
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

func TestDirTrees(t *testing.T) {
	dir := t.TempDir()
	trees := DirTrees(dir+"/1.0/", dir+"/1.1")
	require.Len(t, trees, 2)
	assert.Equal(t, "1.0", trees[0].Version)
	assert.Equal(t, "1.1", trees[1].Version)
	assert.NotNil(t, trees[0].FS)
	assert.Nil(t, DirTrees())
}

func TestProgressLine(t *testing.T) {
	var b bytes.Buffer
	progress, end := ProgressLine(&b)
	end()
	assert.Empty(t, b.String(), "nothing drawn, nothing to end")
	for _, ev := range []Event{
		{Stage: "scan", Done: 0, Total: 200},
		{Stage: "scan", Done: 1, Total: 200}, // same percentage: not redrawn
		{Stage: "scan", Done: 2, Total: 200},
		{Stage: "build", File: "etc/a", Done: 0, Total: 0},
		{Stage: "build", File: "etc/a", Done: 5, Total: 0},
		{Stage: "build", File: "etc/b", Done: 6, Total: 0},
	} {
		progress(ev)
	}
	end()
	want := "\rscan     0/200 " + strings.Repeat(" ", 50) +
		"\rscan     2/200 " + strings.Repeat(" ", 50) +
		"\rbuild    0/0 etc/a" + strings.Repeat(" ", 45) +
		"\rbuild    6/0 etc/b" + strings.Repeat(" ", 45) + "\n"
	assert.Equal(t, want, b.String())
}
