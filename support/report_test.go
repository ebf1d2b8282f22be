package support

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteIndex(t *testing.T) {
	ix := &Index{Product: "p", Version: "1", Sequence: 3, Created: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Files: []FileEntry{
			{Path: "a.log", Size: 10, Lines: 2, Redactions: 1},
			{Path: "b.log", Size: 20, Lines: 4, Truncated: true},
		},
		Sources: []SourceEntry{
			{Name: "a", Status: StatusOK},
			{Name: "gone", Status: StatusSkipped, Error: "no such file"},
			{Name: "cmd", Status: StatusFailed, Error: "exit status 1"},
		},
		TotalBytes: 30, Redactions: 1, Truncated: 1, Skipped: 1, Failed: 1}
	var b bytes.Buffer
	require.NoError(t, WriteIndex(&b, ix))
	assert.Equal(t, "p 1 (sequence 3), collected 2026-03-01 12:00:00Z\n"+
		"2 files, 30 bytes, 1 redactions, 1 truncated, 1 sources skipped, 1 failed\n\n"+
		"  a.log                                            10 bytes       2 lines    1 redacted\n"+
		"  b.log                                            20 bytes       4 lines    0 redacted (truncated)\n"+
		"  source gone: skipped no such file\n"+
		"  source cmd: failed exit status 1\n", b.String())
	errWrite := errors.New("write failed")
	assert.ErrorIs(t, WriteIndex(failWriter{err: errWrite}, ix), errWrite)
}
