package appliance_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/appliance"
	"github.com/fogkit/fogkit/ext4"
	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/vmdk"
)

// openData opens the data VMDK of a build as a disk.
func openData(t *testing.T, dir, name string) *vmdk.Disk {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, name+"-data.vmdk"))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	require.NoError(t, err)
	d, err := vmdk.Open(f, st.Size())
	require.NoError(t, err)
	return d
}

// TestDataDiskShipsFormatted reads the data VMDK back and requires it to
// be exactly the ext4 file system Format makes from the appliance's Name,
// label and epoch, with no intermediate left in the output directory.
func TestDataDiskShipsFormatted(t *testing.T) {
	dir := t.TempDir()
	s := testSpec()
	rec := build(t, dir, s)
	d := openData(t, dir, s.Name)
	require.Equal(t, s.DataSize, d.Size())
	info, err := ext4.Probe(d)
	require.NoError(t, err)
	require.Equal(t, appliance.DefaultDataLabel, info.Label)
	want := &ext4.Options{Label: appliance.DefaultDataLabel, Seed: s.Name, ModTime: epoch}
	_, err = ext4.Verify(context.Background(), d, s.DataSize, want)
	require.NoError(t, err)
	require.Equal(t, rec.Options["ext4Data"], want)
	_, err = os.Stat(filepath.Join(dir, "data.raw.partial"))
	require.True(t, errors.Is(err, os.ErrNotExist), "the raw data disk is an intermediate")

	if e2fsck := testutil.RequireTool(t, "e2fsck"); e2fsck != "" {
		raw := filepath.Join(t.TempDir(), "data.raw")
		f, err := os.Create(raw)
		require.NoError(t, err)
		_, err = io.Copy(f, io.NewSectionReader(d, 0, d.Size()))
		require.NoError(t, err)
		require.NoError(t, f.Close())
		r := testutil.Run(t, "", nil, e2fsck, "-fn", raw)
		require.Zero(t, r.ExitCode, "e2fsck:\n%s%s", r.Stdout, r.Stderr)
	}

	// Another version of the same appliance formats the same disk; a
	// label of the vendor's choosing is the one the disk carries.
	s2 := testSpec()
	s2.Version, s2.Sequence, s2.DataLabel = "2.0.0", 2, "acme-store"
	dir2 := t.TempDir()
	build(t, dir2, s2)
	d2 := openData(t, dir2, s2.Name)
	info2, err := ext4.Probe(d2)
	require.NoError(t, err)
	require.Equal(t, "acme-store", info2.Label)
	s2.DataLabel = ""
	build(t, dir2, s2)
	d2 = openData(t, dir2, s2.Name)
	_, err = ext4.Verify(context.Background(), d2, s.DataSize, want)
	require.NoError(t, err, "every version of an appliance formats its data disk the same way")
}

func TestDataDiskSpecErrors(t *testing.T) {
	for _, tc := range []struct {
		label string
		size  int64
		want  string
	}{
		{"seventeen-bytes-x", 64 << 20, "DataLabel"},
		{"has space", 64 << 20, "DataLabel"},
		{"-dash", 64 << 20, "DataLabel"},
		{"ok", 1 << 20, "DataSize"},
	} {
		s := testSpec()
		s.DataLabel, s.DataSize = tc.label, tc.size
		dir := filepath.Join(t.TempDir(), "out")
		_, err := appliance.Build(context.Background(), s, &appliance.Options{Dir: dir, Keys: testKeys(t)})
		var se *appliance.SpecError
		require.ErrorAs(t, err, &se, "%+v", tc)
		require.ErrorContains(t, err, tc.want)
		_, err = os.Stat(dir)
		require.True(t, os.IsNotExist(err), "nothing is written for a bad spec")
	}
}
