package ovf

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	govmomi "github.com/vmware/govmomi/ovf"

	"github.com/fogkit/fogkit/internal/testutil"
)

// TestRemarshalRealWorld converts every real-world fixture the model can
// hold, re-marshals the valid ones with the VMware profile, and has the
// DMTF schema (xmllint) and govmomi judge the results: our writer stays
// valid on names, annotations, EULAs and properties we did not invent.
func TestRemarshalRealWorld(t *testing.T) {
	dir := govmomiDir(t)
	xmllint := testutil.RequireTool(t, "xmllint")
	xsd := filepath.Join(testutil.SharedDir(t), "xsd")
	out := t.TempDir()
	var written []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".ovf") || negativeFixture(p) {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		env, err := Parse(bytes.NewReader(data), nil)
		if err != nil {
			return nil
		}
		vs, err := env.VirtualSystem()
		if err != nil {
			return nil
		}
		opts := &Options{Profile: VMware}
		b, err := MarshalBytes(vs, opts)
		if err != nil {
			return nil // the source breaks a rule (no OS id, odd memory, …)
		}
		name := filepath.Join(out, fmt.Sprintf("%03d.ovf", len(written)))
		written = append(written, name)
		if err := os.WriteFile(name, b, 0o644); err != nil {
			return err
		}
		ge, err := govmomi.Unmarshal(bytes.NewReader(b))
		if err != nil {
			t.Errorf("%s: govmomi: %v", p, err)
			return nil
		}
		if _, err := ge.ToConfigSpec(); err != nil {
			t.Errorf("%s: govmomi ToConfigSpec: %v", p, err)
		}
		return nil
	})
	require.NoError(t, err)
	t.Logf("interop: %d re-marshalled real-world descriptors checked by xmllint and govmomi", len(written))
	require.Greater(t, len(written), 20)
	args := append([]string{"--noout", "--nonet", "--schema", filepath.Join(xsd, "dsp8023_1.1.1.xsd")}, written...)
	res := testutil.Run(t, xsd, nil, xmllint, args...)
	require.Equal(t, 0, res.ExitCode, "xmllint:\n%s", res.Stderr)
}
