package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInterruptLeavesNothing interrupts a long conversion (a sparse
// 64 GiB disk) once it has started writing: the command exits 1 and
// leaves neither the output nor its temporary file.
func TestInterruptLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	raw := filepath.Join(dir, "big.raw")
	f, err := os.Create(raw)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(64<<30))
	require.NoError(t, f.Close())

	cmd := exec.CommandContext(t.Context(), fogkitBin, "convert", "-to", "vmdk", raw, filepath.Join(dir, "big.vmdk"))
	var errb bytes.Buffer
	cmd.Stderr = &errb
	require.NoError(t, cmd.Start())
	started := false
	for range 500 { // wait for the temporary file, at most 10 s
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			started = started || strings.HasSuffix(e.Name(), ".partial")
		}
		if started {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.True(t, started, "no temporary output appeared")
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err = cmd.Wait()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "the conversion ended without an error: %v", err)
	assert.Equal(t, exitError, ee.ExitCode(), errb.String())
	assert.Contains(t, errb.String(), "context canceled")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the input is left")
}
