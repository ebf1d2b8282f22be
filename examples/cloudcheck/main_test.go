package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/cloud"
)

func TestUsageAndExitCodes(t *testing.T) {
	var out, errb bytes.Buffer
	require.Equal(t, 2, run(nil, &out, &errb))
	require.Equal(t, 2, run([]string{"-target", "ibm", "x"}, &out, &errb))
	// An all-zero raw disk: a format every cloud reads, with nothing to boot.
	img := filepath.Join(t.TempDir(), "blank.raw")
	require.NoError(t, os.WriteFile(img, nil, 0o644))
	require.NoError(t, os.Truncate(img, 1<<30))
	out.Reset()
	require.Equal(t, 1, run([]string{"-target", "gcp", img}, &out, &errb))
	require.Contains(t, out.String(), "FAIL gce.")
	out.Reset()
	require.Equal(t, 1, run([]string{"-target", "aws", "-json", img}, &out, &errb))
	var rep cloud.Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	require.Equal(t, cloud.AWS, rep.Target)
	require.NotEmpty(t, rep.Findings)
	require.Equal(t, 1, run([]string{"-target", "aws", filepath.Join(t.TempDir(), "missing")}, &out, &errb))
}
