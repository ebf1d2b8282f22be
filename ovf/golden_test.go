package ovf

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/internal/testutil"
)

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MarshalBytes(tc.vs(), tc.opts)
			require.NoError(t, err)
			testutil.Golden(t, tc.name+".ovf", got)
		})
	}
}

func TestBuildTwice(t *testing.T) {
	for _, tc := range goldenCases() {
		a, err := MarshalBytes(tc.vs(), tc.opts)
		require.NoError(t, err)
		b, err := MarshalBytes(tc.vs(), tc.opts)
		require.NoError(t, err)
		require.Equal(t, a, b, tc.name)
		require.NotContains(t, string(a), "\r", tc.name)
		var w bytes.Buffer
		require.NoError(t, Marshal(&w, tc.vs(), tc.opts))
		require.Equal(t, a, w.Bytes(), tc.name)
	}
}

func TestGoldenSchema(t *testing.T) {
	xmllint := testutil.RequireTool(t, "xmllint")
	xsd := filepath.Join(testutil.SharedDir(t), "xsd")
	testutil.RequireFile(t, "OVF schema", filepath.Join(xsd, "dsp8023_1.1.1.xsd"))
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			path, err := filepath.Abs(filepath.Join("testdata", tc.name+".ovf"))
			require.NoError(t, err)
			data, err := MarshalBytes(tc.vs(), tc.opts)
			require.NoError(t, err)
			schema := "dsp8023_1.1.1.xsd"
			if strings.Contains(string(data), "<vbox:Machine") {
				schema = "ovf-plus-ext.xsd"
			}
			res := testutil.Run(t, xsd, nil, xmllint, "--noout", "--nonet", "--schema", filepath.Join(xsd, schema), path)
			require.Equal(t, 0, res.ExitCode, "xmllint %s:\n%s", schema, res.Stderr)
			require.Contains(t, string(res.Stderr), "validates")
		})
	}
}
