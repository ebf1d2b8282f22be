package benchutil

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMedianAndBest(t *testing.T) {
	ss := []Sample{
		{Wall: 3 * time.Second, CPU: 1 * time.Second, RSSKiB: 30, Size: 5, Alloc: 4},
		{Wall: 1 * time.Second, CPU: 3 * time.Second, RSSKiB: 10, Size: 5, Alloc: 8},
		{Wall: 2 * time.Second, CPU: 2 * time.Second, RSSKiB: 20, Size: 7, Alloc: 6},
	}
	assert.Equal(t, Sample{Wall: 2 * time.Second, CPU: 2 * time.Second, RSSKiB: 20, Size: 5, Alloc: 6}, Median(ss))
	assert.Equal(t, ss[1], Best(ss))
	assert.Equal(t, Sample{}, Median(nil))
	assert.Equal(t, Sample{}, Best(nil))
}

func TestInterleave(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	out := filepath.Join(t.TempDir(), "out")
	tools := []Tool{{Name: "a", Out: out, Args: []string{sh, "-c", "printf abc > " + out}}}
	var rows []int
	res, err := Interleave(tools, 2, false, func(r int, _ Tool, s Sample) { rows = append(rows, r) })
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2}, rows)
	require.Len(t, res["a"], 2)
	assert.EqualValues(t, 3, res["a"][0].Size)
	assert.Positive(t, res["a"][0].RSSKiB)

	_, err = Interleave([]Tool{{Name: "fails", Out: out, Args: []string{sh, "-c", "exit 3"}}}, 1, false, nil)
	require.ErrorContains(t, err, "fails")
}
