package ovf

import (
	"bytes"
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	govmomi "github.com/vmware/govmomi/ovf"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// govmomiDir locates the govmomi module in the module cache; the fixtures
// are read where they are, never copied.
func govmomiDir(t *testing.T) string {
	t.Helper()
	goBin := testutil.RequireGo(t)
	out, err := exec.Command(goBin, "list", "-m", "-f", "{{.Dir}}", "github.com/vmware/govmomi").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		testutil.Missing(t, "govmomi module directory not found")
		return ""
	}
	return testutil.RequireFile(t, "govmomi ovf fixtures", filepath.Join(dir, "ovf", "fixtures"))
}

// negativeFixture mirrors the naming convention of govmomi's fixture tree:
// these files are meant to be rejected by importers.
func negativeFixture(path string) bool {
	p := filepath.ToSlash(path)
	l := strings.ToLower(p)
	for _, s := range []string{"neg-", "negative-", "negative_", "ovf_negative", "/neg/", "invalid", "corrupted"} {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// isEnvelope reports whether the document's root element is Envelope.
func isEnvelope(data []byte) bool {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local == "Envelope"
		}
	}
}

func TestParseGovmomiFixtures(t *testing.T) {
	dir := govmomiDir(t)
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".ovf") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("only %d fixture files found under %s", len(files), dir)
	}
	var positive, accepted, converted int
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		env, ourErr := Parse(strings.NewReader(string(data)), nil)
		if ourErr != nil {
			var pe *ParseError
			if !errors.As(ourErr, &pe) {
				t.Errorf("%s: error is not a *ParseError: %v", rel, ourErr)
			}
		} else {
			// Conversion and linting never panic and fail with typed errors.
			if _, err := env.VirtualSystem(); err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Errorf("%s: VirtualSystem error is not a *ParseError: %v", rel, err)
				}
			} else {
				converted++
			}
			if err := env.Validate(&Options{Profile: VMware}); err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: Validate error does not match ErrInvalid: %v", rel, err)
			}
		}
		if negativeFixture(p) {
			continue
		}
		positive++
		_, theirErr := govmomi.Unmarshal(strings.NewReader(string(data)))
		if theirErr != nil || !isEnvelope(data) {
			continue // govmomi rejects it, or it is not an OVF envelope at all (HTML)
		}
		accepted++
		if ourErr != nil {
			t.Errorf("%s: govmomi accepts it, Parse says %v", rel, ourErr)
			continue
		}
	}
	t.Logf("interop: govmomi fixtures: %d files, %d positive, %d accepted by govmomi and by Parse, %d converted to the model",
		len(files), positive, accepted, converted)
	if accepted < 700 {
		t.Errorf("only %d fixtures accepted by govmomi: fixture tree changed?", accepted)
	}
}

// TestVirtualSystemFromExports converts real VMware and VirtualBox exports
// from the govmomi fixture tree into the model.
func TestVirtualSystemFromExports(t *testing.T) {
	dir := govmomiDir(t)
	load := func(name string) *VirtualSystem {
		f, err := os.Open(filepath.Join(dir, name))
		require.NoError(t, err)
		defer f.Close()
		env, err := Parse(f, nil)
		require.NoError(t, err)
		vs, err := env.VirtualSystem()
		require.NoError(t, err)
		return vs
	}
	tty := load("ttylinux.ovf")
	assert.Equal(t, "ttylinux-pc_i486-16.1", tty.Name)
	assert.Equal(t, 1, tty.CPUs)
	assert.Equal(t, int64(32), tty.MemoryMiB)
	assert.Equal(t, IDE, tty.Controller)
	assert.Equal(t, "otherLinuxGuest", tty.OS.VMware)
	require.Len(t, tty.Disks, 1)
	assert.Equal(t, int64(31457280), tty.Disks[0].Capacity)
	assert.Equal(t, "ttylinux-pc_i486-16.1-disk1.vmdk", tty.Disks[0].Href)
	assert.Equal(t, []NIC{{Network: "nat", Adapter: E1000}}, tty.NICs)

	photon := load("photon5.ovf")
	assert.Equal(t, EFI, photon.Firmware)
	assert.Equal(t, PVSCSI, photon.Controller)
	assert.True(t, photon.CDROM)
	assert.Equal(t, VMXNET3, photon.NICs[0].Adapter)
	require.NotNil(t, photon.Product)
	// The VMware export re-marshals as a valid VMware-profile descriptor
	// once the fields our model requires are present.
	photon.OS.CIMID = 36
	_, err := MarshalBytes(photon, &Options{Profile: VMware})
	assert.NoError(t, err)

	// A blank disk whose capacity is a property: the default applies.
	blank := load("disk-capacity-property.ovf")
	require.Len(t, blank.Disks, 1)
	assert.Equal(t, int64(5<<30), blank.Disks[0].Capacity)
	assert.Empty(t, blank.Disks[0].Href)

	// VirtualBox exports, OVF 1.0 and the pre-standard 0.9 layout.
	const vbox = "external/OVFToolTemplates/OVF/xmltestfiles/LaxMode/Pos/vbox2_non_default_system_settings"
	for _, name := range []string{"/vbox2.ovf", "_0.9/vbox2_0.9.ovf"} {
		if _, err := os.Stat(filepath.Join(dir, vbox+name)); err != nil {
			testutil.Missing(t, "VirtualBox fixture "+name)
			continue
		}
		vb := load(vbox + name)
		assert.Equal(t, "vbox2", vb.Name, name)
		assert.Equal(t, 2, vb.CPUs, name)
		assert.Equal(t, int64(192), vb.MemoryMiB, name)
		assert.Equal(t, 69, vb.OS.CIMID, name)
		assert.Equal(t, IDE, vb.Controller, name)
		assert.Equal(t, int64(10<<30), vb.Disks[0].Capacity, name)
		assert.Equal(t, []NIC{{Network: "NAT", Adapter: E1000}}, vb.NICs, name)
	}
}
