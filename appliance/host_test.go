package appliance_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/appliance"
)

// Validate reports every problem of the command-line fields at once, and
// not the ones a caller fills in later (Init, Options).
func TestValidate(t *testing.T) {
	s := &appliance.Spec{Name: "../evil", Version: "1.0/2", Sequence: 1, Loader: "grub",
		Epoch: time.Unix(1, 0), Previous: []string{t.TempDir()}}
	err := s.Validate()
	require.ErrorIs(t, err, appliance.ErrSpec)
	var se *appliance.SpecError
	require.True(t, errors.As(err, &se))
	joined := se.Error()
	for _, want := range []string{"Name", "Version", "Loader", "Previous[0]"} {
		assert.Contains(t, joined, want)
	}
	assert.NotContains(t, joined, "Init")
	assert.NotContains(t, joined, "Options")

	ok := &appliance.Spec{Name: "app", Version: "1.0", Sequence: 1, Epoch: time.Unix(1, 0)}
	require.NoError(t, ok.Validate())
}

func TestParseSizeAndEpoch(t *testing.T) {
	for in, want := range map[string]int64{"20G": 20 << 30, "20GB": 20 << 30, "20GiB": 20 << 30, "512m": 512 << 20, "4096": 4096, "1T": 1 << 40} {
		got, err := appliance.ParseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "G", "-1G", "1X", "20 G B", "2048T"} {
		_, err := appliance.ParseSize(in)
		assert.Error(t, err, in)
	}

	e, err := appliance.ParseEpoch("1700000000")
	require.NoError(t, err)
	assert.Equal(t, time.Unix(1700000000, 0).UTC(), e)
	_, err = appliance.ParseEpoch("yesterday")
	assert.Error(t, err)
	t.Setenv("SOURCE_DATE_EPOCH", "1600000000")
	e, err = appliance.ParseEpoch("")
	require.NoError(t, err)
	assert.Equal(t, time.Unix(1600000000, 0).UTC(), e)
	t.Setenv("SOURCE_DATE_EPOCH", "soon")
	_, err = appliance.ParseEpoch("")
	assert.Error(t, err)
	t.Setenv("SOURCE_DATE_EPOCH", "")
	e, err = appliance.ParseEpoch("")
	require.NoError(t, err)
	assert.Equal(t, e, e.Truncate(24*time.Hour), "today at 00:00 UTC")
}

func TestHostBIOSTakesGivenParts(t *testing.T) {
	b, err := appliance.HostBIOS("/x/syslinux", "/x/gptmbr.bin")
	require.NoError(t, err)
	assert.Equal(t, "/x/syslinux", b.Syslinux)
	assert.Equal(t, "/x/gptmbr.bin", b.GPTMBR.Path)
}

func TestOpenKeysCreatesThenLoads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	a, created, err := appliance.OpenKeys(dir, "app")
	require.NoError(t, err)
	require.True(t, created)
	b, created, err := appliance.OpenKeys(dir, "app")
	require.NoError(t, err)
	require.False(t, created)
	assert.Equal(t, a.LicensePublic, b.LicensePublic)
	assert.Equal(t, a.UpdatePublic, b.UpdatePublic)
}

func TestTextProgress(t *testing.T) {
	var b bytes.Buffer
	p := appliance.TextProgress(&b)
	p(appliance.Event{Stage: "vmdk"})
	p(appliance.Event{Stage: "vmdk", File: "a.vmdk", Done: 0, Total: 4})
	p(appliance.Event{Stage: "vmdk", File: "a.vmdk", Done: 0, Total: 4}) // same percentage: not redrawn
	p(appliance.Event{Stage: "vmdk", File: "a.vmdk", Done: 4, Total: 4})
	p(appliance.Event{Stage: "note", Message: "no kernel"})
	p(appliance.Event{Stage: "ova", File: "a.ova", Message: "signed"})
	want := "==> vmdk\n" +
		"\r    a.vmdk                   [..............................]   0%" +
		"\r    a.vmdk                   [##############################] 100%\n" +
		"    NOTE: no kernel\n" +
		"    a.ova: signed\n"
	assert.Equal(t, want, b.String())
}

func TestWriteSummary(t *testing.T) {
	r := &appliance.Record{Spec: &appliance.Spec{Name: "app"}, Bootable: true, Notes: []string{"a note"},
		Modules: []string{"ahci", "e1000"}, Outputs: []appliance.Artifact{{Name: "app.ova", Path: "app.ova", Size: 42, SHA256: "ab"}},
		Assets: []appliance.Package{{Name: "linux-image-6.1-cloud-amd64", Version: "6.1.1", SHA256: "cd"}}}
	var b bytes.Buffer
	require.NoError(t, r.WriteSummary(&b, "out"))
	s := b.String()
	assert.Contains(t, s, "  app.ova                                42 bytes  sha256 ab\n")
	assert.Contains(t, s, appliance.RecordFile)
	assert.Contains(t, s, "fetched linux-image-6.1-cloud-amd64 6.1.1 (sha256 cd)")
	assert.Contains(t, s, "2 kernel modules in the initramfs")
	assert.Contains(t, s, "NOTE: a note\n")
	assert.Contains(t, s, "bootable: import out/app.ova in VMware or VirtualBox, or boot out/app-boot.vmdk")
	r.Spec.Formats = []appliance.Format{appliance.FormatQCOW2, appliance.FormatGCE}
	b.Reset()
	require.NoError(t, r.WriteSummary(&b, "out"))
	assert.NotContains(t, b.String(), "app.ova in VMware")
	assert.Contains(t, b.String(), "bootable: out/app-boot.qcow2 and out/app-data.qcow2 on KVM")
	assert.Contains(t, b.String(), "bootable: upload out/app-gce.tar.gz to Cloud Storage")
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{20 << 30: "20 GiB", 96 << 20: "96 MiB", 1 << 40: "1 TiB", 1536: "1536 bytes", 3 << 10: "3 KiB", 0: "0 bytes"} {
		assert.Equal(t, want, appliance.FormatSize(n), n)
	}
}
